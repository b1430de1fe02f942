"""Encoder leaderboard: every encoder's held-out scores on the same folds, side by side, with paired differences.

Inputs are the per-subject held-out outputs of every encoder (CCA variates and phenotype predictions),
keyed by encoder name; 1..n encoders. Encoders must have been evaluated on identical folds: the same
(subject, test fold) pairs, else ``ConfigError`` (a comparison across different splits is not paired).

Per encoder and metric (held-out canonical correlation of modes 1..``n_modes``; R² or AUC per phenotype)
the score is the mean over folds of the per-fold held-out value. Intervals: a paired bootstrap that
resamples each fold's test subjects (the same draws for every encoder, ``n_boot`` times, seeded) and
recomputes the per-fold values; 2.5 / 97.5 percentiles of the fold mean. Differences are taken fold by
fold against the reference encoder (the first by name unless given), with bootstrap intervals from the
same paired draws.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from neuro_omics_assets.errors import ConfigError

VARIATE_COLUMNS = ("encoder", "subject_id", "fold", "mode", "u", "v")
PREDICTION_COLUMNS = ("encoder", "phenotype", "metric", "subject_id", "fold", "y_true", "y_pred")


def leaderboard(
    variates: pd.DataFrame, predictions: pd.DataFrame, n_modes: int = 3, n_boot: int = 1000, seed: int = 42,
    reference: str | None = None,
) -> pd.DataFrame:
    """One row per (encoder, metric): mean, CI, per-fold values, and fold-paired differences vs ``reference``."""
    _require(variates, VARIATE_COLUMNS, "variates")
    _require(predictions, PREDICTION_COLUMNS, "predictions")
    encoders = sorted(set(variates["encoder"]) | set(predictions["encoder"]))
    if not encoders:
        raise ConfigError("no encoder has held-out outputs; materialize gene_brain_cca and phenotype_prediction first.")
    reference = reference if reference is not None else encoders[0]
    if reference not in encoders:
        raise ConfigError(f"reference encoder {reference!r} is not among the evaluated encoders {encoders}.")
    _require_same_folds(variates, encoders, reference, "gene_brain_cca")
    _require_same_folds(predictions, encoders, reference, "phenotype_prediction")
    rng = np.random.default_rng(seed)
    rows = []
    for metric, frame, value_fn in _metrics(variates, predictions, n_modes):
        per_encoder = _bootstrap(frame, encoders, value_fn, n_boot, rng)
        for encoder in encoders:
            rows.append(_row(metric, encoder, reference, per_encoder))
    return pd.DataFrame(rows)


def _metrics(variates: pd.DataFrame, predictions: pd.DataFrame, n_modes: int):
    """(metric name, its per-subject frame with columns encoder, fold, subject_id, a, b, value function)."""
    for mode in sorted(variates["mode"].unique())[:n_modes]:
        frame = variates[variates["mode"] == mode].rename(columns={"u": "a", "v": "b"})
        yield f"cca_r_test_mode{mode}", frame, _correlation
    for (phenotype, metric), frame in predictions.groupby(["phenotype", "metric"], sort=True):
        yield f"{metric}:{phenotype}", frame.rename(columns={"y_true": "a", "y_pred": "b"}), _FUNCTIONS[metric]


def _bootstrap(frame: pd.DataFrame, encoders: list[str], value_fn, n_boot: int, rng: np.random.Generator) -> dict:
    """encoder -> (per-fold values (F,), bootstrap per-fold values (B, F)), with the same draws for all."""
    out = {e: ([], []) for e in encoders}
    for fold in sorted(frame["fold"].unique()):
        in_fold = frame[frame["fold"] == fold]
        subjects = sorted(in_fold["subject_id"].unique())
        draws = rng.integers(0, len(subjects), size=(n_boot, len(subjects)))
        for encoder in encoders:
            rows = in_fold[in_fold["encoder"] == encoder].set_index("subject_id").loc[subjects]
            a, b = rows["a"].to_numpy(np.float64), rows["b"].to_numpy(np.float64)
            out[encoder][0].append(value_fn(a[None, :], b[None, :])[0])
            out[encoder][1].append(value_fn(a[draws], b[draws]))
    return {e: (np.array(values), np.column_stack(boot)) for e, (values, boot) in out.items()}


def _row(metric: str, encoder: str, reference: str, per_encoder: dict) -> dict:
    values, boot = per_encoder[encoder]
    ref_values, ref_boot = per_encoder[reference]
    low, high = np.nanpercentile(np.nanmean(boot, axis=1), [2.5, 97.5])
    diff_boot = np.nanmean(boot - ref_boot, axis=1)
    diff_low, diff_high = np.nanpercentile(diff_boot, [2.5, 97.5]) if encoder != reference else (0.0, 0.0)
    return {
        "metric": metric, "encoder": encoder, "mean": float(np.mean(values)), "ci_low": float(low),
        "ci_high": float(high), "fold_values": values.tolist(), "reference_encoder": reference,
        "diff_vs_reference": float(np.mean(values - ref_values)), "diff_ci_low": float(diff_low),
        "diff_ci_high": float(diff_high), "fold_differences": (values - ref_values).tolist(),
    }


def _correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Pearson r of (B, n) arrays; NaN for a constant row."""
    ac, bc = a - a.mean(axis=1, keepdims=True), b - b.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ac * bc).sum(axis=1) / np.sqrt((ac**2).sum(axis=1) * (bc**2).sum(axis=1))


def _r2(y: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Row-wise R² around each row's mean of (B, n) arrays."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1.0 - ((y - predicted) ** 2).sum(axis=1) / ((y - y.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)


def _auc(y: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Row-wise ROC AUC (Mann–Whitney, ties averaged) of 0/1 labels y and scores, (B, n); NaN for one class."""
    ranks = rankdata(score, axis=1)
    positives = y.sum(axis=1)
    negatives = y.shape[1] - positives
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((ranks * y).sum(axis=1) - positives * (positives + 1) / 2) / (positives * negatives)


_FUNCTIONS = {"r2": _r2, "auc": _auc}


def _require(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise ConfigError(f"{name} lacks columns {absent}; pass the held-out tables the evaluation writes.")


def _require_same_folds(frame: pd.DataFrame, encoders: list[str], reference: str, asset: str) -> None:
    """ConfigError unless every encoder present in ``frame`` holds the reference's (subject, fold) pairs."""
    pairs = {e: set(zip(g["subject_id"], g["fold"], strict=True)) for e, g in frame.groupby("encoder")}
    if not pairs:
        return
    missing = [e for e in encoders if e not in pairs]
    if missing:
        raise ConfigError(f"{asset} has no rows for encoders {missing} (present: {sorted(pairs)}); "
                          f"materialize it for every encoder before comparing them.")
    for encoder, held_out in pairs.items():
        if held_out != pairs[reference]:
            differ = sorted(held_out ^ pairs[reference])[:5]
            raise ConfigError(
                f"{asset}: encoders {reference!r} and {encoder!r} were evaluated on different subjects or folds "
                f"({len(held_out ^ pairs[reference])} (subject, fold) pairs differ, e.g. {differ}); re-run both "
                f"on the same subject_folds so that the comparison is paired."
            )
