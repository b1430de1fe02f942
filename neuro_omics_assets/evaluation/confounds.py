"""Per-fold inputs of the evaluation: brain features with covariates removed on training subjects only.

``prepare_brain`` fits, on a fold's training subjects only, OLS of every brain feature on the covariate
design (``cohort.residualize``: residuals z-scored with the training mean/std) and optionally a PCA of
those residuals to a configured width (``cohort.pca``); both are applied unchanged to the held-out
subjects. ``FoldData`` then holds, per fold, everything CCA and prediction fit on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuro_omics_assets.cohort.pca import PcaBasis, fit_pca, transform
from neuro_omics_assets.cohort.residualize import Residualizer, apply, fit_residualizer
from neuro_omics_assets.errors import ConfigError


@dataclass(frozen=True, eq=False)
class FoldBrain:
    """One fold's brain chain and its outputs: train float64 (n_train, w), test float64 (n_test, w)."""

    residualizer: Residualizer
    pca: PcaBasis | None
    train: np.ndarray
    test: np.ndarray


def prepare_brain(
    brain_train: np.ndarray, brain_test: np.ndarray, design_train: np.ndarray, design_test: np.ndarray,
    n_components: int | None = None, seed: int = 42,
) -> FoldBrain:
    """Residualize brain features float (n, f) on the design float64 (n, p), then PCA to ``n_components``.

    Everything is fitted on the training rows. ``n_components=None`` keeps the f residualized features.
    ConfigError when more components are requested than the features or training subjects allow.
    """
    residualizer = fit_residualizer(brain_train, design_train, standardize=True)
    train, test = apply(residualizer, brain_train, design_train), apply(residualizer, brain_test, design_test)
    if n_components is None:
        return FoldBrain(residualizer, None, train, test)
    n, f = train.shape
    available = min(f, n - residualizer.rank)
    if n_components > available:
        raise ConfigError(
            f"brain_components={n_components} but the {f} brain features of {n} training subjects (design rank "
            f"{residualizer.rank}) allow at most {available}; lower brain_components."
        )
    basis = fit_pca(train, n_components, seed, dof_used=residualizer.rank)
    if basis.n_components < n_components:
        raise ConfigError(f"brain PCA found only {basis.n_components} components ({basis.cap_reason}); "
                          f"lower brain_components to {basis.n_components} or fewer.")
    return FoldBrain(residualizer, basis, transform(basis, train), transform(basis, test))


@dataclass(frozen=True, eq=False)
class FoldData:
    """What one fold fits on; rows of each array follow ``train_ids`` / ``test_ids``.

    gene_*: float64 (n, g) residualized gene-embedding components (the cohort's ``residualized_embeddings``,
    first g columns); brain_*: float64 (n, w) prepared brain features; design_*: float64 (n, p) covariate
    design (nuisance of the permutation test); blocks_*: str (n,) exchangeability blocks or None.
    """

    fold: int
    train_ids: list[str]
    test_ids: list[str]
    gene_train: np.ndarray
    gene_test: np.ndarray
    brain_train: np.ndarray
    brain_test: np.ndarray
    design_train: np.ndarray
    design_test: np.ndarray
    blocks_train: np.ndarray | None = None
    blocks_test: np.ndarray | None = None


def gene_components(vectors: np.ndarray, n_components: int, fold: int) -> np.ndarray:
    """The first ``n_components`` columns of residualized embeddings float (n, k); ConfigError if k is smaller."""
    if n_components < 1 or n_components > vectors.shape[1]:
        raise ConfigError(
            f"n_gene_components={n_components} but fold {fold}'s residualized embeddings have {vectors.shape[1]} "
            f"components; request between 1 and {vectors.shape[1]} (or raise pca_basis n_components)."
        )
    return np.asarray(vectors[:, :n_components], dtype=np.float64)


def restrict(data: FoldData, subjects: set[str]) -> FoldData:
    """``data`` limited to ``subjects`` (e.g. those with a phenotype under the drop policy), order kept."""
    train = [i for i, s in enumerate(data.train_ids) if s in subjects]
    test = [i for i, s in enumerate(data.test_ids) if s in subjects]
    return FoldData(
        fold=data.fold, train_ids=[data.train_ids[i] for i in train], test_ids=[data.test_ids[i] for i in test],
        gene_train=data.gene_train[train], gene_test=data.gene_test[test],
        brain_train=data.brain_train[train], brain_test=data.brain_test[test],
        design_train=data.design_train[train], design_test=data.design_test[test],
        blocks_train=None if data.blocks_train is None else data.blocks_train[train],
        blocks_test=None if data.blocks_test is None else data.blocks_test[test],
    )


def heldout_leverage(data: FoldData) -> np.ndarray:
    """float64 (n_test,): each test subject's leverage c (C'C)^+ c' under the training design C.

    Training subjects have leverage <= 1; above 1 a test subject's covariates lie outside what the
    training subjects span, and everything residualized with the training OLS fit is extrapolated for it.
    """
    gram = np.linalg.pinv(data.design_train.T @ data.design_train)
    return np.einsum("ij,jk,ik->i", data.design_test, gram, data.design_test)


def exclude_extrapolated(folds: list[FoldData], max_leverage: float | None) -> tuple[list[FoldData], dict[int, list[str]]]:
    """(folds without test subjects of leverage above ``max_leverage``, fold -> excluded test subjects).

    ``None`` keeps every subject. Training subjects are never removed, so no fitted quantity changes.
    """
    if max_leverage is None:
        return folds, {}
    kept, excluded = [], {}
    for data in folds:
        leverage = heldout_leverage(data)
        dropped = [s for s, h in zip(data.test_ids, leverage, strict=True) if h > max_leverage]
        if dropped:
            excluded[data.fold] = dropped
        kept.append(restrict(data, set(data.train_ids) | (set(data.test_ids) - set(dropped))))
    return kept, excluded
