"""Covariate residualization and the per-fold embedding chain (recipe steps 7-8).

``fit_residualizer`` regresses every column of Y on the covariate design by OLS (``lstsq``) and
records the mean/std of the training residuals; ``apply`` removes the fitted covariate effects from
any subjects and z-scores them with the *training* mean/std. ``fold_embeddings`` runs one
cross-validation fold in either order, fitting PCA and OLS on the training subjects only and
applying the fitted chain unchanged to the held-out subjects; ``fit_fold_model`` fits the chain
alone, optionally around a stored PCA basis:

* ``pca_then_residualize`` (the recipe): PCA of X -> residualize the scores -> z-score.
* ``residualize_then_pca``: residualize every feature of X (no scaling, so PCA stays a covariance
  PCA) -> PCA of the residuals -> z-score the scores.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from neuro_omics_assets.cohort.pca import PcaBasis, fit_pca, round_off, transform
from neuro_omics_assets.errors import ConfigError, CovariateError

log = logging.getLogger(__name__)

Order = Literal["pca_then_residualize", "residualize_then_pca"]
ORDERS: tuple[str, ...] = ("pca_then_residualize", "residualize_then_pca")
_EXPLAINED_TOL = 1e-10  # residual std below this fraction of the column's std: fully explained


@dataclass(frozen=True, eq=False)
class Residualizer:
    """OLS covariate effects and the training residuals' z-score parameters.

    coefficients: float64 (p, k). center, scale: float64 (k,) mean and std (ddof=0) of the
    training residuals; 0 and 1 when ``standardized`` is False. rank: rank of the training design.
    """

    coefficients: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    rank: int
    n_train: int
    standardized: bool


def fit_residualizer(y_train: np.ndarray, c_train: np.ndarray, standardize: bool = True) -> Residualizer:
    """Fit OLS of ``y_train`` float (n, k) on ``c_train`` float64 (n, p) (a design with intercept).

    Raises ``CovariateError`` unless n > p, and ``ConfigError`` when standardizing a column the
    covariates explain completely (its residual std is 0). A rank-deficient design is logged: OLS
    then returns the minimum-norm fit, and the residuals are still orthogonal to every column.
    """
    y, c = _as_float(y_train, "y_train"), _as_float(c_train, "c_train")
    _check_rows(y, c)
    n, p = c.shape
    if n <= p:
        raise CovariateError(
            f"{n} training subjects cannot be residualized on {p} design columns; OLS needs more "
            f"subjects than columns: use fewer covariates or a larger training fold."
        )
    coefficients, _, rank, _ = np.linalg.lstsq(c, y, rcond=None)
    if rank < p:
        log.warning("covariate design has rank %d < %d columns (collinear covariates)", rank, p)
    k = y.shape[1]
    if not standardize:
        return Residualizer(coefficients, np.zeros(k), np.ones(k), int(rank), n, False)
    residuals = y - c @ coefficients
    center, scale = residuals.mean(axis=0), residuals.std(axis=0)
    explained = scale <= _EXPLAINED_TOL * y.std(axis=0)
    if explained.any():
        raise ConfigError(
            f"columns {np.flatnonzero(explained)[:10].tolist()} of Y are fully explained by the "
            f"covariates on the training subjects (residual std 0), so they cannot be z-scored; "
            f"drop those columns or the covariates that reproduce them."
        )
    return Residualizer(coefficients, center, scale, int(rank), n, True)


def apply(residualizer: Residualizer, y: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Residuals of ``y`` float (n, k) given design ``c`` float64 (n, p), z-scored with the training
    center/scale: float64 (n, k)."""
    y, c = _as_float(y, "y"), _as_float(c, "c")
    _check_rows(y, c)
    p, k = residualizer.coefficients.shape
    if c.shape[1] != p or y.shape[1] != k:
        raise ConfigError(
            f"the residualizer was fitted on {k} columns with a {p}-column design; got y with "
            f"{y.shape[1]} and a design with {c.shape[1]} columns (build both the same way as for training)."
        )
    return (y - c @ residualizer.coefficients - residualizer.center) / residualizer.scale


@dataclass(frozen=True, eq=False)
class FoldModel:
    """The chain fitted on one training fold; ``project`` applies it to any subjects.

    ``residualizer`` removes covariates (from PCA scores, or from features for
    ``residualize_then_pca``); ``scaler`` z-scores the PCA scores in ``residualize_then_pca``
    (an intercept-only OLS) and is None otherwise.
    """

    order: Order
    basis: PcaBasis
    residualizer: Residualizer
    scaler: Residualizer | None

    def project(self, x: np.ndarray, design: np.ndarray) -> np.ndarray:
        """Embeddings of subjects ``x`` float (n, d) with covariate design float64 (n, p): float64 (n, k)."""
        if self.order == "pca_then_residualize":
            return apply(self.residualizer, transform(self.basis, x), design)
        scores = transform(self.basis, apply(self.residualizer, x, design))
        return apply(self.scaler, scores, _intercept(len(scores)))


@dataclass(frozen=True, eq=False)
class FoldResult:
    """One fold's fitted chain and embeddings.

    train_idx, test_idx: int64 row positions. train_scores: float64 (n_train, k); test_scores:
    float64 (n_test, k), both from ``model.project``; k = ``model.basis.n_components``.
    """

    model: FoldModel
    train_idx: np.ndarray
    test_idx: np.ndarray
    train_scores: np.ndarray
    test_scores: np.ndarray

    @property
    def basis(self) -> PcaBasis:
        return self.model.basis

    @property
    def order(self) -> Order:
        return self.model.order


def fold_embeddings(
    x: np.ndarray,
    covariate_design: np.ndarray,
    train_idx: Sequence[int] | np.ndarray,
    test_idx: Sequence[int] | np.ndarray,
    n_components: int = 512,
    order: Order = "pca_then_residualize",
    seed: int = 42,
) -> FoldResult:
    """Fit the chain on rows ``train_idx`` of ``x`` float (n, d) and ``covariate_design`` float64
    (n, p); embed the training and the held-out rows ``test_idx`` with it."""
    x, design = _as_float(x, "x"), _as_float(covariate_design, "covariate_design")
    _check_rows(x, design)
    train, test = _check_indices(train_idx, test_idx, len(x))
    model = fit_fold_model(x[train], design[train], n_components, order, seed)
    log.info(
        "fold fitted (%s): %d train, %d test subjects, %d components",
        order,
        len(train),
        len(test),
        model.basis.n_components,
    )
    return FoldResult(
        model=model,
        train_idx=train,
        test_idx=test,
        train_scores=model.project(x[train], design[train]),
        test_scores=model.project(x[test], design[test]),
    )


def fit_fold_model(
    x_train: np.ndarray,
    design_train: np.ndarray,
    n_components: int = 512,
    order: Order = "pca_then_residualize",
    seed: int = 42,
    basis: PcaBasis | None = None,
) -> FoldModel:
    """Fit the chain on the training rows ``x_train`` float (n, d) with design float64 (n, p).

    ``basis``: a PCA basis fitted earlier on these same rows in this ``order`` (e.g. read back from
    the warehouse); it is reused as is and only the OLS and z-score steps are fitted. Components
    are capped at the rank of the rows beyond the round-off of ``x_train`` as given (``pca.round_off``).
    """
    if order not in ORDERS:
        raise ConfigError(f"order is {order!r}; use one of {list(ORDERS)}.")
    resolution = round_off(x_train)
    x, design = _as_float(x_train, "x_train"), _as_float(design_train, "design_train")
    _check_rows(x, design)
    if basis is not None and (basis.n_train, basis.n_features) != x.shape:
        raise ConfigError(
            f"the given PCA basis was fitted on {basis.n_train} subjects x {basis.n_features} features but "
            f"the training rows are {x.shape[0]} x {x.shape[1]}; refit the basis on these rows."
        )
    if order == "pca_then_residualize":
        basis = basis if basis is not None else fit_pca(x, n_components, seed, resolution=resolution)
        return FoldModel(order, basis, fit_residualizer(transform(basis, x), design), None)
    residualizer = fit_residualizer(x, design, standardize=False)
    residuals = apply(residualizer, x, design)
    if basis is None:
        # residuals spend rank([design, 1]) degrees of freedom (the intercept is in the design as a rule)
        dof_used = int(np.linalg.matrix_rank(np.column_stack([design, _intercept(len(x))])))
        basis = fit_pca(residuals, n_components, seed, dof_used=dof_used, resolution=resolution)
    # z-scoring is OLS on an intercept column followed by scaling
    scaler = fit_residualizer(transform(basis, residuals), _intercept(len(x)))
    return FoldModel(order, basis, residualizer, scaler)


def _intercept(n: int) -> np.ndarray:
    return np.ones((n, 1), dtype=np.float64)


def _as_float(a: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2:
        raise ConfigError(f"{name} must be 2-D (subjects, columns); got shape {a.shape}.")
    if not np.isfinite(a).all():
        raise ConfigError(f"{name} holds {int((~np.isfinite(a)).sum())} NaN/inf values; fix them upstream.")
    return a


def _check_rows(y: np.ndarray, c: np.ndarray) -> None:
    if len(y) != len(c):
        raise ConfigError(
            f"the data has {len(y)} subjects but the covariate design has {len(c)} rows; align "
            f"the covariates to the subjects first (cohort.covariates.align)."
        )


def _check_indices(
    train_idx: Sequence[int], test_idx: Sequence[int], n: int
) -> tuple[np.ndarray, np.ndarray]:
    train = np.asarray(train_idx, dtype=np.int64).reshape(-1)
    test = np.asarray(test_idx, dtype=np.int64).reshape(-1)
    for name, idx in (("train_idx", train), ("test_idx", test)):
        if len(idx) and (idx.min() < 0 or idx.max() >= n):
            raise ConfigError(f"{name} holds positions outside [0, {n}); pass row positions of x.")
        if len(np.unique(idx)) != len(idx):
            raise ConfigError(f"{name} repeats subjects; each subject may appear once.")
    if not len(train):
        raise ConfigError("train_idx is empty; a fold needs training subjects to fit PCA and OLS.")
    overlap = np.intersect1d(train, test)
    if len(overlap):
        raise ConfigError(
            f"{len(overlap)} subjects are in both train_idx and test_idx (first row {int(overlap[0])}); "
            f"held-out subjects must not be fitted on."
        )
    return train, test
