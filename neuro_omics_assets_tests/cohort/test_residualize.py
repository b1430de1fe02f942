from __future__ import annotations

import numpy as np
import pytest

from neuro_omics_assets.cohort.pca import PcaBasis
from neuro_omics_assets.cohort.residualize import apply, fit_fold_model, fit_residualizer, fold_embeddings
from neuro_omics_assets.errors import ConfigError, CovariateError

N, D = 80, 120
TRAIN, TEST = np.arange(0, 64), np.arange(64, 80)
ORDERS = ["pca_then_residualize", "residualize_then_pca"]


def cohort(seed: int = 0, n: int = N) -> tuple[np.ndarray, np.ndarray]:
    """(x float64 (n, D) with strong covariate effects, design float64 (n, 5): intercept, age,
    sex=M, batch=b2, PC1)."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(20, 80, n)
    design = np.column_stack(
        [np.ones(n), age, rng.integers(0, 2, n), rng.integers(0, 2, n), rng.normal(size=n)]
    )
    effects = rng.normal(size=(5, D)) * np.array([[0.0], [0.2], [3.0], [2.0], [4.0]])
    signal = rng.normal(size=(n, 4)) @ rng.normal(size=(4, D)) * 2
    return design @ effects + signal + rng.normal(size=(n, D)), design


def max_abs_correlation(scores: np.ndarray, design: np.ndarray) -> float:
    """Largest |Pearson r| between any score column and any non-intercept design column."""
    z = (scores - scores.mean(0)) / scores.std(0)
    c = (design[:, 1:] - design[:, 1:].mean(0)) / design[:, 1:].std(0)
    return float(np.abs(z.T @ c / len(z)).max())


def test_training_residuals_are_uncorrelated_with_every_covariate_and_z_scored():
    x, design = cohort()
    y = x[:, :10]
    residualizer = fit_residualizer(y, design)
    residuals = apply(residualizer, y, design)
    assert max_abs_correlation(y, design) > 0.3
    assert max_abs_correlation(residuals, design) < 1e-8
    np.testing.assert_allclose(residuals.mean(0), 0.0, atol=1e-10)
    np.testing.assert_allclose(residuals.std(0), 1.0, atol=1e-10)
    assert residualizer.rank == 5 and residualizer.n_train == N


def test_held_out_subjects_use_the_training_mean_and_scale():
    x, design = cohort()
    y = x[:, :4]
    residualizer = fit_residualizer(y[TRAIN], design[TRAIN])
    beta = np.linalg.lstsq(design[TRAIN], y[TRAIN], rcond=None)[0]
    train_residuals = y[TRAIN] - design[TRAIN] @ beta
    expected = (y[TEST] - design[TEST] @ beta - train_residuals.mean(0)) / train_residuals.std(0)
    np.testing.assert_allclose(apply(residualizer, y[TEST], design[TEST]), expected, atol=1e-10)


def test_more_design_columns_than_subjects_is_a_covariate_error():
    x, design = cohort()
    with pytest.raises(
        CovariateError, match="5 training subjects cannot be residualized on 5 design columns"
    ):
        fit_residualizer(x[:5, :3], design[:5])


def test_a_column_the_covariates_fully_explain_cannot_be_z_scored():
    _, design = cohort()
    y = np.column_stack([design[:, 1] * 2.0 + 1.0, np.arange(N, dtype=float) ** 2])
    with pytest.raises(ConfigError, match=r"columns \[0\] of Y are fully explained"):
        fit_residualizer(y, design)


@pytest.mark.parametrize("order", ORDERS)
def test_fold_scores_on_training_subjects_are_uncorrelated_with_covariates(order):
    x, design = cohort()
    result = fold_embeddings(x, design, TRAIN, TEST, n_components=10, order=order)
    assert result.order == order and result.basis.n_components == 10
    assert result.train_scores.shape == (64, 10) and result.test_scores.shape == (16, 10)
    assert max_abs_correlation(result.train_scores, design[TRAIN]) < 1e-8
    np.testing.assert_allclose(result.train_scores.std(0), 1.0, atol=1e-10)
    np.testing.assert_allclose(result.test_scores, result.model.project(x[TEST], design[TEST]), atol=0)


@pytest.mark.parametrize("order", ORDERS)
def test_held_out_subjects_do_not_leak_into_the_fit(order):
    x, design = cohort()
    first = fold_embeddings(x, design, TRAIN, TEST, n_components=10, order=order)
    changed_x, changed_design = x.copy(), design.copy()
    rng = np.random.default_rng(9)
    changed_x[TEST] = rng.normal(scale=50.0, size=(len(TEST), D))
    changed_design[TEST, 1:] = rng.normal(size=(len(TEST), 4))
    second = fold_embeddings(changed_x, changed_design, TRAIN, TEST, n_components=10, order=order)
    np.testing.assert_array_equal(second.basis.components, first.basis.components)
    np.testing.assert_array_equal(second.basis.mean, first.basis.mean)
    np.testing.assert_array_equal(
        second.model.residualizer.coefficients, first.model.residualizer.coefficients
    )
    np.testing.assert_array_equal(second.train_scores, first.train_scores)
    assert not np.allclose(second.test_scores, first.test_scores)


def test_residualize_then_pca_caps_components_at_n_minus_design_rank():
    x, design = cohort()
    result = fold_embeddings(
        x, design, np.arange(20), np.arange(20, 30), n_components=512, order="residualize_then_pca"
    )
    assert result.basis.n_components == 15  # 20 training subjects - rank 5 of the design
    assert result.basis.cap_reason.startswith("n_train - 5 = 15")
    assert max_abs_correlation(result.train_scores, design[:20]) < 1e-8


def test_pca_then_residualize_caps_components_at_n_minus_one():
    x, design = cohort()
    result = fold_embeddings(x, design, np.arange(20), np.arange(20, 30), n_components=512)
    assert result.basis.n_components == 19
    assert result.basis.cap_reason.startswith("n_train - 1 = 19")


@pytest.mark.parametrize("order", ORDERS)
def test_the_fitted_chain_removes_the_covariate_effect_on_held_out_subjects_too(order):
    x, design = cohort(n=600)
    train, test = np.arange(400), np.arange(400, 600)
    result = fold_embeddings(x, design, train, test, n_components=5, order=order)
    assert max_abs_correlation(x[test], design[test]) > 0.6
    # not exactly 0 out of sample, but at the level of chance for 200 subjects
    assert max_abs_correlation(result.test_scores, design[test]) < 0.25


@pytest.mark.parametrize(
    ("train", "test", "order", "message"),
    [
        (np.arange(10), np.arange(5, 15), ORDERS[0], "5 subjects are in both train_idx and test_idx"),
        (np.arange(10), np.array([80]), ORDERS[0], r"outside \[0, 80\)"),
        (np.array([], dtype=int), np.arange(5), ORDERS[0], "train_idx is empty"),
        (np.arange(10), np.arange(10, 12), "pca_only", "order is 'pca_only'"),
    ],
)
def test_bad_folds_are_config_errors(train, test, order, message):
    x, design = cohort()
    with pytest.raises(ConfigError, match=message):
        fold_embeddings(x, design, train, test, n_components=3, order=order)


@pytest.mark.parametrize("order", ORDERS)
def test_a_stored_basis_refits_the_same_chain(order):
    x, design = cohort()
    fitted = fit_fold_model(x[TRAIN], design[TRAIN], n_components=6, order=order)
    # what the warehouse keeps: float32 mean and components
    stored = PcaBasis(**{**vars(fitted.basis), "mean": fitted.basis.mean.astype(np.float32),
                         "components": fitted.basis.components.astype(np.float32)})
    refit = fit_fold_model(x[TRAIN], design[TRAIN], order=order, basis=stored)
    assert refit.basis is stored
    np.testing.assert_allclose(refit.project(x[TEST], design[TEST]), fitted.project(x[TEST], design[TEST]),
                               atol=1e-4)
    assert max_abs_correlation(refit.project(x[TRAIN], design[TRAIN]), design[TRAIN]) < 1e-8


def test_a_basis_of_other_rows_is_refused():
    x, design = cohort()
    basis = fit_fold_model(x[:40], design[:40], n_components=3).basis
    with pytest.raises(ConfigError, match="fitted on 40 subjects x 120 features but the training rows are 64 x 120"):
        fit_fold_model(x[TRAIN], design[TRAIN], basis=basis)
