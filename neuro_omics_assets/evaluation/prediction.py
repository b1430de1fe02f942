"""Phenotype prediction from gene components: held-out R² (continuous) or AUC (binary) per fold.

* **Continuous** -> ridge regression. The covariates are regressed out of the phenotype by OLS fitted
  on the training subjects (applied unchanged to the test subjects); the gene components are already
  residualized within the training fold by the cohort assets. The penalty is chosen inside the training
  fold by efficient leave-one-out CV (scikit-learn ``RidgeCV``, generalized CV over ``ALPHAS``), so the
  test subjects never inform it. Score: held-out R² = 1 - SS_res / SS_tot around the test mean.
* **Binary** -> L2 logistic regression; C chosen by inner stratified 3-fold CV on the training subjects only
  (``_inner_c`` over ``CS``, scoring ROC AUC); the phenotype is a label and is not residualized.
  Score: held-out ROC AUC.

Permutation p-value of the mean score over folds: the phenotype is permuted across subjects (within
exchangeability blocks) and the whole procedure (confound removal, penalty selection, fit, scoring)
is re-run. For ridge every permutation is one more target column of the same ``RidgeCV`` fit
(``alpha_per_target=True``: each column gets its own penalty by the same inner CV), so the null costs
one multi-target fit per fold; logistic regression is refitted per permutation.
p = (1 + #{null >= observed}) / (1 + J).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from neuro_omics_assets.errors import ConfigError
from neuro_omics_assets.evaluation.confounds import FoldData
from neuro_omics_assets.evaluation.permutation import block_codes, block_permutations, permutation_p_value

log = logging.getLogger(__name__)

ALPHAS = np.logspace(-2, 6, 17)  # ridge penalties from near-OLS to near-null, half a decade apart
CS = np.logspace(-4, 4, 9)  # inverse logistic penalties, one decade apart
_TARGET_BATCH = 256  # permuted phenotype columns per RidgeCV fit (bounds memory)


@dataclass(frozen=True, eq=False)
class PhenotypePrediction:
    """One phenotype over all folds.

    scores: float64 (folds,) held-out R² or AUC; penalties: float64 (folds,) chosen alpha (ridge) or C
    (logistic); null: float64 (J,) mean score under permutation; predictions: one row per test subject
    (fold, subject_id, y_true, y_pred).
    """

    phenotype: str
    kind: str
    metric: str
    folds: list[int]
    scores: np.ndarray
    penalties: np.ndarray
    null: np.ndarray
    p_value: float
    predictions: pd.DataFrame

    @property
    def mean_score(self) -> float:
        return float(self.scores.mean())


def predict_phenotype(
    folds: list[FoldData], phenotype: pd.Series, kind: str, n_permutations: int = 1000, seed: int = 42,
) -> PhenotypePrediction:
    """Cross-validated prediction of ``phenotype`` (float, indexed by subject id; binary coded 0/1)."""
    if kind not in ("continuous", "binary"):
        raise ConfigError(f"phenotype kind {kind!r}; declare continuous or binary.")
    subjects = [*folds[0].train_ids, *folds[0].test_ids]
    missing = [s for s in subjects if s not in phenotype.index]
    if missing:
        raise ConfigError(f"phenotype {phenotype.name!r} has no value for {len(missing)} subjects "
                          f"({', '.join(missing[:10])}); reconcile it with the cohort first.")
    blocks = _subject_blocks(folds)
    rng = np.random.default_rng(seed)
    values = phenotype.loc[subjects].to_numpy(np.float64)
    perms = block_permutations(block_codes(blocks, len(subjects)), n_permutations, rng)
    targets = pd.DataFrame(np.column_stack([values, values[perms.T]]), index=subjects)  # (n, 1 + J)
    fold_fn = _ridge_fold if kind == "continuous" else _logistic_fold
    scores, penalties, tables = [], [], []
    for data in folds:
        score, penalty, y_true, y_pred = fold_fn(data, targets, seed)
        scores.append(score)
        penalties.append(penalty)
        tables.append(pd.DataFrame({"fold": data.fold, "subject_id": data.test_ids, "y_true": y_true, "y_pred": y_pred}))
    scores_all = np.stack(scores)  # (folds, 1 + J)
    mean = np.nanmean(scores_all, axis=0)  # NaN only where a permuted labelling left a fold one class
    p = permutation_p_value(mean[1:], mean[0])
    metric = "r2" if kind == "continuous" else "auc"
    log.info("%s: mean held-out %s %.3f, p %.4f", phenotype.name, metric, mean[0], p)
    return PhenotypePrediction(str(phenotype.name), kind, metric, [d.fold for d in folds], scores_all[:, 0],
                               np.asarray(penalties), mean[1:], float(p), pd.concat(tables, ignore_index=True))


def score_table(result: PhenotypePrediction, folds: list[FoldData]) -> pd.DataFrame:
    """One row per fold of ``result`` (predicted on ``folds``): sizes, score, penalty, the CV mean and p."""
    return pd.DataFrame({
        "phenotype": result.phenotype, "kind": result.kind, "metric": result.metric, "fold": result.folds,
        "score": result.scores, "penalty": result.penalties, "n_train": [len(f.train_ids) for f in folds],
        "n_test": [len(f.test_ids) for f in folds], "mean_score": result.mean_score, "p_value": result.p_value,
        "n_permutations": len(result.null),
    })


def _subject_blocks(folds: list[FoldData]) -> np.ndarray | None:
    """str (n,) blocks of fold 0's training then test subjects (the order ``predict_phenotype`` uses), or None."""
    first = folds[0]
    if first.blocks_train is None:
        return None
    return np.concatenate([first.blocks_train, first.blocks_test]).astype(str)


def _ridge_fold(data: FoldData, targets: pd.DataFrame, seed: int) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """(R² (1 + J,), observed alpha, observed y_test residual, its prediction) of one fold."""
    y_train, y_test = targets.loc[data.train_ids].to_numpy(), targets.loc[data.test_ids].to_numpy()
    coefficients = np.linalg.lstsq(data.design_train, y_train, rcond=None)[0]
    y_train, y_test = y_train - data.design_train @ coefficients, y_test - data.design_test @ coefficients
    predicted, alphas = np.empty_like(y_test), np.empty(y_test.shape[1])
    for start in range(0, y_train.shape[1], _TARGET_BATCH):
        cols = slice(start, start + _TARGET_BATCH)
        model = RidgeCV(alphas=ALPHAS, alpha_per_target=True).fit(data.gene_train, y_train[:, cols])
        predicted[:, cols] = model.predict(data.gene_test).reshape(len(y_test), -1)
        alphas[cols] = model.alpha_
    total = ((y_test - y_test.mean(axis=0)) ** 2).sum(axis=0)
    r2 = 1.0 - ((y_test - predicted) ** 2).sum(axis=0) / total
    return r2, float(alphas[0]), y_test[:, 0], predicted[:, 0]


def _logistic_fold(data: FoldData, targets: pd.DataFrame, seed: int) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """(AUC (1 + J,), observed C, observed y_test labels, predicted probabilities) of one fold."""
    y_train, y_test = targets.loc[data.train_ids].to_numpy(), targets.loc[data.test_ids].to_numpy()
    if len(np.unique(y_test[:, 0])) < 2 or len(np.unique(y_train[:, 0])) < 2:
        raise ConfigError(f"fold {data.fold} lacks one of the two classes on its training or test subjects; "
                          f"stratify the folds by this phenotype (label column) or use fewer folds.")
    aucs, first_c, first_prob = np.empty(y_train.shape[1]), 0.0, None
    for column in range(y_train.shape[1]):
        c = _inner_c(data.gene_train, y_train[:, column], seed)
        model = _logistic(c).fit(data.gene_train, y_train[:, column])
        prob = model.predict_proba(data.gene_test)[:, 1]
        # a permuted labelling can leave a small test fold with one class: its AUC is undefined (NaN)
        aucs[column] = roc_auc_score(y_test[:, column], prob) if len(np.unique(y_test[:, column])) == 2 else np.nan
        if column == 0:
            first_c, first_prob = c, prob
    return aucs, first_c, y_test[:, 0], first_prob


def _inner_c(x: np.ndarray, y: np.ndarray, seed: int) -> float:
    """The C of ``CS`` with the best mean AUC over inner stratified 3-fold CV of the training rows (the
    smallest such C, i.e. the strongest penalty, on ties)."""
    splits = list(StratifiedKFold(3, shuffle=True, random_state=seed).split(x, y))
    mean_auc = [
        np.mean([roc_auc_score(y[test], _logistic(c).fit(x[train], y[train]).decision_function(x[test]))
                 for train, test in splits])
        for c in CS
    ]
    return float(CS[int(np.argmax(mean_auc))])


def _logistic(c: float) -> LogisticRegression:
    # newton-cholesky: with tens of gene components Newton steps converge in a few iterations, where
    # lbfgs needs hundreds of line searches per fit (and the inner CV fits 27 models per column)
    return LogisticRegression(C=c, solver="newton-cholesky", max_iter=200)
