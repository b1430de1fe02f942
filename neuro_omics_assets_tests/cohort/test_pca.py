from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from neuro_omics_assets.cohort.pca import (
    choose_solver,
    effective_components,
    explained_variance_table,
    fit_pca,
    scree_plot,
    transform,
)
from neuro_omics_assets.errors import ConfigError


def low_rank(n: int, d: int, rank: int = 5, seed: int = 0) -> np.ndarray:
    """float64 (n, d): a rank-``rank`` signal with decreasing scales plus small noise."""
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(n, rank)) * np.linspace(10, 2, rank)
    return scores @ rng.normal(size=(rank, d)) + 0.1 * rng.normal(size=(n, d)) + 3.0


@pytest.mark.parametrize(
    ("n", "d", "requested", "k", "reason"),
    [
        (30, 200, 512, 29, "n_train - 1 = 29"),  # centering spends one dof: 30 rows span 29 directions
        (100, 20, 512, 20, "n_features = 20"),  # the feature count binds
        (100, 20, 5, 5, None),  # within both limits: as requested
        (10, 10, 9, 9, None),  # exactly n - 1: no cap
    ],
)
def test_component_count_follows_the_documented_rule(n, d, requested, k, reason):
    basis = fit_pca(low_rank(n, d), n_components=requested)
    assert basis.n_components == k and basis.components.shape == (k, d)
    assert basis.n_components_requested == requested
    assert basis.cap_reason == reason if reason is None else basis.cap_reason.startswith(reason)


def test_residualized_rows_cap_at_n_minus_design_rank():
    assert effective_components(512, 40, 1000, dof_used=6) == (
        34,
        "n_train - 6 = 34: 40 training subjects, 6 dof spent on centering and residualization "
        "(design rank 6)",
    )


@pytest.mark.parametrize(
    ("x", "n_components", "message"),
    [
        (np.ones((1, 5)), 3, "cannot fit any component: 1 training subjects leave 0"),  # one row: no variance
        (np.ones((5, 5)), 0, "n_components is 0"),
        (np.full((4, 3), np.nan), 2, "12 NaN/inf values"),
    ],
)
def test_impossible_fits_are_config_errors(x, n_components, message):
    with pytest.raises(ConfigError, match=message):
        fit_pca(x, n_components)


def test_full_solver_matches_numpy_svd():
    x = low_rank(40, 60)
    basis = fit_pca(x, n_components=6)
    assert basis.solver == "full"
    centered = x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(centered, full_matrices=False)
    np.testing.assert_allclose(basis.explained_variance, s[:6] ** 2 / 39, rtol=1e-10)
    np.testing.assert_allclose(basis.explained_variance_ratio, s[:6] ** 2 / (s**2).sum(), rtol=1e-10)
    np.testing.assert_allclose(np.abs(basis.components @ vt[:6].T), np.eye(6), atol=1e-8)


def test_signs_are_fixed_and_refits_are_identical():
    x = low_rank(50, 80)
    basis = fit_pca(x, n_components=5)
    pivots = basis.components[np.arange(5), np.abs(basis.components).argmax(axis=1)]
    assert (pivots > 0).all()
    np.testing.assert_array_equal(fit_pca(x, n_components=5).components, basis.components)
    # -x spans the same directions: the sign convention returns the same components
    np.testing.assert_allclose(fit_pca(-x, n_components=5).components, basis.components, atol=1e-10)


def test_randomized_solver_for_large_matrices_agrees_on_the_leading_components():
    assert choose_solver(600, 1000, 50) == "randomized"
    assert choose_solver(600, 1000, 590) == "full"  # k close to min(n, d)
    assert choose_solver(100, 300, 10) == "full"  # small matrix
    x = low_rank(120, 600, rank=5, seed=1)
    fast = fit_pca(x, n_components=10, seed=42)
    assert fast.solver == "randomized"
    exact = fit_pca(x, n_components=119)
    assert exact.solver == "full"
    np.testing.assert_allclose(fast.components[:5], exact.components[:5], atol=1e-6)
    np.testing.assert_array_equal(fit_pca(x, n_components=10, seed=42).components, fast.components)


def test_training_scores_are_centred_and_uncorrelated_with_the_explained_variances():
    x = low_rank(40, 30)
    basis = fit_pca(x, n_components=8)
    scores = transform(basis, x)
    assert scores.shape == (40, 8) and scores.dtype == np.float64
    np.testing.assert_allclose(scores.mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(np.cov(scores, rowvar=False), np.diag(basis.explained_variance), atol=1e-8)


def test_transform_rejects_a_different_feature_count():
    basis = fit_pca(low_rank(20, 10), n_components=3)
    with pytest.raises(ConfigError, match="x has 11 features but the PCA basis was fitted on 10"):
        transform(basis, np.zeros((2, 11)))


def test_explained_variance_table_and_scree_plot():
    basis = fit_pca(low_rank(12, 30), n_components=512)  # capped at 11: all of the variance
    table = explained_variance_table(basis)
    assert table["component"].tolist() == list(range(1, 12))
    assert table["cumulative_ratio"].iloc[-1] == pytest.approx(1.0, abs=1e-12)
    assert (np.diff(table["explained_variance"]) <= 0).all()
    figure = scree_plot(basis)
    assert isinstance(figure, Figure)
    (axes,) = figure.axes
    assert len(axes.patches) == 11
    assert axes.get_title() == "PCA scree: 11 of 512 components, full SVD"


def test_repeated_rows_cap_components_at_the_numerical_rank():
    distinct = low_rank(12, 40, rank=8) + 1000.0  # a large offset, like embeddings that differ by a few SNPs
    x = np.repeat(distinct, 5, axis=0)  # 60 subjects sharing 12 genotypes
    basis = fit_pca(x, n_components=512)
    assert basis.n_components == 11  # 12 distinct rows span 11 directions once centred, not 59
    assert basis.cap_reason == "rank 11: the 60 centred training rows span only 11 directions beyond round-off"
    assert basis.explained_variance.min() > 1e-6 * basis.explained_variance.max()
    assert basis.explained_variance_ratio.sum() == pytest.approx(1.0)


def test_identical_rows_have_nothing_to_fit():
    with pytest.raises(ConfigError, match="the 6 training rows do not differ beyond round-off"):
        fit_pca(np.tile(np.linspace(0.0, 3.0, 8), (6, 1)) + 1e3, n_components=3)


def test_float32_rows_resolve_only_float32_differences():
    # per-gene vectors averaged over two haplotypes, rounded to float32: exact sums in float64 would
    # span 3 directions; float32 rounding adds tiny independent noise to every row
    rng = np.random.default_rng(1)
    genes = rng.normal(size=(2, 4, 16)) + 5.0  # 2 genes x 4 haplotype vectors x H=16
    pairs = rng.integers(0, 4, size=(50, 2, 2))  # subject x gene x haplotype
    rows = np.concatenate([genes[g][pairs[:, g]].mean(axis=1) for g in range(2)], axis=1).astype(np.float32)
    assert fit_pca(rows.astype(np.float64), 512).n_components > 6  # float64 eps: the rounding counts as signal
    basis = fit_pca(rows, 512)
    assert basis.n_components == 6  # 2 genes x (4 - 1) directions
    assert basis.cap_reason.startswith("rank 6:")
