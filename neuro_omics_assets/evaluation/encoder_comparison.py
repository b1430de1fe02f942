"""Encoder comparison on one gene set: RC agreement per encoder, and per encoder pair how alike their gene–gene
similarity structures are (linear CKA, rank correlation of the similarity matrices, kNN overlap) with a
gene-permutation null. The statistics and their nulls are in ``similarity``; the figures in ``plots``.

Inputs: one ``EncoderVectors`` per encoder, every one over the same genes in the same order and, when given,
the same reference genome (``require_same_genes``); a comparison over anything else is refused.

* **RC agreement** per gene: cosine(forward-strand vector, reverse-complement-strand vector), float64.
  1 within float error for an RC-equivariant encoder (Caduceus-PS), below 1 for DNABERT-2 or Caduceus-PH.
* **Pairs**: every unordered pair in input order (a, b); the null relabels b's genes. Every pair uses the
  same permutations, drawn from ``seed`` alone, so a pair's result does not depend on which other encoders
  are compared. p-values are one-sided (agreement above chance); q-values are Benjamini–Hochberg over
  every pair and statistic of the comparison.
* **Gene cap.** The pair statistics hold about six float64 G × G arrays (two encoders: ~0.8 GB at 4,000
  genes) and a permutation costs O(G²). Above ``max_genes`` the comparison is refused unless
  ``subsample_genes`` is set: then that many genes, drawn with ``seed``, serve every pair statistic (RC
  agreement always uses every gene), and the pair table records ``n_genes`` and ``n_genes_total``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy.stats import false_discovery_control

from neuro_omics_assets.errors import ConfigError
from neuro_omics_assets.evaluation import plots
from neuro_omics_assets.evaluation.similarity import PairAgreement, pair_agreement, structure

log = logging.getLogger(__name__)

RC_QUANTILES = {"q01": 0.01, "q05": 0.05, "median": 0.5}
_HEATMAP_GENES = 300  # genes drawn in the similarity heatmaps: beyond this a pixel is less than a gene
_SCATTER_PAIRS = 200_000  # gene pairs drawn in the hexbin (seeded sample when there are more)


@dataclass(frozen=True, eq=False)
class EncoderVectors:
    """One encoder's gene vectors. gene_ids: (G,) in the gene selection's order; vectors: float (G, H) the
    vectors compared (as the pipeline pools them); forward, reverse: float (G, H) forward-strand-only and
    reverse-complement-strand-only vectors; reference: the reference genome's identity (e.g. the FASTA
    SHA-256) or None when unknown."""

    name: str
    gene_ids: Sequence[str]
    vectors: np.ndarray
    forward: np.ndarray
    reverse: np.ndarray
    reference: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "gene_ids", tuple(str(g) for g in self.gene_ids))
        ids = pd.Index(self.gene_ids)
        if ids.has_duplicates:
            repeated = ids[ids.duplicated()].unique().tolist()
            raise ConfigError(f"encoder {self.name!r}: gene_ids repeat {len(repeated)} genes (e.g. {repeated[:5]}); "
                              f"pass one vector per gene.")
        for label in ("vectors", "forward", "reverse"):
            self._check(label, np.asarray(getattr(self, label)))

    def _check(self, label: str, array: np.ndarray) -> None:
        g = len(self.gene_ids)
        if array.ndim != 2 or array.shape[0] != g:
            raise ConfigError(f"encoder {self.name!r}: {label} has shape {array.shape}; expected ({g}, hidden) "
                              f"for its {g} gene_ids.")
        if label != "vectors" and array.shape != np.shape(self.vectors):
            raise ConfigError(f"encoder {self.name!r}: {label} has shape {array.shape} but vectors "
                              f"{np.shape(self.vectors)}; pass the strand vectors of the same genes and model.")
        bad = ~np.isfinite(array).all(axis=1) | ~np.any(array, axis=1)
        if bad.any():
            genes = [self.gene_ids[i] for i in np.flatnonzero(bad)[:5]]
            raise ConfigError(f"encoder {self.name!r}: {int(bad.sum())} genes have {label} that are all zero or "
                              f"not finite (e.g. {genes}); their cosines are undefined. Recompute those genes' "
                              f"vectors (empty or all-N sequences?).")


def require_same_genes(encoders: Sequence[EncoderVectors]) -> None:
    """ConfigError unless every encoder holds the first one's genes in its order, and one reference genome."""
    first = encoders[0]
    for other in encoders[1:]:
        if other.gene_ids == first.gene_ids:
            continue
        a, b = set(first.gene_ids), set(other.gene_ids)
        if a != b:
            only_a, only_b = sorted(a - b), sorted(b - a)
            raise ConfigError(
                f"encoders {first.name!r} and {other.name!r} cover different genes: {len(only_a)} only in "
                f"{first.name!r} (e.g. {only_a[:5]}), {len(only_b)} only in {other.name!r} (e.g. {only_b[:5]}), "
                f"{len(a & b)} shared; materialize both encoders over the same gene selection before comparing.")
        position = next(i for i, (x, y) in enumerate(zip(first.gene_ids, other.gene_ids, strict=True)) if x != y)
        raise ConfigError(
            f"encoders {first.name!r} and {other.name!r} hold the same {len(a)} genes in a different order (first "
            f"difference at position {position}: {first.gene_ids[position]!r} vs {other.gene_ids[position]!r}); "
            f"materialize both encoders over the same gene selection, in its order.")
    references = {e.name: e.reference for e in encoders}
    known = {name: ref for name, ref in references.items() if ref is not None}
    if known and len(known) < len(references):
        raise ConfigError(f"the reference genome is given for encoders {sorted(known)} but not for "
                          f"{sorted(set(references) - set(known))}; pass reference for every encoder or for none.")
    if len(set(known.values())) > 1:
        raise ConfigError(f"encoders were run on different reference genomes ({known}); materialize every "
                          f"encoder against the same reference FASTA.")


@dataclass(frozen=True, eq=False)
class RcAgreement:
    """cosine: float64 (G,) per gene cosine(forward-strand vector, reverse-complement-strand vector)."""

    cosine: np.ndarray

    def summary(self) -> dict[str, float]:
        """n_genes, mean, min, the ``RC_QUANTILES``, max, and max_deviation = max |1 - cosine|."""
        c = self.cosine
        quantiles = {name: float(np.quantile(c, q)) for name, q in RC_QUANTILES.items()}
        return {"n_genes": len(c), "mean": float(c.mean()), "min": float(c.min()), **quantiles,
                "max": float(c.max()), "max_deviation": float(np.abs(1.0 - c).max())}


def rc_agreement(forward: np.ndarray, reverse: np.ndarray) -> RcAgreement:
    """Per-gene cosine of ``forward`` and ``reverse`` float (G, H), in float64; NaN for an all-zero row."""
    f, r = np.asarray(forward, dtype=np.float64), np.asarray(reverse, dtype=np.float64)
    if f.shape != r.shape or f.ndim != 2:
        raise ConfigError(f"forward {f.shape} and reverse {r.shape} must both be (genes, hidden) of one shape.")
    norms = np.linalg.norm(f, axis=1) * np.linalg.norm(r, axis=1)
    dots = np.einsum("gh,gh->g", f, r)
    return RcAgreement(np.divide(dots, norms, out=np.full(len(f), np.nan), where=norms > 0))


@dataclass(frozen=True)
class ComparisonSettings:
    """How the comparison runs; every setting is recorded in the pair table."""

    n_permutations: int = 1000  # p resolution 1/1001, as the CCA permutation tests
    seed: int = 42
    k_neighbours: int = 10  # a gene's close neighbourhood in panels of tens to thousands of genes
    max_genes: int = 4000  # pair statistics need ~6 float64 G × G arrays: ~0.8 GB at 4,000 genes
    subsample_genes: int | None = None  # above max_genes: compare this many seeded genes (refused if None)

    def __post_init__(self) -> None:
        if self.n_permutations < 1:
            raise ConfigError(f"n_permutations is {self.n_permutations}; use at least 1 (default 1,000).")
        if self.k_neighbours < 1:
            raise ConfigError(f"k_neighbours is {self.k_neighbours}; use at least 1 (default 10).")
        if self.max_genes < 3:
            raise ConfigError(f"max_genes is {self.max_genes}; a similarity structure needs at least 3 genes.")
        if self.subsample_genes is not None and not 3 <= self.subsample_genes <= self.max_genes:
            raise ConfigError(f"subsample_genes is {self.subsample_genes}; use 3..max_genes ({self.max_genes}).")


@dataclass(frozen=True, eq=False)
class EncoderComparison:
    """Tidy tables and figures of one comparison.

    rc_per_gene: encoder, gene_id, rc_cosine. rc_summary: one row per encoder (``RcAgreement.summary``).
    pairs: one row per encoder pair (``PAIR_COLUMNS``). knn_per_gene: encoder_a, encoder_b, gene_id,
    knn_overlap. figures: matplotlib figures by name (``rc_agreement``, ``similarity_<a>_vs_<b>``,
    ``pairwise_similarity_<a>_vs_<b>``). genes: the compared gene ids (all, or the seeded subsample).
    """

    rc_per_gene: pd.DataFrame
    rc_summary: pd.DataFrame
    pairs: pd.DataFrame
    knn_per_gene: pd.DataFrame
    genes: tuple[str, ...]
    settings: ComparisonSettings
    figures: dict[str, Figure] = field(repr=False)


def compare_encoders(encoders: Sequence[EncoderVectors], settings: ComparisonSettings | None = None) -> EncoderComparison:
    """RC agreement of every encoder and the similarity-structure agreement of every pair (module docstring)."""
    settings = settings if settings is not None else ComparisonSettings()
    if not encoders:
        raise ConfigError("no encoder to compare; materialize the gene vectors of at least one encoder.")
    names = [e.name for e in encoders]
    if len(set(names)) < len(names):
        raise ConfigError(f"encoder names repeat ({names}); give every encoder its own name.")
    require_same_genes(encoders)
    rc = {e.name: rc_agreement(e.forward, e.reverse) for e in encoders}
    genes = compared_genes(len(encoders[0].gene_ids), settings)
    shown = _shown(len(genes), settings.seed)
    structures, views = {}, {}
    for e in encoders:
        vectors = np.asarray(e.vectors)[genes]
        structures[e.name], similarity = structure(vectors, settings.k_neighbours, f"encoder {e.name!r}")
        views[e.name] = (similarity[np.ix_(shown[0], shown[0])], similarity[shown[1], shown[2]])
        del similarity
    permutations = _permutations(len(genes), settings)
    pair_results = {(a, b): pair_agreement(structures[a], structures[b], permutations)
                    for a, b in combinations(names, 2)}
    gene_ids = tuple(encoders[0].gene_ids[i] for i in genes)
    pairs = pair_table(pair_results, len(encoders[0].gene_ids), settings)
    figures = {"rc_agreement": plots.rc_agreement_figure({n: r.cosine for n, r in rc.items()})}
    for (a, b), result in pair_results.items():
        figures[f"similarity_{a}_vs_{b}"] = plots.similarity_heatmaps(views[a][0], views[b][0], (a, b))
        figures[f"pairwise_similarity_{a}_vs_{b}"] = plots.similarity_hexbin(
            views[a][1], views[b][1], (a, b), result.rank_correlation)
    return EncoderComparison(
        rc_per_gene=pd.concat([pd.DataFrame({"encoder": n, "gene_id": list(encoders[0].gene_ids),
                                             "rc_cosine": r.cosine}) for n, r in rc.items()], ignore_index=True),
        rc_summary=pd.DataFrame([{"encoder": n, **r.summary()} for n, r in rc.items()]),
        pairs=pairs, knn_per_gene=_knn_table(pair_results, gene_ids), genes=gene_ids, settings=settings,
        figures=figures)


def compared_genes(n_genes: int, settings: ComparisonSettings) -> np.ndarray:
    """int64 (n,) sorted positions of the genes the pair statistics use: all, or a seeded subsample above the cap."""
    if n_genes <= settings.max_genes:
        return np.arange(n_genes)
    if settings.subsample_genes is None:
        gigabytes = 6 * 8 * n_genes**2 / 1e9
        raise ConfigError(
            f"{n_genes:,} genes exceed max_genes={settings.max_genes:,} (the pair statistics need ~{gigabytes:.1f} GB "
            f"at this size and O(G²) time per permutation); raise max_genes if the memory is there, or set "
            f"subsample_genes (<= max_genes) to compare a seeded random subset.")
    rng = np.random.default_rng([settings.seed, 0])
    chosen = np.sort(rng.choice(n_genes, settings.subsample_genes, replace=False))
    log.info("comparing %d of %d genes (seeded subsample, seed %d)", len(chosen), n_genes, settings.seed)
    return chosen


def _permutations(n_genes: int, settings: ComparisonSettings) -> np.ndarray:
    """int64 (J, G) gene permutations, from the seed alone (every pair gets the same ones)."""
    rng = np.random.default_rng([settings.seed, 1])
    return np.argsort(rng.random((settings.n_permutations, n_genes)), axis=1)


def _shown(n_genes: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(heatmap genes (m,), hexbin pair rows and columns (P,) with row < column), seeded samples of the compared genes."""
    rng = np.random.default_rng([seed, 2])
    heatmap = np.sort(rng.choice(n_genes, min(n_genes, _HEATMAP_GENES), replace=False))
    if n_genes * (n_genes - 1) // 2 <= _SCATTER_PAIRS:
        rows, cols = np.triu_indices(n_genes, k=1)
        return heatmap, rows, cols
    draws = rng.integers(0, n_genes, size=(2, _SCATTER_PAIRS))  # with replacement: a display, not a statistic
    draws = draws[:, draws[0] != draws[1]]
    return heatmap, draws.min(axis=0), draws.max(axis=0)


PAIR_COLUMNS = (
    "encoder_a", "encoder_b", "n_genes", "n_genes_total", "cka", "cka_null_mean", "cka_p_value", "cka_q_value",
    "rank_correlation", "rank_correlation_null_mean", "rank_correlation_p_value", "rank_correlation_q_value",
    "k_neighbours", "knn_overlap", "knn_chance", "knn_null_mean", "knn_overlap_p_value", "knn_overlap_q_value",
    "n_permutations", "seed",
)
_STATISTICS = ("cka", "rank_correlation", "knn_overlap")


def pair_table(results: dict[tuple[str, str], PairAgreement], n_genes_total: int,
               settings: ComparisonSettings) -> pd.DataFrame:
    """One row per pair (``PAIR_COLUMNS``): statistics, null means, p- and BH q-values, gene counts, settings."""
    if not results:
        return pd.DataFrame(columns=list(PAIR_COLUMNS))
    p = np.array([[r.p_values[name] for name in _STATISTICS] for r in results.values()])  # (pairs, 3)
    q = false_discovery_control(p.ravel(), method="bh").reshape(p.shape)
    rows = []
    for i, ((a, b), r) in enumerate(results.items()):
        rows.append({
            "encoder_a": a, "encoder_b": b, "n_genes": len(r.knn_per_gene), "n_genes_total": n_genes_total,
            "cka": r.cka, "cka_null_mean": float(r.cka_null.mean()),
            "rank_correlation": r.rank_correlation, "rank_correlation_null_mean": float(r.rank_null.mean()),
            "k_neighbours": settings.k_neighbours, "knn_overlap": r.knn_overlap, "knn_chance": r.knn_chance,
            "knn_null_mean": float(r.knn_null.mean()), "n_permutations": settings.n_permutations,
            "seed": settings.seed,
            **{f"{name}_p_value": p[i, j] for j, name in enumerate(_STATISTICS)},
            **{f"{name}_q_value": q[i, j] for j, name in enumerate(_STATISTICS)},
        })
    return pd.DataFrame(rows, columns=list(PAIR_COLUMNS))


def _knn_table(results: dict[tuple[str, str], PairAgreement], gene_ids: tuple[str, ...]) -> pd.DataFrame:
    frames = [pd.DataFrame({"encoder_a": a, "encoder_b": b, "gene_id": list(gene_ids), "knn_overlap": r.knn_per_gene})
              for (a, b), r in results.items()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["encoder_a", "encoder_b", "gene_id", "knn_overlap"])
