"""How alike two representations of the same genes are: linear CKA, a rank correlation of their gene–gene
similarity matrices, k-nearest-neighbour overlap, each with a gene-permutation null.

Shapes: X float (G, H_x), Y float (G, H_y), rows the same genes in the same order; H_x and H_y may differ.

* **Linear CKA** (Kornblith et al. 2019, "Similarity of neural network representations revisited",
  ICML; the feature-space form): with column-centred X, Y, CKA = ||YᵀX||²_F / (||XᵀX||_F ||YᵀY||_F), float64. Equal to the HSIC form
  tr(K H L H) / sqrt(tr(K H K H) tr(L H L H)), K = XXᵀ, L = YYᵀ, H = I - 11ᵀ/G.
* **Rank correlation** (Mantel-style): Spearman correlation of the strict upper triangles of the two
  cosine-similarity matrices (``embedding.stability.cosine_similarity_matrix``), ties averaged.
* **kNN overlap**: per gene, the share of its k nearest neighbours by cosine (itself excluded; equal
  similarities ordered by gene position) that both representations name.

**Null.** A permutation p relabels Y's genes: Y[p] for CKA, S_Y[p][:, p] (rows and columns together) for
the rank correlation and the neighbours. Computed without refitting anything:

* CKA: only the numerator changes, ||F_Y[p]ᵀ F_X||²_F with F Fᵀ ∝ X_c X_cᵀ (F = X_c when G >= H, else
  U·S of its SVD, G × rank), so one GEMM of O(G · min(G, H_x) · min(G, H_y)) per permutation.
* Rank correlation: permuting a symmetric matrix's rows and columns together permutes its upper
  triangle onto itself, so the triangle's ranks are permuted, not recomputed: with Z the triangle's
  centred unit-norm ranks placed symmetrically (zero diagonal), r(p) = ½ Σ Z_X ∘ Z_Y[p][:, p] (O(G²)).
* kNN: the neighbours of gene i under p are p⁻¹(N_Y(p_i)) (O(G k²)).

p-values are one-sided (agreement above chance) by ``permutation.permutation_p_value``. Under the null
the expected kNN overlap is exactly k / (G - 1) (p⁻¹(N_Y(p_i)) is a uniform k-subset of the other genes).

Memory: ``structure`` holds one float64 G × G matrix (Z) per representation and needs about three more
while it ranks (the similarity matrix, the triangle and its ranks); a permutation gathers row blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from neuro_omics_assets.embedding.stability import cosine_similarity_matrix
from neuro_omics_assets.errors import ConfigError
from neuro_omics_assets.evaluation.permutation import permutation_p_value

_NEIGHBOUR_ROWS = 512  # rows of the similarity matrix sorted at once: bounds the argsort's int64 buffer
_GATHER_ROWS = 512  # rows of a permuted rank matrix gathered at once: a cache-sized block, not a G × G copy


def centred(x: np.ndarray, label: str) -> np.ndarray:
    """float64 (G, H) copy of ``x`` with every column's mean over genes removed; ConfigError if it is constant."""
    xc = np.asarray(x, dtype=np.float64)
    xc = xc - xc.mean(axis=0)
    if not np.any(xc):
        raise ConfigError(f"{label}: every gene has the same vector, so it has no similarity structure; "
                          f"check that the gene vectors were computed per gene.")
    return xc


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA of ``x`` float (G, H_x) and ``y`` float (G, H_y), same genes in rows; in [0, 1]."""
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ConfigError(f"linear CKA needs two (genes, features) matrices over the same genes; got shapes "
                          f"{x.shape} and {y.shape}.")
    xc, yc = centred(x, "CKA x"), centred(y, "CKA y")
    # each side scaled to unit Frobenius norm first (CKA is scale-invariant): no overflow whatever the units
    xc /= np.linalg.norm(xc)
    yc /= np.linalg.norm(yc)
    cross = np.linalg.norm(yc.T @ xc)  # (H_y, H_x)
    return float(cross**2 / (np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc)))


@dataclass(frozen=True, eq=False)
class Structure:
    """What the pair statistics and their nulls need from one representation of G genes.

    factor: float64 (G, r), F Fᵀ = X_c X_cᵀ, scaled so that ||Fᵀ F||_F = 1; ranks: float64 (G, G) centred
    unit-norm ranks of the similarity matrix's upper triangle, mirrored, zero diagonal; neighbours:
    int64 (G, k) each gene's k nearest other genes by cosine, nearest first.
    """

    factor: np.ndarray
    ranks: np.ndarray
    neighbours: np.ndarray

    @property
    def n_genes(self) -> int:
        return int(self.ranks.shape[0])


def structure(x: np.ndarray, k: int, label: str) -> tuple[Structure, np.ndarray]:
    """(the ``Structure`` of ``x`` float (G, H), its cosine-similarity matrix float64 (G, G)); ``label`` names x."""
    g = x.shape[0]
    if g < 3:
        raise ConfigError(f"{label}: {g} genes; a similarity structure needs at least 3 genes.")
    if not 1 <= k <= g - 2:
        raise ConfigError(f"{label}: k_neighbours={k} with {g} genes; use 1 <= k <= {g - 2} (with k = G - 1 "
                          f"every gene's neighbours are all other genes).")
    similarity = cosine_similarity_matrix(x)
    return Structure(_factor(x, label), _triangle_ranks(similarity, label), nearest_neighbours(similarity, k)), similarity


def _factor(x: np.ndarray, label: str) -> np.ndarray:
    """float64 (G, r) F with F Fᵀ = X_c X_cᵀ / ||X_cᵀ X_c||_F^½: X_c itself, or U·S of its SVD when G < H."""
    xc = centred(x, label)
    if xc.shape[0] < xc.shape[1]:
        u, s, _ = np.linalg.svd(xc, full_matrices=False)
        keep = s > s[0] * max(xc.shape) * np.finfo(np.float64).eps  # centring leaves rank <= G - 1
        xc = u[:, keep] * s[keep]
    return xc / np.sqrt(np.linalg.norm(xc.T @ xc))


def _triangle_ranks(similarity: np.ndarray, label: str) -> np.ndarray:
    """float64 (G, G): centred, unit-norm average ranks of the strict upper triangle, mirrored, zero diagonal."""
    upper = np.triu(np.ones(similarity.shape, dtype=bool), k=1)
    ranks = rankdata(similarity[upper])
    ranks -= ranks.mean()
    norm = np.linalg.norm(ranks)
    if norm == 0:
        raise ConfigError(f"{label}: all pairwise gene similarities are equal, so their rank correlation is "
                          f"undefined; check the gene vectors.")
    out = np.zeros(similarity.shape)
    out[upper] = ranks / norm
    out += out.T
    return out


def nearest_neighbours(similarity: np.ndarray, k: int) -> np.ndarray:
    """int64 (G, k): per row of ``similarity`` (G, G), the k most similar other columns, equal ones by position."""
    g = similarity.shape[0]
    out = np.empty((g, k), dtype=np.int64)
    for start in range(0, g, _NEIGHBOUR_ROWS):
        rows = -similarity[start:start + _NEIGHBOUR_ROWS]  # negated copy: ascending sort = most similar first
        rows[np.arange(rows.shape[0]), np.arange(start, start + rows.shape[0])] = np.inf  # never itself
        out[start:start + rows.shape[0]] = np.argsort(rows, axis=1, kind="stable")[:, :k]
    return out


def neighbour_overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """float64 (G,): per gene, the share of its neighbours ``a`` int (G, k) also in ``b`` int (G, k)."""
    return (a[:, :, None] == b[:, None, :]).any(axis=2).sum(axis=1) / a.shape[1]


@dataclass(frozen=True, eq=False)
class PairAgreement:
    """Observed statistics of one pair (the second relabelled in the null), their nulls float64 (J,) and p-values.

    knn_per_gene: float64 (G,) each gene's neighbour overlap; knn_chance = k / (G - 1).
    """

    cka: float
    rank_correlation: float
    knn_overlap: float
    knn_per_gene: np.ndarray
    knn_chance: float
    cka_null: np.ndarray
    rank_null: np.ndarray
    knn_null: np.ndarray

    @property
    def p_values(self) -> dict[str, float]:
        """One-sided permutation p per statistic."""
        return {name: float(permutation_p_value(null, observed)) for name, observed, null in (
            ("cka", self.cka, self.cka_null), ("rank_correlation", self.rank_correlation, self.rank_null),
            ("knn_overlap", self.knn_overlap, self.knn_null))}


def pair_agreement(a: Structure, b: Structure, permutations: np.ndarray) -> PairAgreement:
    """Statistics of ``a`` vs ``b`` and their nulls under ``permutations`` int (J, G) relabelling ``b``'s genes."""
    if a.n_genes != b.n_genes or a.neighbours.shape != b.neighbours.shape:
        raise ConfigError(f"structures over {a.n_genes} and {b.n_genes} genes (k {a.neighbours.shape[1]} vs "
                          f"{b.neighbours.shape[1]}); build both over the same genes with the same k.")
    null = null_statistics(a, b, permutations)
    per_gene = neighbour_overlap(a.neighbours, b.neighbours)
    return PairAgreement(
        cka=_cka(a.factor, b.factor), rank_correlation=float(0.5 * np.vdot(a.ranks, b.ranks)),
        knn_overlap=float(per_gene.mean()), knn_per_gene=per_gene,
        knn_chance=a.neighbours.shape[1] / (a.n_genes - 1), cka_null=null[:, 0], rank_null=null[:, 1],
        knn_null=null[:, 2])


def _cka(fa: np.ndarray, fb: np.ndarray) -> float:
    """CKA from unit-scaled factors: ||F_bᵀ F_a||²_F."""
    return float(np.linalg.norm(fb.T @ fa) ** 2)


def null_statistics(a: Structure, b: Structure, permutations: np.ndarray) -> np.ndarray:
    """float64 (J, 3): CKA, rank correlation and mean kNN overlap of ``a`` vs ``b`` relabelled by each permutation."""
    g = a.n_genes
    out = np.empty((len(permutations), 3))
    for j, perm in enumerate(permutations):
        inverse = np.empty(g, dtype=np.int64)
        inverse[perm] = np.arange(g)
        out[j] = (_cka(a.factor, b.factor[perm]), _permuted_rank_correlation(a.ranks, b.ranks, perm),
                  neighbour_overlap(a.neighbours, inverse[b.neighbours[perm]]).mean())
    return out


def _permuted_rank_correlation(a: np.ndarray, b: np.ndarray, perm: np.ndarray) -> float:
    """½ Σ a ∘ b[perm][:, perm] for rank matrices (G, G), gathered in row blocks (one block in memory at a time)."""
    total = 0.0
    for start in range(0, len(perm), _GATHER_ROWS):
        rows = perm[start:start + _GATHER_ROWS]
        total += np.vdot(a[start:start + len(rows)], b[np.ix_(rows, perm)])
    return 0.5 * total
