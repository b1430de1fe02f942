from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuro_omics_assets.errors import ConfigError
from neuro_omics_assets.evaluation.confounds import (
    exclude_extrapolated,
    gene_components,
    heldout_leverage,
    prepare_brain,
)
from neuro_omics_assets.evaluation.gene_brain import CcaSettings, fold_cca
from neuro_omics_assets.evaluation.prediction import predict_phenotype

from .synthetic import make_folds


def test_covariates_removed_on_training_subjects_only():
    rng = np.random.default_rng(0)
    design = np.column_stack([np.ones(100), rng.normal(size=100)])
    brain = rng.normal(size=(100, 5)) + 3 * design[:, 1:2]
    prepared = prepare_brain(brain[:80], brain[80:], design[:80], design[80:], n_components=3)
    np.testing.assert_allclose(design[:80].T @ prepared.train, 0.0, atol=1e-9)  # orthogonal to the design
    assert prepared.train.shape == (80, 3) and prepared.test.shape == (20, 3)


def test_no_leakage_changing_held_out_brain_features_changes_no_training_quantity():
    fold = make_folds(n=200, seed=2, brain_components=4)[0]
    rng = np.random.default_rng(9)
    changed_brain = rng.normal(size=fold.brain_test.shape) * 50
    settings = CcaSettings(n_permutations=50)
    before = fold_cca(fold, settings)
    after = fold_cca(fold.__class__(**{**fold.__dict__, "brain_test": changed_brain}), settings)
    for name in ("x_mean", "y_mean", "x_weights", "y_weights", "correlations"):
        np.testing.assert_array_equal(getattr(before.fit, name), getattr(after.fit, name))
    np.testing.assert_array_equal(before.test.null, after.test.null)
    np.testing.assert_array_equal(before.u_test, after.u_test)
    assert not np.array_equal(before.v_test, after.v_test)


def test_no_leakage_in_the_brain_chain():
    rng = np.random.default_rng(1)
    design = np.column_stack([np.ones(90), rng.normal(size=90)])
    brain = rng.normal(size=(90, 6))
    a = prepare_brain(brain[:70], brain[70:], design[:70], design[70:], n_components=3)
    b = prepare_brain(brain[:70], brain[70:] * 10 + 4, design[:70], design[70:], n_components=3)
    np.testing.assert_array_equal(a.residualizer.coefficients, b.residualizer.coefficients)
    np.testing.assert_array_equal(a.pca.components, b.pca.components)
    np.testing.assert_array_equal(a.train, b.train)


def test_no_leakage_in_prediction_penalties():
    folds = make_folds(n=150, seed=3)
    phenotype = pd.Series(np.random.default_rng(0).normal(size=150), index=[*folds[0].train_ids, *folds[0].test_ids], name="y")
    first = predict_phenotype(folds, phenotype, "continuous", n_permutations=5)
    changed = phenotype.copy()
    changed.loc[folds[0].test_ids] = 1e3  # only fold 0's test subjects change
    second = predict_phenotype(folds[:1], changed, "continuous", n_permutations=5)
    assert first.penalties[0] == second.penalties[0]


@pytest.mark.parametrize(
    "request_components, message",
    [(9, "brain_components=9 but the 6 brain features"), (0, "positive integer")],  # more than features; none
)
def test_more_brain_components_than_allowed_is_one_line_error(request_components, message):
    rng = np.random.default_rng(0)
    design = np.ones((30, 1))
    with pytest.raises(ConfigError, match=message) as error:
        prepare_brain(rng.normal(size=(20, 6)), rng.normal(size=(10, 6)), design[:20], design[20:], request_components)
    assert "\n" not in str(error.value)


def test_more_gene_components_than_stored_is_one_line_error():
    with pytest.raises(ConfigError, match="n_gene_components=12 but fold 3's residualized embeddings have 10"):
        gene_components(np.zeros((5, 10)), 12, fold=3)
    assert gene_components(np.arange(20.0).reshape(2, 10), 3, fold=0).shape == (2, 3)


def test_test_subjects_outside_the_training_covariates_are_excluded_and_listed():
    fold = make_folds(n=100, seed=8)[0]
    design_test = fold.design_test.copy()
    design_test[0, 1] = 60.0  # one test subject's covariate far beyond every training value
    shifted = fold.__class__(**{**fold.__dict__, "design_test": design_test})
    leverage = heldout_leverage(shifted)
    reference = design_test @ np.linalg.solve(shifted.design_train.T @ shifted.design_train, design_test.T)
    np.testing.assert_allclose(leverage, np.diag(reference), rtol=1e-8)
    assert leverage[0] > 1 > leverage[1:].max()
    kept, excluded = exclude_extrapolated([shifted], max_leverage=1.0)
    assert excluded == {0: [shifted.test_ids[0]]}
    assert kept[0].test_ids == shifted.test_ids[1:] and kept[0].train_ids == shifted.train_ids
    np.testing.assert_array_equal(kept[0].gene_train, shifted.gene_train)
    assert exclude_extrapolated([shifted], None) == ([shifted], {})
