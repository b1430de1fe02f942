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
