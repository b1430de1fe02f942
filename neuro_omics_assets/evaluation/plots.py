"""Figures of the evaluation: permutation nulls vs observed, held-out r per fold, leaderboard bars, encoder
comparison (RC agreement, similarity matrices side by side, pairwise-similarity density)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy.cluster.hierarchy import leaves_list, linkage
from scipy.spatial.distance import squareform

from neuro_omics_assets.evaluation.gene_brain import CcaResult

_RC_FLOOR = 1e-12  # 1 - cosine below this (float64 round-off of equal vectors) is drawn at it


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


def rc_agreement_figure(cosines: dict[str, np.ndarray]) -> Figure:
    """Histogram per encoder of 1 - cosine(forward strand, reverse-complement strand) per gene, on one log axis
    (an RC-equivariant encoder sits at float round-off, ~1e-7, an RC-averaging one orders of magnitude higher)."""
    bins = np.logspace(np.log10(_RC_FLOOR), 0, 49)
    figure = Figure(figsize=(3.2 * len(cosines), 2.6))
    for (name, values), axes in zip(cosines.items(), np.atleast_1d(figure.subplots(1, len(cosines))), strict=True):
        axes.hist(np.clip(1.0 - values, _RC_FLOOR, 1.0), bins=bins, color="0.5")
        axes.set_xscale("log")
        axes.set_title(f"{name}: mean {np.mean(values):.6f}, min {np.min(values):.6f}", fontsize=8)
        axes.set_xlabel(f"1 - cosine(forward, RC) (<= {_RC_FLOOR:.0e} shown at it)", fontsize=7)
    figure.axes[0].set_ylabel("genes")
    return figure


def similarity_heatmaps(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> Figure:
    """Two gene–gene cosine-similarity matrices (m, m) side by side, genes ordered by clustering the first
    (average linkage on 1 - cosine)."""
    distance = np.clip(1.0 - a, 0.0, None)
    np.fill_diagonal(distance, 0.0)
    order = leaves_list(linkage(squareform((distance + distance.T) / 2, checks=False), "average"))
    figure = Figure(figsize=(8, 3.8))
    for axes, matrix, name in zip(figure.subplots(1, 2), (a, b), names, strict=True):
        off_diagonal = matrix[~np.eye(len(matrix), dtype=bool)]
        low, high = np.quantile(off_diagonal, [0.01, 0.99]) if off_diagonal.size else (None, None)
        image = axes.imshow(matrix[np.ix_(order, order)], cmap="viridis", interpolation="nearest", vmin=low, vmax=high)
        axes.set_title(f"{name} ({len(order)} genes, order: {names[0]} clusters)", fontsize=8)
        axes.set_xticks([])
        axes.set_yticks([])
        figure.colorbar(image, ax=axes, shrink=0.8, label="cosine (1-99 % of pairs)")
    return figure


def similarity_hexbin(a: np.ndarray, b: np.ndarray, names: tuple[str, str], rank_correlation: float) -> Figure:
    """Density of gene-pair cosine similarities under two encoders, (P,) each, with their rank correlation."""
    figure = Figure(figsize=(4, 3.5))
    axes = figure.subplots()
    hexes = axes.hexbin(a, b, gridsize=40, mincnt=1, bins="log", cmap="viridis")
    figure.colorbar(hexes, ax=axes, label="gene pairs")
    axes.set_xlabel(f"cosine, {names[0]}")
    axes.set_ylabel(f"cosine, {names[1]}")
    axes.set_title(f"{len(a):,} gene pairs; Spearman {rank_correlation:.3f} (all pairs)", fontsize=8)
    return figure
