"""Figures of the token analyses (matplotlib ``Figure`` objects, no pyplot state; logos by logomaker)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from neuro_omics_assets.tokens.jaspar import JasparMotif
from neuro_omics_assets.tokens.regions import REGION_CLASSES

_DPI = 90


def length_histogram(usage: pd.DataFrame) -> Figure:
    """Share of tokens of each length (bases) per region class, from ``usage.usage_table``."""
    figure = Figure(figsize=(7, 3.2))
    axes = figure.subplots()
    for name in [c for c in REGION_CLASSES if c in set(usage["region_class"])]:
        group = usage[usage["region_class"] == name]
        by_length = group.groupby("length")["count"].sum()
        axes.plot(by_length.index, by_length / by_length.sum(), marker="o", markersize=3, label=name)
    axes.set_xlabel("token length (bases)")
    axes.set_ylabel("share of tokens")
    axes.set_title("DNABERT-2 token lengths per region class")
    axes.legend(fontsize=7)
    return figure


def phase_bars(frame: pd.DataFrame) -> Figure:
    """Pooled share of token boundaries at codon phases 0/1/2 with the token-shuffle 95 % band; genes as dots."""
    figure = Figure(figsize=(5, 3.2))
    axes = figure.subplots()
    pooled = frame[frame["scope"] == "pooled"].iloc[0]
    genes = frame[(frame["scope"] == "gene") & (frame["n_boundaries"] > 0)]
    shares = [pooled[f"share{p}"] for p in range(3)]
    axes.bar(range(3), shares, color="tab:blue", alpha=0.7, label="pooled")
    for phase in range(3):
        low, high = pooled[f"null_low{phase}"], pooled[f"null_high{phase}"]
        axes.fill_between([phase - 0.4, phase + 0.4], low, high, color="grey", alpha=0.5,
                          label="token-shuffle 95 %" if phase == 0 else None)
        jitter = np.linspace(-0.25, 0.25, len(genes)) if len(genes) > 1 else np.zeros(len(genes))
        axes.scatter(phase + jitter, genes[f"share{phase}"], s=8, color="black", label="genes" if phase == 0 else None)
    axes.axhline(1 / 3, color="red", linestyle="--", linewidth=1, label="uniform")
    axes.set_xticks(range(3), ["0 (between codons)", "1", "2"])
    axes.set_ylabel("share of token boundaries")
    axes.set_title(f"Codon phase of token boundaries (chi2 p={pooled['chi2_p']:.2g}, shuffle p={pooled['shuffle_p']:.2g})",
                   fontsize=8)
    axes.legend(fontsize=7)
    return figure


def _information(counts: np.ndarray) -> pd.DataFrame:
    """``float (W, 4)`` counts -> information-content logo matrix (bits) with columns A, C, G, T."""
    import logomaker

    frame = pd.DataFrame(counts + 0.25, columns=list("ACGT"))
    return logomaker.transform_matrix(frame, from_type="counts", to_type="information")


def motif_logos(enriched: pd.DataFrame, motifs: list[JasparMotif], n: int = 6) -> Figure:
    """Top ``n`` matched enriched tokens: the token (left) and its best JASPAR matrix (right) as logos."""
    import logomaker

    rows = enriched[enriched["jaspar_id"].notna()].sort_values("q_value").drop_duplicates("token").head(n)
    by_id = {m.matrix_id: m for m in motifs}
    figure = Figure(figsize=(8, 1.3 * max(len(rows), 1)))
    if rows.empty:
        figure.text(0.5, 0.5, "no enriched token passed the FDR threshold", ha="center")
        return figure
    grid = figure.subplots(len(rows), 2, squeeze=False)
    for (left, right), row in zip(grid, rows.itertuples(index=False), strict=True):
        onehot = np.eye(4)[["ACGT".index(b) for b in row.token]] * 2.0  # a certain base carries 2 bits
        logomaker.Logo(pd.DataFrame(onehot, columns=list("ACGT")), ax=left)
        left.set_title(f"{row.token} ({row.region_class}, q={row.q_value:.1g}, log2 OR {row.log2_odds_ratio:.1f})", fontsize=7)
        motif = by_id[row.jaspar_id]
        counts = motif.counts[::-1, ::-1] if row.jaspar_strand == "-" else motif.counts
        logomaker.Logo(_information(counts), ax=right)
        right.set_title(f"{row.jaspar_id} {row.jaspar_tf} (score {row.jaspar_score:.1f}, p={row.jaspar_p:.2g})", fontsize=7)
        for axes in (left, right):
            axes.set_yticks([])
            axes.set_xticks([])
    figure.tight_layout()
    return figure


def embedding_map(coordinates: np.ndarray, vocabulary: pd.DataFrame, title: str) -> Figure:
    """2-D map (``float (V, 2)``) of the input token embeddings, coloured by GC fraction and by length."""
    figure = Figure(figsize=(9, 3.8), layout="constrained")
    keep = ~vocabulary["special"].to_numpy()
    for axes, column, cmap in zip(figure.subplots(1, 2), ("gc_fraction", "length"), ("viridis", "plasma"), strict=True):
        points = axes.scatter(coordinates[keep, 0], coordinates[keep, 1], c=vocabulary.loc[keep, column].to_numpy(float),
                              s=3, cmap=cmap)
        figure.colorbar(points, ax=axes, label=column)
        axes.set_xlabel("PC1")
        axes.set_ylabel("PC2")
    figure.suptitle(title, fontsize=9)
    return figure


def save(figure: Figure, path: Path) -> Path:
    """Write ``figure`` as PNG at ``path``; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(figure))
    return path


def png_bytes(figure: Figure) -> bytes:
    """``figure`` as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight")
    return buffer.getvalue()
