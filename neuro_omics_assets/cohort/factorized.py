"""The subject matrix through its factorization, never as a dense subjects x (genes * H) array.

A subject's block of gene ``g`` (columns ``[g * H, (g + 1) * H)``, genes in manifest order) is its
haplotypes' vectors combined: ``x_ig = w_ig * sum_p v_g[h_igp]``, with ``w_ig = 1 / count`` for
``mean`` and 1 for ``sum`` (as ``cohort.matrix.build_subject_gene_tensor``). So

    X = [A_1 V_1, ..., A_G V_G]

with ``V_g`` float (U_g, H) the gene's distinct haplotype vectors (one per distinct sequence) and
``A_g`` sparse float64 (n, U_g) holding the weights (a homozygous subject carries one vector with
weight 1). Every product needed by PCA, projection and residualization runs through this form:
``X @ B = [A_1 .. A_G] [V_g B_g]_g`` and ``X.T @ Y = [V_g.T (A_g.T Y)]_g``. Memory follows the
distinct haplotypes (``U * H`` stored vector values) plus 24 bytes per (subject, gene, haplotype)
for the sparse weights and their transpose; a product with ``l`` columns works in ``U x l`` and
``n x l`` float64 arrays.

``Shifted`` is a factorized matrix minus a low-rank term ``L @ R`` (centring: ``L = 1``, ``R = mean``;
covariate residuals: ``L = design``, ``R = OLS coefficients``), so centred and residualized
matrices are never formed either. All arithmetic is float64; the vectors keep their stored dtype.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.linalg.blas
import scipy.sparse as sp

from neuro_omics_assets.cohort.matrix import Combine, check_haplotype_counts
from neuro_omics_assets.errors import ConfigError

log = logging.getLogger(__name__)

_PAIR_BATCH = 8192  # (haplotype, haplotype) pairs whose dot products are taken at once in sq_norm


class FactorizedMatrix:
    """The subject matrix float64 (n, genes * H) as factors (see the module docstring).

    vectors: float (U, H), the distinct vectors of gene g in rows ``offsets[g]:offsets[g + 1]``;
    carriers: float64 CSR (n, U) = ``[A_1, ..., A_G]``, its transpose kept as CSR for ``X.T @ y``.
    """

    def __init__(self, vectors: np.ndarray, offsets: np.ndarray, carriers: sp.spmatrix, combine: Combine) -> None:
        if len(offsets) < 2 or offsets[0] != 0 or offsets[-1] != len(vectors) or carriers.shape[1] != len(vectors):
            raise ConfigError(f"gene offsets {list(offsets[:5])}... do not partition the {len(vectors)} vectors.")
        self.vectors, self.offsets, self.combine = vectors, np.asarray(offsets, np.int64), combine
        self.carriers = sp.csr_matrix(carriers, dtype=np.float64)
        self.carriers_t = self.carriers.T.tocsr()
        self.hidden = vectors.shape[1]
        self.shape = (self.carriers.shape[0], (len(offsets) - 1) * self.hidden)

    @property
    def dtype(self) -> np.dtype:
        """The stored vectors' dtype: its precision bounds the matrix's round-off (``pca.round_off``)."""
        return self.vectors.dtype

    @property
    def n_distinct(self) -> int:
        """Distinct haplotype vectors over all genes (sum of U_g)."""
        return len(self.vectors)

    @classmethod
    def from_codes(
        cls, subject_pos: np.ndarray, vector_pos: np.ndarray, vectors: np.ndarray, vector_gene: np.ndarray,
        n_subjects: int, n_genes: int, combine: Combine = "mean",
    ) -> FactorizedMatrix:
        """Build from one entry per (subject, gene, haplotype).

        subject_pos int (m,) in [0, n_subjects); vector_pos int (m,) rows of ``vectors`` float (U, H);
        vector_gene int (U,) the gene position (manifest order) of each vector. Every (subject, gene)
        needs at least one haplotype, and ``sum`` the same count for every pair (``ConfigError``).
        """
        if combine not in ("mean", "sum"):
            raise ConfigError(f"haplotype combination {combine!r} is not supported; use 'mean' or 'sum'.")
        subject_pos, vector_gene = np.asarray(subject_pos, np.int64), np.asarray(vector_gene, np.int64)
        by_gene = np.argsort(vector_gene, kind="stable")  # vectors grouped by gene, in gene order
        column = np.empty(len(by_gene), np.int64)
        column[by_gene] = np.arange(len(by_gene))
        vector_pos = column[np.asarray(vector_pos, np.int64)]
        gene_pos = vector_gene[by_gene][vector_pos]
        pair = subject_pos * n_genes + gene_pos
        counts = np.bincount(pair, minlength=n_subjects * n_genes)
        check_haplotype_counts(counts.reshape(n_subjects, n_genes), combine)
        weight = 1.0 / counts[pair] if combine == "mean" else np.ones(len(pair))
        # coo -> csr sums duplicates: a homozygous subject carries its one vector with weight 1
        carriers = sp.coo_matrix((weight, (subject_pos, vector_pos)), shape=(n_subjects, len(by_gene)))
        offsets = np.searchsorted(vector_gene[by_gene], np.arange(n_genes + 1))
        return cls(np.ascontiguousarray(vectors[by_gene]), offsets, carriers, combine)

    def rows(self, positions: np.ndarray) -> FactorizedMatrix:
        """The subjects at ``positions`` (int row positions), in that order; vectors are shared."""
        return FactorizedMatrix(self.vectors, self.offsets, self.carriers[np.asarray(positions, np.int64)], self.combine)

    def matmat(self, b: np.ndarray) -> np.ndarray:
        """``X @ b``: b float (d, l) -> float64 (n, l); ``W = [V_g b_g]_g`` (U, l), then ``A @ W``."""
        b = _columns(b, self.shape[1], "b")
        w = np.empty((len(self.vectors), b.shape[1]))
        for g, (start, stop) in enumerate(self._genes()):
            np.matmul(self._block(start, stop), b[g * self.hidden:(g + 1) * self.hidden], out=w[start:stop])
        return self.carriers @ w

    def rmatmat(self, y: np.ndarray) -> np.ndarray:
        """``X.T @ y``: y float (n, l) -> float64 (d, l); ``Z = A.T @ y`` (U, l), then ``V_g.T Z_g`` per gene."""
        z = self.carriers_t @ _columns(y, self.shape[0], "y")
        out = np.empty((self.shape[1], z.shape[1]))
        for g, (start, stop) in enumerate(self._genes()):
            np.matmul(self._block(start, stop).T, z[start:stop], out=out[g * self.hidden:(g + 1) * self.hidden])
        return out

    def column_mean(self) -> np.ndarray:
        """float64 (d,) mean of the rows."""
        return self.rmatmat(np.full((self.shape[0], 1), 1.0 / self.shape[0]))[:, 0]

    def centered_sq_norm(self, mean: np.ndarray) -> float:
        """``||X - 1 mean.T||_F^2`` for ``mean`` = ``column_mean()``, without cancellation.

        Every subject's weights of a gene add up to the same total c (1 for mean; the common
        ploidy for sum), so ``A_g V_g - 1 mean_g = A_g (V_g - mean_g / c)``; its squared norm is
        ``sum_ab (A_g.T A_g)_ab <v_a, v_b>`` over the few pairs carried together.
        """
        total = 0.0
        for g, (start, stop) in enumerate(self._genes()):
            carriers_t = self.carriers_t[start:stop]
            weight_sum = float(carriers_t.sum()) / self.shape[0]
            shifted = self.vectors[start:stop] - mean[g * self.hidden:(g + 1) * self.hidden] / weight_sum
            pairs = (carriers_t @ carriers_t.T).tocoo()
            for s in range(0, pairs.nnz, _PAIR_BATCH):
                a, b = pairs.row[s:s + _PAIR_BATCH], pairs.col[s:s + _PAIR_BATCH]
                total += float(pairs.data[s:s + _PAIR_BATCH] @ np.einsum("ij,ij->i", shifted[a], shifted[b]))
        return total

    def to_dense(self) -> np.ndarray:
        """float64 (n, d): only for small cohorts and tests."""
        return np.hstack([self.carriers[:, start:stop] @ self.vectors[start:stop].astype(np.float64)
                          for start, stop in self._genes()])

    def _block(self, start: int, stop: int) -> np.ndarray:
        """One gene's vectors as float64 (BLAS multiplies only equal dtypes; a mixed product runs unblocked)."""
        return self.vectors[start:stop].astype(np.float64, copy=False)

    def _genes(self) -> list[tuple[int, int]]:
        """(start, stop) of each gene's rows of ``vectors`` (columns of ``carriers``), in gene order."""
        return list(zip(self.offsets[:-1].tolist(), self.offsets[1:].tolist(), strict=True))


@dataclass(frozen=True, eq=False)
class Shifted:
    """``base - left @ right``: base a FactorizedMatrix (n, d), left float64 (n, m), right float64 (m, d)."""

    base: FactorizedMatrix
    left: np.ndarray
    right: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.base.shape

    def matmat(self, b: np.ndarray) -> np.ndarray:
        """float64 (n, l) for b float (d, l)."""
        return _subtract_product(self.base.matmat(b), self.left, self.right @ b)

    def rmatmat(self, y: np.ndarray) -> np.ndarray:
        """float64 (d, l) for y float (n, l)."""
        return _subtract_product(self.base.rmatmat(y), self.right.T, self.left.T @ y)

    def column_mean(self) -> np.ndarray:
        """float64 (d,)."""
        return self.base.column_mean() - self.left.mean(axis=0) @ self.right

    def sq_norm(self) -> float:
        """``||base - left @ right||_F^2``, expanded around the centred base so nothing large cancels."""
        mean = self.base.column_mean()
        left = np.column_stack([self.left, -np.ones(self.shape[0])])  # base - L R = Xc - left @ right
        right = np.vstack([self.right, mean[None, :]])
        cross = self.base.rmatmat(left) - np.outer(mean, left.sum(axis=0))  # Xc.T @ left, (d, m + 1)
        return (self.base.centered_sq_norm(mean) - 2.0 * float(np.sum(right.T * cross))
                + float(np.sum((left.T @ left) * (right @ right.T))))


def centered(matrix: FactorizedMatrix) -> tuple[Shifted, np.ndarray]:
    """(``X - 1 mean``, mean float64 (d,)): the rows centred on their own mean."""
    mean = matrix.column_mean()
    return Shifted(matrix, np.ones((matrix.shape[0], 1)), mean[None, :]), mean


def _subtract_product(out: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``out - a @ b`` written into ``out`` float64 C-contiguous (r, c), for a (r, m), b (m, c): one BLAS
    call on the transposed (Fortran-ordered) views instead of two (r, c) temporaries."""
    result = scipy.linalg.blas.dgemm(-1.0, np.asarray(b, np.float64).T, np.asarray(a, np.float64).T, beta=1.0,
                                     c=out.T, overwrite_c=True)
    return result.T


def _columns(a: np.ndarray, rows: int, name: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != rows:
        raise ConfigError(f"{name} must be 2-D with {rows} rows to multiply the subject matrix; got {a.shape}.")
    return a
