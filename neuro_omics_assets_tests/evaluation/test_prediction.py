from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import RidgeCV
from sklearn.metrics import r2_score

from neuro_omics_assets.errors import ConfigError
from neuro_omics_assets.evaluation.prediction import ALPHAS, predict_phenotype

from .synthetic import make_folds


def subjects(folds) -> list[str]:
    return [*folds[0].train_ids, *folds[0].test_ids]


def planted_phenotype(folds, weight: float, seed: int) -> pd.Series:
    """y = weight * gene component 1 (as stored per subject in fold 0) + noise."""
    gene = np.vstack([folds[0].gene_train, folds[0].gene_test])
    rng = np.random.default_rng(seed)
    return pd.Series(weight * gene[:, 0] + rng.normal(size=len(gene)), index=subjects(folds), name="score")


def test_planted_continuous_phenotype_is_predicted_and_matches_sklearn():
    folds = make_folds(n=300, seed=4)
    phenotype = planted_phenotype(folds, 1.0, seed=0)
    result = predict_phenotype(folds, phenotype, "continuous", n_permutations=200, seed=1)
    assert result.metric == "r2" and 0.25 < result.mean_score < 0.65  # population R² is 0.5
    assert result.p_value < 0.01
    fold = folds[2]  # the observed column reproduces a plain scikit-learn fit of that fold
    y_train, y_test = phenotype.loc[fold.train_ids].to_numpy(), phenotype.loc[fold.test_ids].to_numpy()
    beta = np.linalg.lstsq(fold.design_train, y_train, rcond=None)[0]
    model = RidgeCV(alphas=ALPHAS).fit(fold.gene_train, y_train - fold.design_train @ beta)
    expected = r2_score(y_test - fold.design_test @ beta, model.predict(fold.gene_test))
    assert result.scores[2] == pytest.approx(expected, abs=1e-10)
    assert result.penalties[2] == model.alpha_


def test_null_phenotype_has_no_skill_and_a_large_p():
    folds = make_folds(n=200, seed=6)
    phenotype = pd.Series(np.random.default_rng(2).normal(size=200), index=subjects(folds), name="noise")
    result = predict_phenotype(folds, phenotype, "continuous", n_permutations=100, seed=3)
    assert result.mean_score < 0.05 and result.p_value > 0.05


def test_binary_phenotype_auc():
    folds = make_folds(n=200, seed=7)
    gene = np.vstack([folds[0].gene_train, folds[0].gene_test])
    labels = (gene[:, 0] + np.random.default_rng(0).normal(size=200) * 0.5 > 0).astype(float)
    result = predict_phenotype(folds, pd.Series(labels, index=subjects(folds), name="dx"), "binary",
                               n_permutations=3, seed=0)
    assert result.metric == "auc" and result.mean_score > 0.8
    assert set(result.predictions.columns) == {"fold", "subject_id", "y_true", "y_pred"}


def test_phenotype_missing_for_subjects_is_refused():
    folds = make_folds(n=100, seed=1)
    partial = pd.Series(1.0, index=subjects(folds)[:90], name="y")
    with pytest.raises(ConfigError, match="no value for 10 subjects"):
        predict_phenotype(folds, partial, "continuous", n_permutations=2)
