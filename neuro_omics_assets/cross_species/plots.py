"""Figures of the cross-species pilot (matplotlib ``Figure`` objects, as in ``evaluation/plots.py``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def similarity_heatmap(similarity: np.ndarray, names_a: Sequence[str], names_b: Sequence[str], genomes: tuple[str, str],
                       title: str = "") -> Figure:
    """Cosine of every paired a gene (rows) with every paired b gene (columns), both in pair order, so the
    orthologs lie on the diagonal. ``similarity`` float (P, P)."""
    n = len(names_a)
    size = min(12.0, 2.5 + 0.18 * n)
    figure = Figure(figsize=(size + 1.0, size))
    axes = figure.subplots()
    image = axes.imshow(similarity, cmap="viridis", aspect="equal")
    axes.set_xticks(np.arange(n), list(names_b), rotation=90, fontsize=6)
    axes.set_yticks(np.arange(n), list(names_a), fontsize=6)
    axes.set_xlabel(f"{genomes[1]} gene")
    axes.set_ylabel(f"{genomes[0]} gene")
    axes.set_title(title or "cross-species cosine (orthologs on the diagonal)", fontsize=9)
    figure.colorbar(image, ax=axes, shrink=0.8, label="cosine")
    return figure


def rank_histogram(ranks: pd.DataFrame) -> Figure:
    """Histogram of the ortholog's retrieval rank, one panel per direction, one bar series per kind of vectors
    (``pilot.RANK_COLUMNS`` rows); the dashed line is the count each rank gets by chance."""
    directions = list(dict.fromkeys(ranks["direction"]))
    kinds = list(dict.fromkeys(ranks["vectors"]))
    figure = Figure(figsize=(4.5 * len(directions), 3))
    for axes, direction in zip(np.atleast_1d(figure.subplots(1, len(directions))), directions, strict=True):
        rows = ranks[ranks["direction"] == direction]
        n_candidates = int(rows["n_candidates"].max())
        bins = np.arange(1, n_candidates + 2) - 0.5
        axes.hist([rows.loc[rows["vectors"] == kind, "rank"] for kind in kinds], bins=bins, label=kinds)
        n_queries = len(rows) / len(kinds)
        axes.axhline(n_queries / n_candidates, color="0.4", linestyle="--", linewidth=0.8, label="chance")
        axes.set_xlabel(f"rank of the ortholog among {n_candidates} genes")
        axes.set_title(direction, fontsize=9)
    figure.axes[0].set_ylabel("ortholog pairs")
    figure.axes[0].legend(fontsize=7)
    return figure
