"""Canonical correlation analysis fitted on training subjects, applied unchanged to held-out ones.

CCA by whitening: with centred X = U_x S_x W_x' (thin SVD, rank-checked) the whitened rows are
Q_x = X W_x S_x^-1, likewise Q_y; the canonical correlations are the singular values of Q_x' Q_y =
L D M', and the weights A = W_x S_x^-1 L sqrt(n - 1), B = W_y S_y^-1 M sqrt(n - 1) give canonical
variates of unit variance on the training subjects. Held-out subjects are centred with the
*training* means and multiplied by the training weights; their correlation per mode is the
held-out canonical correlation (it can be negative).

Signs: each mode's pair is flipped so that the largest-|weight| X loading is positive.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuro_omics_assets.errors import ConfigError

_RANK_TOL = 1e-12  # eigenvalues of a'a below this fraction of the largest (singular values 1e-6): collinear


@dataclass(frozen=True, eq=False)
class CcaFit:
    """A CCA fitted on training subjects.

    x_mean: float64 (p,), y_mean: float64 (q,) training means. x_weights: float64 (p, K),
    y_weights: float64 (q, K), K = min(p, q). correlations: float64 (K,) in-sample canonical
    correlations, descending.
    """

    x_mean: np.ndarray
    y_mean: np.ndarray
    x_weights: np.ndarray
    y_weights: np.ndarray
    correlations: np.ndarray
    n_train: int

    @property
    def n_modes(self) -> int:
        return int(self.correlations.shape[0])


def check_dimensions(n: int, p: int, q: int, where: str) -> None:
    """ConfigError unless ``n`` subjects can fit a CCA of ``p`` and ``q`` columns (n > p + q)."""
    if min(p, q) < 1:
        raise ConfigError(f"{where}: CCA needs at least one column on each side (got {p} and {q}).")
    if n <= p + q:
        raise ConfigError(
            f"{where}: {n} subjects cannot fit a CCA of {p} + {q} components (every canonical correlation "
            f"would be 1 in-sample); request fewer components (n_gene_components, brain_components) "
            f"so that their sum stays below {n}."
        )


def whiten(a: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(Q float64 (n, r) orthonormal basis of the columns of ``a`` (n, r), W (r, r) with Q = a W).

    Two passes of Gram-matrix whitening (eigendecomposition of a'a, then of Q1'Q1 to restore
    orthonormality to round-off, as in CholeskyQR2): two GEMMs over the n rows instead of a
    Householder QR/SVD, whose level-2 steps dominate at cohort scale. ConfigError when the columns of
    ``a`` are collinear (rank below r).
    """
    values, vectors = np.linalg.eigh(a.T @ a)
    rank = int((values > _RANK_TOL * max(values[-1], 0.0)).sum())
    if rank < a.shape[1]:
        raise ConfigError(
            f"{name}: the {a.shape[1]} columns span only {rank} directions on these subjects (collinear or "
            f"constant columns); drop the redundant columns or request fewer components."
        )
    first = vectors / np.sqrt(values)
    q = a @ first
    values, vectors = np.linalg.eigh(q.T @ q)
    second = vectors / np.sqrt(values)
    return q @ second, first @ second


def fit_cca(x: np.ndarray, y: np.ndarray) -> CcaFit:
    """Fit CCA on training rows ``x`` float (n, p) and ``y`` float (n, q), same subjects in the same order."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ConfigError(f"x {x.shape} and y {y.shape} must be 2-D with one row per subject each.")
    n, p = x.shape
    check_dimensions(n, p, y.shape[1], "CCA training subjects")
    x_mean, y_mean = x.mean(axis=0), y.mean(axis=0)
    qx, wx = whiten(x - x_mean, "CCA x (gene components)")
    qy, wy = whiten(y - y_mean, "CCA y (brain features)")
    left, d, right_t = np.linalg.svd(qx.T @ qy, full_matrices=False)
    k = d.shape[0]
    scale = np.sqrt(n - 1)
    a, b = wx @ left[:, :k] * scale, wy @ right_t[:k].T * scale
    pivots = a[np.abs(a).argmax(axis=0), np.arange(k)]
    flip = np.where(pivots < 0, -1.0, 1.0)
    return CcaFit(x_mean, y_mean, a * flip, b * flip, np.clip(d, 0.0, 1.0), n)


def canonical_variates(fit: CcaFit, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(u, v) float64 (n, K): the canonical variates of any subjects under the training fit."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.shape[1] != fit.x_weights.shape[0] or y.shape[1] != fit.y_weights.shape[0]:
        raise ConfigError(
            f"x/y have {x.shape[1]}/{y.shape[1]} columns but the CCA was fitted on "
            f"{fit.x_weights.shape[0]}/{fit.y_weights.shape[0]}; transform them as the training subjects were."
        )
    return (x - fit.x_mean) @ fit.x_weights, (y - fit.y_mean) @ fit.y_weights


def column_correlations(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Pearson correlation of each column pair: u, v float (n, K) -> float64 (K,)."""
    uc, vc = u - u.mean(axis=0), v - v.mean(axis=0)
    denominator = np.sqrt((uc**2).sum(axis=0) * (vc**2).sum(axis=0))
    if (denominator == 0).any():
        raise ConfigError("a canonical variate is constant on these subjects; its correlation is undefined.")
    return (uc * vc).sum(axis=0) / denominator
