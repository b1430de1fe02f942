from __future__ import annotations

import numpy as np
import pytest
from statsmodels.multivariate.cancorr import CanCorr

from neuro_omics_assets.errors import ConfigError
from neuro_omics_assets.evaluation.cca import canonical_variates, column_correlations, fit_cca
from neuro_omics_assets.evaluation.permutation import permutation_cca


def test_first_mode_matches_statsmodels_cancorr():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(150, 5))
    y = rng.normal(size=(150, 4)) + x[:, :4] @ np.diag([0.9, 0.4, 0.0, 0.0])
    fit = fit_cca(x, y)
    reference = CanCorr(y, x)  # independent implementation (QR + SVD in statsmodels)
    np.testing.assert_allclose(fit.correlations, reference.cancorr, rtol=1e-8)
    u, v = canonical_variates(fit, x, y)
    # the in-sample variates have unit variance and reproduce the canonical correlations
    np.testing.assert_allclose(u.std(axis=0, ddof=1), 1.0, rtol=1e-10)
    np.testing.assert_allclose(column_correlations(u, v), fit.correlations, rtol=1e-10)
    np.testing.assert_allclose(u.T @ u / 149, np.eye(4), atol=1e-10)  # modes are uncorrelated


def test_held_out_subjects_leave_the_fit_unchanged():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(120, 4)), rng.normal(size=(120, 3))
    fit = fit_cca(x[:100], y[:100])
    u1, v1 = canonical_variates(fit, x[100:], y[100:])
    u2, _ = canonical_variates(fit, x[100:], rng.normal(size=(20, 3)))
    np.testing.assert_array_equal(u1, u2)  # the x side of held-out subjects never sees their y
    assert v1.shape == (20, 3)


@pytest.mark.parametrize(
    "shape_x, shape_y, message",
    [
        ((20, 12), (20, 8), "cannot fit a CCA of 12 \\+ 8"),  # more components than subjects allow
        ((20, 3), (20, 0), "at least one column"),
    ],
)
def test_too_many_components_is_one_line_error(shape_x, shape_y, message):
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match=message) as error:
        fit_cca(rng.normal(size=shape_x), rng.normal(size=shape_y))
    assert "\n" not in str(error.value)


def test_collinear_columns_are_refused():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3))
    x = np.column_stack([x, x[:, 0] + x[:, 1]])
    with pytest.raises(ConfigError, match="span only 3 directions"):
        fit_cca(x, rng.normal(size=(50, 2)))


def test_huh_jhun_reduced_correlations_match_statsmodels_on_ols_residuals():
    rng = np.random.default_rng(5)
    z = rng.normal(size=(90, 3))
    x = rng.normal(size=(90, 4)) + z @ rng.normal(size=(3, 4))
    y = rng.normal(size=(90, 3)) + z @ rng.normal(size=(3, 3)) + 0.5 * x[:, :3]
    design = np.column_stack([np.ones(90), z])
    residual = np.eye(90) - design @ np.linalg.pinv(design)
    reference = CanCorr(residual @ y, residual @ x).cancorr
    np.testing.assert_allclose(permutation_cca(x, y, z, n_permutations=10).correlations, reference, rtol=1e-8)
