"""PCA, projection and residualization of a factorized subject matrix (``cohort.factorized``).

The same chain as ``cohort.pca`` and ``cohort.residualize`` (same ``PcaBasis``, ``Residualizer`` and
``FoldModel``, same component cap, sign rule and z-scoring), computed from products with the
factorized matrix only:

* **Solver**: randomized subspace iteration (Halko, Martinsson & Tropp 2011, algorithms 4.3-4.4) with
  a Rayleigh-Ritz step. ``l = k + oversamples`` Gaussian test vectors (seeded) give ``Y = Xc Omega``;
  each of ``power_iterations`` rounds normalizes Y (LU, as scikit-learn's ``randomized_svd``) and
  multiplies by ``Xc.T`` then ``Xc``; Q = QR(Y), and the SVD of the small ``Q.T Xc`` gives the basis. When ``l`` reaches ``min(n, d)`` or the
  rank of the rows, the range is captured whole and the result is the exact SVD up to round-off;
  below that, power iterations make the top components converge at rate ``(s_{l+1} / s_k)^(2q+1)``.
  ``2 * power_iterations + 2`` passes over the factors per fit. The settings are recorded in the basis.
* **Centring** and **covariate residuals** are low-rank shifts of X (``factorized.Shifted``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from neuro_omics_assets.cohort.factorized import FactorizedMatrix, Shifted, centered
from neuro_omics_assets.cohort.pca import (
    FitRecord,
    PcaBasis,
    basis_from_svd,
    effective_components,
    round_off_from_norm,
)
from neuro_omics_assets.cohort.residualize import (
    ORDERS,
    FoldModel,
    Order,
    Residualizer,
    apply,
    fit_residualizer,
)
from neuro_omics_assets.errors import ConfigError, CovariateError

log = logging.getLogger(__name__)

_GRAM_MIN_RATIO = 1e-4  # s_k / s_1 above which the Gram matrix resolves s_k to eps * (s_1 / s_k)^2 = 2e-8


@dataclass(frozen=True)
class RandomizedSpec:
    """Randomized range finder settings (scikit-learn's ``randomized_svd`` defaults)."""

    oversamples: int = 10  # extra test vectors beyond k: the range is found with slack for the k-th direction
    power_iterations: int = 7  # scikit-learn's n_iter for k well below min(n, d): top-k converge to round-off

    def __post_init__(self) -> None:
        if self.oversamples < 0 or self.power_iterations < 0:
            raise ConfigError(
                f"oversamples={self.oversamples} and power_iterations={self.power_iterations} must be >= 0 "
                f"(defaults 10 and 7)."
            )


def fit_pca_factorized(
    matrix: FactorizedMatrix | Shifted, n_components: int = 512, seed: int = 42, spec: RandomizedSpec = RandomizedSpec(),
    dof_used: int = 1, resolution: float | None = None,
) -> PcaBasis:
    """PCA of the rows of ``matrix`` (training subjects, float64 (n, d) implicitly): as ``pca.fit_pca``.

    ``resolution`` defaults to the round-off of the stored vectors' precision (``pca.round_off``).
    """
    n, d = matrix.shape
    k, reason = effective_components(n_components, n, d, dof_used)
    base = matrix.base if isinstance(matrix, Shifted) else matrix
    work, mean = _centred(matrix)
    total = work.sq_norm()
    if resolution is None:
        resolution = raw_round_off(base)
    values, components = randomized_svd(work, k, spec, seed)
    fit = FitRecord("randomized", n_components, k, reason, n, seed, spec.oversamples, spec.power_iterations)
    return basis_from_svd(mean, values, components, total, fit, resolution)


def raw_round_off(matrix: FactorizedMatrix) -> float:
    """``pca.round_off`` of the (uncentred) factorized rows, from their norm and vectors' dtype."""
    n, d = matrix.shape
    mean = matrix.column_mean()
    norm = np.sqrt(matrix.centered_sq_norm(mean) + n * float(mean @ mean))
    return round_off_from_norm(norm, n, d, matrix.dtype)


def randomized_svd(work: Shifted, k: int, spec: RandomizedSpec, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Top singular values float64 (l,) and right singular vectors float64 (l, d) of ``work``, l >= k."""
    n, d = work.shape
    size = min(k + spec.oversamples, n, d)
    rng = np.random.default_rng(seed)
    y = work.matmat(rng.standard_normal((d, size)))
    for _ in range(spec.power_iterations):
        # LU-normalized between passes (as scikit-learn); the n-side only: Xc Xc.T squares the
        # condition number once per round, which costs directions below sqrt(eps) * s_1 only
        y = work.matmat(work.rmatmat(scipy.linalg.lu(y, permute_l=True, check_finite=False)[0]))
    q = scipy.linalg.qr(y, mode="economic", overwrite_a=True, check_finite=False)[0]
    # Rayleigh-Ritz: Q.T Xc = (Xc.T Q).T, an (l, d) matrix whose SVD gives the basis
    return _right_singular(work.rmatmat(q), k)


def _right_singular(bt: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top singular values (>= k) and right singular vectors (rows, >= k) of ``bt.T``, ``bt`` float64 (d, l).

    Through the (l, l) Gram matrix when its round-off (eps * s_1^2) leaves the first k values
    accurate to 1e-8; else (rank-deficient rows) by a full SVD of ``bt``, which is exact but
    several times slower at biobank sizes.
    """
    values, vectors = scipy.linalg.eigh(bt.T @ bt, check_finite=False)
    values, vectors = np.sqrt(np.clip(values[::-1], 0.0, None)), vectors[:, ::-1]
    if values[k - 1] >= _GRAM_MIN_RATIO * values[0]:
        return values[:k], (vectors[:, :k] / values[:k]).T @ bt.T  # (k, d), C-ordered
    left, values, _ = scipy.linalg.svd(bt, full_matrices=False, overwrite_a=True, check_finite=False)
    return values, np.ascontiguousarray(left.T)


def transform_factorized(basis: PcaBasis, matrix: FactorizedMatrix | Shifted) -> np.ndarray:
    """Scores ``(x - mean) @ components.T`` of every row of ``matrix``: float64 (n, k)."""
    if matrix.shape[1] != basis.n_features:
        raise ConfigError(
            f"the subject matrix has {matrix.shape[1]} features but the PCA basis was fitted on "
            f"{basis.n_features}; use the same genes and hidden size as the training matrix."
        )
    return matrix.matmat(basis.components.T) - basis.mean @ basis.components.T


def fit_fold_basis_factorized(
    x_train: FactorizedMatrix, design_train: np.ndarray, n_components: int = 512,
    order: Order = "pca_then_residualize", seed: int = 42, spec: RandomizedSpec = RandomizedSpec(),
) -> PcaBasis:
    """The PCA basis ``fit_fold_model_factorized`` fits (of the rows, or of their covariate residuals
    for ``residualize_then_pca``), without the OLS and z-score steps that follow it."""
    design = _check_fold(x_train, design_train, order)
    resolution = raw_round_off(x_train)
    if order == "pca_then_residualize":
        return fit_pca_factorized(x_train, n_components, seed, spec, 1, resolution)
    residuals = Shifted(x_train, design, _feature_residualizer(x_train, design).coefficients)
    dof_used = int(np.linalg.matrix_rank(np.column_stack([design, np.ones(len(design))])))
    return fit_pca_factorized(residuals, n_components, seed, spec, dof_used, resolution)


def fit_fold_model_factorized(
    x_train: FactorizedMatrix, design_train: np.ndarray, n_components: int = 512,
    order: Order = "pca_then_residualize", seed: int = 42, spec: RandomizedSpec = RandomizedSpec(),
    basis: PcaBasis | None = None,
) -> FoldModel:
    """``residualize.fit_fold_model`` on the factorized training rows, design float64 (n, p); ``basis``:
    one fitted earlier on these rows in this order (``fit_fold_basis_factorized``), reused as is."""
    design = _check_fold(x_train, design_train, order)
    if basis is not None and (basis.n_train, basis.n_features) != x_train.shape:
        raise ConfigError(
            f"the given PCA basis was fitted on {basis.n_train} subjects x {basis.n_features} features but "
            f"the training rows are {x_train.shape[0]} x {x_train.shape[1]}; refit the basis on these rows."
        )
    if basis is None:
        basis = fit_fold_basis_factorized(x_train, design, n_components, order, seed, spec)
    if order == "pca_then_residualize":
        return FoldModel(order, basis, fit_residualizer(transform_factorized(basis, x_train), design), None)
    residualizer = _feature_residualizer(x_train, design)
    scores = transform_factorized(basis, Shifted(x_train, design, residualizer.coefficients))
    return FoldModel(order, basis, residualizer, fit_residualizer(scores, np.ones((len(design), 1))))


def _check_fold(x_train: FactorizedMatrix, design_train: np.ndarray, order: str) -> np.ndarray:
    if order not in ORDERS:
        raise ConfigError(f"order is {order!r}; use one of {list(ORDERS)}.")
    return _design(design_train, x_train.shape[0])


def project_factorized(model: FoldModel, x: FactorizedMatrix, design: np.ndarray) -> np.ndarray:
    """``FoldModel.project`` for factorized subjects ``x`` with design float64 (n, p): float64 (n, k)."""
    design = _design(design, x.shape[0])
    if model.order == "pca_then_residualize":
        return apply(model.residualizer, transform_factorized(model.basis, x), design)
    scores = transform_factorized(model.basis, Shifted(x, design, model.residualizer.coefficients))
    return apply(model.scaler, scores, np.ones((x.shape[0], 1)))


def embed_fold_factorized(
    basis: PcaBasis, order: Order, x_train: FactorizedMatrix, design_train: np.ndarray, x_test: FactorizedMatrix,
    design_test: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(training, held-out) embeddings float64 (n, k) of the chain fitted around a stored ``basis``: as
    ``fit_fold_model_factorized`` then ``project_factorized`` on both, the training scores computed once."""
    if order != "pca_then_residualize":
        model = fit_fold_model_factorized(x_train, design_train, order=order, basis=basis)
        return project_factorized(model, x_train, design_train), project_factorized(model, x_test, design_test)
    design = _check_fold(x_train, design_train, order)
    if (basis.n_train, basis.n_features) != x_train.shape:
        raise ConfigError(
            f"the given PCA basis was fitted on {basis.n_train} subjects x {basis.n_features} features but "
            f"the training rows are {x_train.shape[0]} x {x_train.shape[1]}; refit the basis on these rows."
        )
    scores = transform_factorized(basis, x_train)
    model = FoldModel(order, basis, fit_residualizer(scores, design), None)
    return apply(model.residualizer, scores, design), project_factorized(model, x_test, design_test)


def _feature_residualizer(x: FactorizedMatrix, design: np.ndarray) -> Residualizer:
    """OLS of every column of ``x`` on ``design`` (minimum-norm, as ``lstsq``), unscaled: coefficients (p, d)."""
    n, p = design.shape
    if n <= p:
        raise CovariateError(
            f"{n} training subjects cannot be residualized on {p} design columns; OLS needs more "
            f"subjects than columns: use fewer covariates or a larger training fold."
        )
    pinv, rank = scipy.linalg.pinv(design, return_rank=True)  # (p, n); lstsq's cutoff eps * max(n, p)
    if rank < p:
        log.warning("covariate design has rank %d < %d columns (collinear covariates)", rank, p)
    coefficients = x.rmatmat(pinv.T).T
    return Residualizer(coefficients, np.zeros(x.shape[1]), np.ones(x.shape[1]), int(rank), n, False)


def _centred(matrix: FactorizedMatrix | Shifted) -> tuple[Shifted, np.ndarray]:
    if isinstance(matrix, FactorizedMatrix):
        return centered(matrix)
    mean = matrix.column_mean()
    left = np.column_stack([matrix.left, np.ones(matrix.shape[0])])
    return Shifted(matrix.base, left, np.vstack([matrix.right, mean[None, :]])), mean


def _orthonormal(a: np.ndarray) -> np.ndarray:
    return scipy.linalg.qr(a, mode="economic", overwrite_a=True, check_finite=False)[0]


def _design(design: np.ndarray, n: int) -> np.ndarray:
    design = np.asarray(design, dtype=np.float64)
    if design.ndim != 2 or len(design) != n or not np.isfinite(design).all():
        raise ConfigError(
            f"the covariate design must be finite and 2-D with one row per subject ({n}); got shape "
            f"{design.shape}. Align the covariates to the subjects first (cohort.covariates.align)."
        )
    return design
