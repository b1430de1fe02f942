"""Schemas of the evaluation tables (brain features per fold, gene–brain CCA, prediction, leaderboard).

Registered into ``schemas.TABLES`` when the warehouse package is imported. The encoder-keyed tables are
partitioned by encoder name (``gene_brain_cca/dnabert2.parquet``): evaluating a second encoder adds a
partition and leaves the first one's untouched; each view unions all encoders. ``brain_features``
does not depend on the encoder and is unpartitioned.

* ``fold`` is the cross-validation fold (``subject_folds.test_fold``); ``split`` is 'train' or 'test'.
* ``mode`` is the 1-based canonical mode; ``p_value`` the step-down permutation p of that mode on the
  fold's training subjects, ``p_fwer`` its family-wise version (cumulative max over modes 1..mode).
"""

from __future__ import annotations

import pyarrow as pa

from neuro_omics_assets.warehouse.schemas import TABLES, TableSpec


def _fields(*pairs: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(name, kind, nullable=False) for name, kind in pairs])


def brain_features_schema() -> pa.Schema:
    """One row per (subject, fold): brain features with covariates removed (and PCA) fitted on training subjects."""
    return _fields(("subject_id", pa.string()), ("fold", pa.int32()), ("split", pa.string()),
                   ("vector", pa.list_(pa.float64())))


def gene_brain_cca_schema() -> pa.Schema:
    """One row per (encoder, fold, mode): in-sample and held-out r, the permutation statistic and p-values."""
    return _fields(
        ("encoder", pa.string()), ("fold", pa.int32()), ("mode", pa.int32()), ("n_train", pa.int64()),
        ("n_test", pa.int64()), ("n_gene_components", pa.int32()), ("n_brain_components", pa.int32()),
        ("r_train", pa.float64()), ("r_test", pa.float64()), ("statistic", pa.string()),
        ("observed_statistic", pa.float64()), ("p_value", pa.float64()), ("p_fwer", pa.float64()),
        ("n_permutations", pa.int64()), ("seed", pa.int64()),
    )


def gene_brain_cca_heldout_schema() -> pa.Schema:
    """One row per (encoder, mode): mean held-out r over folds, its permutation p per mode and family-wise
    over modes (``p_fwer``, max-statistic)."""
    return _fields(("encoder", pa.string()), ("mode", pa.int32()), ("mean_r_test", pa.float64()),
                   ("p_value", pa.float64()), ("p_fwer", pa.float64()), ("n_permutations", pa.int64()))


def gene_brain_cca_variates_schema() -> pa.Schema:
    """One row per (encoder, test subject, fold, mode): the held-out canonical variates u (genes), v (brain)."""
    return _fields(("encoder", pa.string()), ("subject_id", pa.string()), ("fold", pa.int32()),
                   ("mode", pa.int32()), ("u", pa.float64()), ("v", pa.float64()))


def phenotype_prediction_schema() -> pa.Schema:
    """One row per (encoder, phenotype, fold): held-out score (r2 or auc), chosen penalty, the CV p-value."""
    return _fields(
        ("encoder", pa.string()), ("phenotype", pa.string()), ("kind", pa.string()), ("metric", pa.string()),
        ("fold", pa.int32()), ("score", pa.float64()), ("penalty", pa.float64()), ("n_train", pa.int64()),
        ("n_test", pa.int64()), ("mean_score", pa.float64()), ("p_value", pa.float64()),
        ("n_permutations", pa.int64()),
    )


def phenotype_predictions_schema() -> pa.Schema:
    """One row per (encoder, phenotype, test subject): the (covariate-residualized) truth and the prediction."""
    return _fields(("encoder", pa.string()), ("phenotype", pa.string()), ("metric", pa.string()),
                   ("subject_id", pa.string()), ("fold", pa.int32()), ("y_true", pa.float64()),
                   ("y_pred", pa.float64()))


def encoder_leaderboard_schema() -> pa.Schema:
    """One row per (metric, encoder): mean over folds, bootstrap CI, fold-paired differences vs the reference."""
    return _fields(
        ("metric", pa.string()), ("encoder", pa.string()), ("mean", pa.float64()), ("ci_low", pa.float64()),
        ("ci_high", pa.float64()), ("fold_values", pa.list_(pa.float64())), ("reference_encoder", pa.string()),
        ("diff_vs_reference", pa.float64()), ("diff_ci_low", pa.float64()), ("diff_ci_high", pa.float64()),
        ("fold_differences", pa.list_(pa.float64())), ("n_boot", pa.int64()),
    )


EVALUATION_TABLES = (
    TableSpec("brain_features", brain_features_schema),
    TableSpec("gene_brain_cca", gene_brain_cca_schema),
    TableSpec("gene_brain_cca_heldout", gene_brain_cca_heldout_schema),
    TableSpec("gene_brain_cca_variates", gene_brain_cca_variates_schema),
    TableSpec("phenotype_prediction", phenotype_prediction_schema),
    TableSpec("phenotype_predictions", phenotype_predictions_schema),
    TableSpec("encoder_leaderboard", encoder_leaderboard_schema),
)
TABLES.update({spec.name: spec for spec in EVALUATION_TABLES})
