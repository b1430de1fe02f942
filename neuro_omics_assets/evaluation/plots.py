"""Figures of the evaluation: permutation nulls vs observed, held-out r per fold, leaderboard bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from neuro_omics_assets.evaluation.gene_brain import CcaResult


def null_figure(result: CcaResult, fold: int = 0, n_modes: int = 4) -> Figure:
    """Histogram of each mode's step-down permutation statistic with the observed value (one fold)."""
    test = result.folds[fold].test
    k = min(n_modes, test.observed.shape[0])
    figure = Figure(figsize=(3 * k, 2.6))
    for mode, axes in enumerate(np.atleast_1d(figure.subplots(1, k))):
        axes.hist(test.null[:, mode], bins=40, color="0.6")
        axes.axvline(test.observed[mode], color="crimson", label="observed")
        axes.set_title(f"mode {mode + 1}: p_FWER {test.p_fwer[mode]:.3g}", fontsize=9)
        axes.set_xlabel(f"{test.statistic} statistic (fold {result.folds[fold].data.fold})", fontsize=8)
    figure.axes[0].set_ylabel("permutations")
    figure.axes[0].legend(fontsize=7)
    return figure


def heldout_figure(folds: pd.DataFrame, n_modes: int = 6) -> Figure:
    """Held-out canonical correlation per mode, one point per fold (``gene_brain.fold_table`` rows)."""
    shown = folds[folds["mode"] <= n_modes]
    figure = Figure(figsize=(5, 3))
    axes = figure.subplots()
    for fold, rows in shown.groupby("fold"):
        axes.plot(rows["mode"], rows["r_test"], "o", alpha=0.7, label=f"fold {fold}")
    means = shown.groupby("mode")["r_test"].mean()
    axes.plot(means.index, means.to_numpy(), "k_", markersize=18, label="mean")
    axes.axhline(0.0, color="0.5", linewidth=0.8)
    axes.set_xlabel("canonical mode")
    axes.set_ylabel("held-out r")
    axes.legend(fontsize=7, ncol=2)
    return figure


def leaderboard_figure(board: pd.DataFrame) -> Figure:
    """Grouped bars: mean per metric and encoder with its bootstrap interval."""
    metrics, encoders = list(dict.fromkeys(board["metric"])), sorted(board["encoder"].unique())
    width = 0.8 / len(encoders)
    figure = Figure(figsize=(max(4, 1.2 * len(metrics)), 3))
    axes = figure.subplots()
    for i, encoder in enumerate(encoders):
        rows = board[board["encoder"] == encoder].set_index("metric").loc[metrics]
        x = np.arange(len(metrics)) + (i - (len(encoders) - 1) / 2) * width
        errors = np.vstack([rows["mean"] - rows["ci_low"], rows["ci_high"] - rows["mean"]]).clip(min=0)
        axes.bar(x, rows["mean"], width, yerr=errors, capsize=3, label=encoder)
    axes.set_xticks(np.arange(len(metrics)), metrics, rotation=30, ha="right", fontsize=8)
    axes.axhline(0.0, color="0.5", linewidth=0.8)
    axes.set_ylabel("held-out score (95% bootstrap CI)")
    axes.legend(fontsize=7)
    return figure
