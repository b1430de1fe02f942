"""The factorized PCA chain equals the dense chain (``cohort.residualize``) on small random cohorts."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from neuro_omics_assets.cohort.factorized_pca import (
    RandomizedSpec,
    embed_fold_factorized,
    fit_fold_model_factorized,
    fit_pca_factorized,
    project_factorized,
)
from neuro_omics_assets.cohort.pca import fit_pca
from neuro_omics_assets.cohort.residualize import fit_fold_model
from neuro_omics_assets.errors import ConfigError

from .factorized_cohorts import random_cohort
from .test_factorized import CASES

ORDERS = ("pca_then_residualize", "residualize_then_pca")


def _gapped(values: np.ndarray) -> int:
    """How many leading components end at a spectral gap (relative gap > 1e-3 to the next value)."""
    gaps = values[:-1] / values[1:] - 1 > 1e-3
    return int(np.flatnonzero(gaps)[-1]) + 1 if gaps.any() else 0


def _assert_same_basis(factorized, dense) -> None:
    np.testing.assert_allclose(factorized.mean, dense.mean, rtol=1e-6, atol=1e-9)
    assert factorized.n_components == dense.n_components
    np.testing.assert_allclose(factorized.explained_variance, dense.explained_variance, rtol=1e-6)
    np.testing.assert_allclose(factorized.explained_variance_ratio, dense.explained_variance_ratio, rtol=1e-6)
    top = _gapped(dense.explained_variance)
    assert top >= 3
    angles = scipy.linalg.subspace_angles(factorized.components[:top].T, dense.components[:top].T)
    assert angles.max() < 1e-6


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize(("ploidy", "combine"), CASES)
def test_fold_chain_equals_the_dense_chain(ploidy, combine, order):
    # 7 genes x 4 distinct haplotypes: rank <= 21 < 512 requested, so both cap k at the rank
    cohort = random_cohort(80, 7, 6, 4, ploidy, combine, seed=11)
    train, test = np.arange(64), np.arange(64, 80)
    factorized = fit_fold_model_factorized(cohort.matrix.rows(train), cohort.design[train], 512, order, seed=3)
    dense = fit_fold_model(cohort.dense[train], cohort.design[train], 512, order, seed=3)
    _assert_same_basis(factorized.basis, dense.basis)
    assert factorized.basis.cap_reason.startswith(f"rank {dense.basis.n_components}:")
    for rows in (train, test):
        np.testing.assert_allclose(project_factorized(factorized, cohort.matrix.rows(rows), cohort.design[rows]),
                                   dense.project(cohort.dense[rows], cohort.design[rows]), atol=1e-6)
    embedded = embed_fold_factorized(factorized.basis, order, cohort.matrix.rows(train), cohort.design[train],
                                     cohort.matrix.rows(test), cohort.design[test])
    for rows, scores in zip((train, test), embedded, strict=True):
        np.testing.assert_allclose(scores, dense.project(cohort.dense[rows], cohort.design[rows]), atol=1e-6)


@pytest.mark.parametrize("order", ORDERS)
def test_training_residuals_are_uncorrelated_with_every_covariate(order):
    cohort = random_cohort(90, 5, 6, 5, "mixed", "mean", seed=5)
    train = np.arange(70)
    model = fit_fold_model_factorized(cohort.matrix.rows(train), cohort.design[train], 10, order, seed=1)
    y = project_factorized(model, cohort.matrix.rows(train), cohort.design[train])
    covariates = cohort.design[train, 1:]
    r = np.corrcoef(np.column_stack([y, covariates]), rowvar=False)[: y.shape[1], y.shape[1]:]
    assert np.abs(r).max() < 1e-8
    np.testing.assert_allclose(y.std(axis=0), 1.0, atol=1e-10)


def test_the_basis_ignores_held_out_subjects():
    cohort = random_cohort(60, 4, 5, 5, "diploid", "mean", seed=8)
    train, test = np.arange(45), np.arange(45, 60)
    basis = fit_fold_model_factorized(cohort.matrix.rows(train), cohort.design[train], 6, seed=2).basis
    # held-out subjects replaced by copies of a training subject: the training fold's basis is unchanged
    swapped = cohort.matrix.rows(np.concatenate([train, np.zeros(len(test), np.int64)]))
    again = fit_fold_model_factorized(swapped.rows(train), cohort.design[train], 6, seed=2).basis
    np.testing.assert_array_equal(again.components, basis.components)
    everyone = fit_fold_model_factorized(cohort.matrix, cohort.design, 6, seed=2).basis
    np.testing.assert_allclose(basis.mean, cohort.dense[train].mean(axis=0), rtol=1e-12)
    assert not np.allclose(basis.mean, everyone.mean)


def test_randomized_iterations_reach_the_exact_top_components():
    # l = k + oversamples is well below min(n, d): only the power iterations make the top-k exact
    structure = np.random.default_rng(0).standard_normal((6, 24)) * np.array([10, 8, 6, 4, 3, 2.5])[:, None]
    cohort = random_cohort(300, 8, 24, 40, "diploid", "mean", seed=4, structure=structure)
    basis = fit_pca_factorized(cohort.matrix, 5, seed=1, spec=RandomizedSpec(oversamples=5, power_iterations=7))
    exact = fit_pca(cohort.dense, 5, seed=1)
    assert exact.solver == "full" and (basis.n_oversamples, basis.n_power_iterations) == (5, 7)
    _assert_same_basis(basis, exact)


def test_negative_settings_are_refused():
    with pytest.raises(ConfigError, match="must be >= 0"):
        RandomizedSpec(oversamples=-1)
