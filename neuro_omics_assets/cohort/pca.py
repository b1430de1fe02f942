"""PCA of the subject matrix, fitted on training subjects only (recipe step 7: project to 512-D).

How many components: ``k = min(requested, n_train - dof_used, n_features)``. Centering spends one
degree of freedom, so ``n`` centred training rows span at most ``n - 1`` directions; when the rows
are OLS residuals on a design of rank ``r`` (``residualize_then_pca``) they span at most ``n - r``.
Asking for more would return components of zero variance that carry no information but still get
z-scored downstream. For the same reason k is then capped at the numerical rank of the centred
training rows: the singular values above the rows' round-off (``round_off``, at the precision of
their dtype: float32 embeddings resolve ~1e-7 of their size). Subjects who share
every haplotype of the gene set give identical rows, and per-gene vectors add up linearly, so the
rows can span far fewer than ``n - 1`` directions. The cap and its reason are recorded in the basis.

Dense solver (``fit_pca``; the factorized subject matrix has its own, ``factorized_pca``, sharing
``basis_from_svd``): ``randomized`` when the matrix is large (``max(n, d) > 500``) and ``k < 0.8 * min(n, d)``
(scikit-learn's own "auto" rule, made explicit and recorded); ``full`` SVD otherwise. Both run in
float64 with ``random_state=seed``. Signs are fixed so the largest-magnitude loading of every
component is positive: refits on the same data give the same basis, whatever the SVD backend.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.decomposition import PCA

from neuro_omics_assets.errors import ConfigError

log = logging.getLogger(__name__)

Solver = Literal["full", "randomized"]
_RANDOMIZED_MIN_SIZE = 500  # below this max(n, d) a full SVD is as fast as a randomized one
_RANDOMIZED_MAX_FRACTION = 0.8  # randomized SVD only pays off for k well below min(n, d)


@dataclass(frozen=True, eq=False)
class PcaBasis:
    """A fitted PCA basis.

    mean: float64 (d,) training mean. components: float64 (k, d), orthonormal rows, sign-fixed.
    explained_variance: float64 (k,) variance of each component's training scores (ddof=1).
    explained_variance_ratio: float64 (k,) its share of the training data's total variance.
    ``n_components`` is the effective k; ``cap_reason`` says why it is below the request (else None).
    ``n_oversamples``/``n_power_iterations``: the randomized range finder's settings (None for sklearn fits).
    """

    mean: np.ndarray
    components: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray
    solver: Solver
    n_components_requested: int
    n_components: int
    cap_reason: str | None
    n_train: int
    seed: int
    n_oversamples: int | None = None
    n_power_iterations: int | None = None

    @property
    def n_features(self) -> int:
        return int(self.components.shape[1])


def effective_components(
    requested: int, n_train: int, n_features: int, dof_used: int = 1
) -> tuple[int, str | None]:
    """(k, reason) by the module rule; ``ConfigError`` when the request or the data allow no component."""
    if not isinstance(requested, int | np.integer) or requested < 1:
        raise ConfigError(f"n_components is {requested!r}; ask for a positive integer (the recipe uses 512).")
    if dof_used < 1:
        raise ConfigError(f"dof_used is {dof_used}; centering alone spends 1 degree of freedom.")
    by_rows = n_train - dof_used
    k = min(requested, by_rows, n_features)
    if k < 1:
        raise ConfigError(
            f"PCA cannot fit any component: {n_train} training subjects leave {by_rows} degrees of freedom "
            f"after {dof_used} spent on centering/residualization, and there are {n_features} features; "
            f"use more training subjects."
        )
    if k == requested:
        return k, None
    if k == by_rows:
        spent = "centering" if dof_used == 1 else f"centering and residualization (design rank {dof_used})"
        return k, f"n_train - {dof_used} = {k}: {n_train} training subjects, {dof_used} dof spent on {spent}"
    return k, f"n_features = {k}: the matrix has only {n_features} columns"


def choose_solver(n_train: int, n_features: int, k: int) -> Solver:
    """The module's solver rule."""
    large = max(n_train, n_features) > _RANDOMIZED_MIN_SIZE
    return "randomized" if large and k < _RANDOMIZED_MAX_FRACTION * min(n_train, n_features) else "full"


def round_off(x: np.ndarray) -> float:
    """Singular value below which a direction of ``x`` float (n, d) is rounding, not signal.

    Ten times the sum of the spectral norm of independent rounding of every element at the precision
    of ``x``'s dtype, ``eps * rms(x) * (sqrt(n) + sqrt(d))``, and of the rank-one error of float64
    column means when centring, ``eps64 * ||x||_F``.
    """
    x = np.asarray(x)
    n, d = x.shape
    return round_off_from_norm(float(np.linalg.norm(x.astype(np.float64))), n, d, x.dtype)


def round_off_from_norm(norm: float, n: int, d: int, dtype: np.dtype) -> float:
    """``round_off`` of an (n, d) matrix of ``dtype`` whose Frobenius norm is ``norm``."""
    eps = np.finfo(dtype if np.issubdtype(dtype, np.floating) else np.float64).eps
    rms = norm / np.sqrt(max(n * d, 1))
    return 10.0 * (eps * rms * (np.sqrt(n) + np.sqrt(d)) + np.finfo(np.float64).eps * norm)


def fit_pca(
    x_train: np.ndarray, n_components: int = 512, seed: int = 42, dof_used: int = 1, resolution: float | None = None
) -> PcaBasis:
    """Fit PCA on the training rows ``x_train``: float (n_train, d), finite.

    ``dof_used``: degrees of freedom the rows have already spent (1 for plain data: the mean; the
    design rank when the rows are OLS residuals). ``resolution``: singular values at or below it are
    rounding, not signal (default ``round_off(x_train)``; pass that of the data the rows were
    derived from, e.g. before residualization). Returns the basis with k components (module rule).
    """
    resolution = round_off(x_train) if resolution is None else resolution
    x = _as_matrix(x_train, "x_train")
    n, d = x.shape
    k, reason = effective_components(n_components, n, d, dof_used)
    solver = choose_solver(n, d, k)
    model = PCA(n_components=k, svd_solver=solver, random_state=seed).fit(x)
    total = float(np.sum((x - model.mean_) ** 2))  # sklearn's total variance times (n - 1)
    return basis_from_svd(model.mean_, model.singular_values_, model.components_, total,
                          FitRecord(solver, n_components, k, reason, n, seed), resolution)


@dataclass(frozen=True)
class FitRecord:
    """How a basis was fitted: solver, requested and allowed k (with its reason), rows, seed and,
    for the factorized randomized solver, its oversampling and power iterations."""

    solver: Solver
    n_components_requested: int
    k: int
    cap_reason: str | None
    n_train: int
    seed: int
    n_oversamples: int | None = None
    n_power_iterations: int | None = None


def basis_from_svd(
    mean: np.ndarray, singular_values: np.ndarray, components: np.ndarray, total_sq: float, fit: FitRecord,
    resolution: float,
) -> PcaBasis:
    """The basis from an SVD of the centred training rows: singular values float (>= k,) descending,
    right singular vectors float (>= k, d), ``total_sq`` their squared Frobenius norm. Caps k at the
    rank beyond ``resolution`` and fixes signs (module rule)."""
    n, k, reason = fit.n_train, fit.k, fit.cap_reason
    rank = int((np.asarray(singular_values)[:k] > resolution).sum())
    if rank == 0:
        raise ConfigError(f"x_train: the {n} training rows do not differ beyond round-off, so PCA has nothing "
                          f"to fit; check that the subjects' embeddings differ.")
    if rank < k:
        k, reason = rank, f"rank {rank}: the {n} centred training rows span only {rank} directions beyond round-off"
    components = np.ascontiguousarray(components[:k], dtype=np.float64)  # no copy when already so
    # sign convention: the largest-|loading| entry of each component is positive (rows one at a time:
    # a biobank basis is k x genes * H)
    for row in components:
        if row[np.abs(row).argmax()] < 0:
            row *= -1.0
    if reason:
        log.info("PCA: %d of %d requested components (%s)", k, fit.n_components_requested, reason)
    squares = np.asarray(singular_values[:k], dtype=np.float64) ** 2
    return PcaBasis(
        mean=np.asarray(mean, dtype=np.float64),
        components=components,
        explained_variance=squares / (n - 1),
        explained_variance_ratio=squares / total_sq,
        solver=fit.solver,
        n_components_requested=int(fit.n_components_requested),
        n_components=k,
        cap_reason=reason,
        n_train=n,
        seed=fit.seed,
        n_oversamples=fit.n_oversamples,
        n_power_iterations=fit.n_power_iterations,
    )


def transform(basis: PcaBasis, x: np.ndarray) -> np.ndarray:
    """Scores of the rows of ``x``: float (n, d) -> float64 (n, k), ``(x - mean) @ components.T``."""
    x = _as_matrix(x, "x", allow_empty=True)
    if x.shape[1] != basis.n_features:
        raise ConfigError(
            f"x has {x.shape[1]} features but the PCA basis was fitted on {basis.n_features}; "
            f"use the same genes and hidden size as the training matrix."
        )
    return (x - basis.mean) @ basis.components.T


def explained_variance_table(basis: PcaBasis) -> pd.DataFrame:
    """One row per component: ``component`` (1-based), ``explained_variance``, ``explained_variance_ratio``,
    ``cumulative_ratio``."""
    return pd.DataFrame(
        {
            "component": np.arange(1, basis.n_components + 1),
            "explained_variance": basis.explained_variance,
            "explained_variance_ratio": basis.explained_variance_ratio,
            "cumulative_ratio": np.cumsum(basis.explained_variance_ratio),
        }
    )


def scree_plot(basis: PcaBasis) -> Figure:
    """Bars of each component's explained-variance ratio and the cumulative curve (no pyplot state)."""
    table = explained_variance_table(basis)
    figure = Figure(figsize=(7, 4), layout="constrained")
    axes = figure.add_subplot()
    axes.bar(table["component"], table["explained_variance_ratio"], color="tab:blue", label="per component")
    axes.plot(table["component"], table["cumulative_ratio"], color="tab:orange", label="cumulative")
    axes.set_xlabel("component")
    axes.set_ylabel("explained variance ratio")
    axes.set_ylim(0, 1)
    title = (
        f"PCA scree: {basis.n_components} of {basis.n_components_requested} components, {basis.solver} SVD"
    )
    axes.set_title(title, fontsize=10)
    axes.legend(loc="center right")
    return figure


def _as_matrix(x: np.ndarray, name: str, allow_empty: bool = False) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or (x.shape[0] == 0 and not allow_empty):
        raise ConfigError(f"{name} must be a non-empty 2-D (subjects, features) matrix; got shape {x.shape}.")
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ConfigError(
            f"{name} holds {int(bad.sum())} NaN/inf values (first at row {row}, column {col}); "
            f"fix the embeddings upstream (a gene vector with NaN usually means an all-N sequence)."
        )
    return x
