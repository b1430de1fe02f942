"""Does RC averaging matter, and is mean pooling or CLS more stable? Answered from window statistics.

For every gene: cosine(forward, reverse complement) under mean and CLS pooling, and cosine(mean, CLS).
For every strategy (pooling × strand handling): how well its gene–gene cosine-similarity structure
agrees with the recipe's strategy (mean pooling, RC-averaged), as the Pearson correlation of the
upper triangles of the two similarity matrices.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from .pooling import WindowStats, vectors_from_window_stats

REFERENCE_STRATEGY = "mean_rc_averaged"
STRATEGIES = ("mean_forward", "mean_reverse", "mean_rc_averaged", "cls_forward", "cls_reverse", "cls_rc_averaged")


def _strategy_vectors(stats: WindowStats) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """The six strategy vectors float32 (H,) of one gene, and its three agreement cosines."""
    mean = vectors_from_window_stats(stats, "mean", rc_averaged=True)
    cls = vectors_from_window_stats(stats, "cls", rc_averaged=True)
    vectors = {
        "mean_forward": mean.forward,
        "mean_reverse": mean.reverse,
        "mean_rc_averaged": mean.vector,
        "cls_forward": cls.cls_forward,
        "cls_reverse": cls.cls_reverse,
        "cls_rc_averaged": cls.vector,
    }
    cosines = {"rc_cosine": mean.rc_cosine, "cls_rc_cosine": mean.cls_rc_cosine, "cls_mean_cosine": mean.cls_mean_cosine}
    return vectors, cosines


def cosine_similarity_matrix(vectors: np.ndarray) -> np.ndarray:
    """Pairwise cosine similarities, float64 (n, n), of ``vectors`` float (n, H)."""
    v = vectors.astype(np.float64)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    unit = np.divide(v, norms, out=np.zeros_like(v), where=norms > 0)
    return unit @ unit.T


def structure_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of the strict upper triangles of two (n, n) matrices; NaN for n < 3."""
    upper = np.triu_indices(a.shape[0], k=1)
    x, y = a[upper], b[upper]
    if x.size < 2 or np.std(x) == 0 or np.std(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def stability_report(genes: Iterable[tuple[str, str | None, WindowStats]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-gene agreement and per-strategy similarity-structure agreement.

    ``genes`` yields ``(gene_id, gene_name, stats)``. Returns ``per_gene`` (gene_id, gene_name,
    rc_cosine, cls_rc_cosine, cls_mean_cosine) and ``summary`` (strategy,
    similarity_structure_corr against ``REFERENCE_STRATEGY``, mean_rc_cosine of that pooling).
    """
    rows, by_strategy = [], {name: [] for name in STRATEGIES}
    for gene_id, gene_name, stats in genes:
        vectors, cosines = _strategy_vectors(stats)
        rows.append({"gene_id": gene_id, "gene_name": gene_name, **cosines})
        for name in STRATEGIES:
            by_strategy[name].append(vectors[name])
    per_gene = pd.DataFrame(rows, columns=["gene_id", "gene_name", "rc_cosine", "cls_rc_cosine", "cls_mean_cosine"])
    if per_gene.empty:
        return per_gene, pd.DataFrame(columns=["strategy", "similarity_structure_corr", "mean_rc_cosine"])
    similarity = {name: cosine_similarity_matrix(np.stack(v)) for name, v in by_strategy.items()}
    summary = pd.DataFrame(
        {
            "strategy": list(STRATEGIES),
            "similarity_structure_corr": [
                structure_correlation(similarity[name], similarity[REFERENCE_STRATEGY]) for name in STRATEGIES
            ],
            "mean_rc_cosine": [
                float(per_gene["rc_cosine" if name.startswith("mean") else "cls_rc_cosine"].mean()) for name in STRATEGIES
            ],
        }
    )
    return per_gene, summary
