"""Group ``evaluation``: brain features per fold, gene–brain CCA with permutation inference, phenotype
prediction, and the encoder leaderboard (domain code in ``neuro_omics_assets.evaluation``).

``gene_brain_cca`` and ``phenotype_prediction`` exist per encoder (``evaluation_assets``); their results are
tables with an ``encoder`` column, written as one partition per encoder (``gene_brain_cca/<encoder>.parquet``),
so ``encoder_leaderboard`` compares every encoder present on the same folds.
"""

from collections.abc import Sequence
from typing import Literal

import dagster as dg
import pandas as pd
import pyarrow as pa

from ...checksums import file_sha256
from ...evaluation.confounds import exclude_extrapolated, prepare_brain, restrict
from ...evaluation.features import read_brain_features, read_phenotypes, reconcile
from ...evaluation.gene_brain import CcaSettings, fold_table, heldout_table, variates_table
from ...evaluation.gene_brain import gene_brain_cca as run_cca
from ...evaluation.leaderboard import leaderboard
from ...evaluation.plots import heldout_figure, leaderboard_figure, null_figure
from ...evaluation.prediction import predict_phenotype, score_table
from ...warehouse import UNPARTITIONED
from ...warehouse.catalog import Catalog
from ...warehouse.evaluation_tables import (
    build_folds,
    cohort_design,
    empty_frame,
    fold_vectors,
    fold_vectors_table,
    frame_table,
)
from ..encoders import EncoderName
from ..evaluation_resources import EvaluationInputsResource
from ..lineage import persist
from ..metadata import png_markdown
from ..resources import WarehouseResource
from .cohort import covariates, recorded_settings, subject_folds
from .embeddings import warehouse_resource


class BrainFeaturesConfig(dg.Config):
    """Per fold: covariates regressed out of the brain features, then an optional PCA (training subjects only)."""

    brain_components: int | None = None  # None keeps every feature; a width reduces brain-FM dimensions by PCA
    seed: int = 42  # random_state of the PCA's randomized SVD


class CcaConfig(dg.Config):
    """Gene–brain CCA per fold and its permutation inference (Winkler et al. 2020)."""

    n_gene_components: int = 100  # leading residualized components; keeps n_train >> p + q from ~2,000 subjects on
    n_permutations: int = 1000  # p resolution 1/1001
    statistic: Literal["wilks", "roy"] = "wilks"  # the paper's default; roy tests r_k alone
    # a test subject whose covariates lie outside the training subjects' span (leverage > 1) gets extrapolated
    # residuals on both sides, which can dominate a fold's held-out correlation; excluded and listed. None keeps all
    max_test_leverage: float | None = 1.0
    seed: int = 42


class PredictionConfig(dg.Config):
    """Ridge (continuous) or logistic (binary) prediction of each declared phenotype from the gene components."""

    n_gene_components: int = 100  # as gene_brain_cca, so both read the same components
    n_permutations: int = 1000  # ridge permutations are extra targets of one fit; logistic ones refit
    # a test subject whose covariates lie outside the training subjects' span (leverage > 1) gets extrapolated
    # residuals on both sides, which can dominate a fold's held-out correlation; excluded and listed. None keeps all
    max_test_leverage: float | None = 1.0
    seed: int = 42


class LeaderboardConfig(dg.Config):
    """Every evaluated encoder side by side on the same folds."""

    n_modes: int = 3  # canonical modes shown
    n_boot: int = 1000  # paired bootstrap draws of the held-out subjects
    # the baseline the others are compared with; None = the first configured encoder (the recipe's DNABERT-2)
    reference_encoder: str | None = None
    seed: int = 42


def _cohort(catalog: Catalog) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series | None, dict]:
    """(subject_folds, design by subject, blocks by subject or None, the covariates' recorded settings)."""
    settings = recorded_settings(catalog, "covariates")
    design, blocks = cohort_design(catalog.read_partition("covariates", UNPARTITIONED), settings["covariate_columns"],
                                   settings["categorical_columns"], settings["group_column"])
    return catalog.read_partition("subject_folds", UNPARTITIONED).to_pandas(), design, blocks, settings


def _folds(catalog: Catalog, enc: EncoderName, config: "CcaConfig | PredictionConfig", with_brain: bool):
    """(FoldData per fold of ``enc``'s components without extrapolated test subjects, fold -> the excluded ones)."""
    _, design, blocks, _ = _cohort(catalog)
    gene = fold_vectors(_all_partitions_table(catalog, enc.table("residualized_embeddings")))  # one per fold
    brain = fold_vectors(catalog.read_partition("brain_features", UNPARTITIONED)) if with_brain else None
    return exclude_extrapolated(build_folds(gene, brain, design, blocks, config.n_gene_components), config.max_test_leverage)


def _all_partitions_table(catalog: Catalog, table_name: str) -> pa.Table:
    return pa.concat_tables([catalog.read_partition(table_name, p) for p in catalog.partitions(table_name)])


def _all_partitions(catalog: Catalog, table_name: str) -> pd.DataFrame:
    return _all_partitions_table(catalog, table_name).to_pandas()


def _md(frame: pd.DataFrame) -> dg.MetadataValue:
    return dg.MetadataValue.md(frame.to_markdown(index=False, floatfmt=".4g"))


@dg.asset(group_name="evaluation", deps=[covariates, subject_folds], kinds={"parquet"})
def brain_features(context: dg.AssetExecutionContext, config: BrainFeaturesConfig,
                   evaluation: EvaluationInputsResource, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Brain features reconciled with the cohort; per fold, covariates regressed out (and optional PCA) on training subjects only."""
    catalog = warehouse.catalog()
    folds, design, _, _ = _cohort(catalog)
    path = evaluation.path("brain_features")
    table, report = reconcile(read_brain_features(path, evaluation.feature_spec()), folds["subject_id"], evaluation.missing)
    values, parts = table.table, []
    present = folds[folds["subject_id"].isin(values.index)]
    for fold in sorted(present["test_fold"].unique()):
        is_test = present["test_fold"] == fold
        train, test = present.loc[~is_test, "subject_id"].tolist(), present.loc[is_test, "subject_id"].tolist()
        prepared = prepare_brain(values.loc[train].to_numpy(), values.loc[test].to_numpy(), design.loc[train].to_numpy(),
                                 design.loc[test].to_numpy(), config.brain_components, config.seed)
        parts += [fold_vectors_table(int(fold), "train", train, prepared.train),
                  fold_vectors_table(int(fold), "test", test, prepared.test)]
    settings = {"features": list(values.columns), "brain_components": config.brain_components, "seed": config.seed,
                "missing": evaluation.missing, "width": int(prepared.train.shape[1])}
    checksums = {"brain_features_sha256": file_sha256(path)}
    persist(context, catalog, "brain_features", UNPARTITIONED, pa.concat_tables(parts), checksums, settings)
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(path)), **checksums, **settings, "subjects": report.n_aligned,
        "cohort_subjects_without_features": list(report.missing), "rows_not_in_cohort": list(report.not_in_cohort),
        "dropped_for_missing_values": list(report.dropped_missing_values)})


def evaluation_assets(enc: EncoderName) -> list[dg.AssetsDefinition]:
    """``gene_brain_cca`` and ``phenotype_prediction`` of encoder ``enc``."""

    @dg.asset(key=enc.key("gene_brain_cca"), group_name="evaluation",
              deps=[brain_features, enc.key("residualized_embeddings")], kinds={"parquet"},
              required_resource_keys={"warehouse"},
              description=f"{enc.name}: per fold, CCA of gene components and brain features fitted on training "
                          "subjects; in-sample and held-out r; step-down Huh–Jhun permutation p-values per mode "
                          "(Winkler et al. 2020), within exchangeability blocks.")
    def gene_brain_cca(context: dg.AssetExecutionContext, config: CcaConfig) -> dg.MaterializeResult:
        return _gene_brain_cca(context, enc, config, warehouse_resource(context))

    @dg.asset(key=enc.key("phenotype_prediction"), group_name="evaluation",
              deps=[enc.key("residualized_embeddings"), covariates, subject_folds], kinds={"parquet"},
              required_resource_keys={"warehouse", "evaluation"},
              description=f"{enc.name}: per declared phenotype, ridge or logistic prediction from gene components, "
                          "penalty by nested CV in training folds, covariates regressed within them; held-out R² or "
                          "AUC per fold and a permutation p-value.")
    def phenotype_prediction(context: dg.AssetExecutionContext, config: PredictionConfig) -> dg.MaterializeResult:
        return _phenotype_prediction(context, enc, config, context.resources.evaluation, warehouse_resource(context))

    return [gene_brain_cca, phenotype_prediction]


def _gene_brain_cca(context: dg.AssetExecutionContext, enc: EncoderName, config: CcaConfig,
                    warehouse: WarehouseResource) -> dg.MaterializeResult:
    catalog = warehouse.catalog()
    folds, excluded = _folds(catalog, enc, config, with_brain=True)
    result = run_cca(folds, CcaSettings(config.n_permutations, config.seed, config.statistic))
    per_fold, heldout = fold_table(result).assign(encoder=enc.name), heldout_table(result).assign(encoder=enc.name)
    settings = {**config.model_dump(), "encoder": enc.name, "group_column": recorded_settings(catalog, "covariates")["group_column"],
                "n_brain_components": int(folds[0].brain_train.shape[1]), "excluded_test_subjects": excluded}
    for name, frame in (("gene_brain_cca", per_fold), ("gene_brain_cca_heldout", heldout),
                        ("gene_brain_cca_variates", variates_table(result).assign(encoder=enc.name))):
        persist(context, catalog, name, enc.name, frame_table(frame, name), {}, settings)
    context.log.info("%s: mean held-out r %s", enc.name, heldout["mean_r_test"].head(3).round(3).tolist())
    return dg.MaterializeResult(metadata={
        **settings, "heldout": _md(heldout.head(10)),
        "folds": _md(per_fold[per_fold["mode"] <= 3].drop(columns=["encoder", "statistic", "seed"])),
        "null_vs_observed_fold_0": png_markdown(null_figure(result)),
        "heldout_r_per_fold": png_markdown(heldout_figure(per_fold))})


def _phenotype_prediction(context: dg.AssetExecutionContext, enc: EncoderName, config: PredictionConfig,
                          evaluation: EvaluationInputsResource, warehouse: WarehouseResource) -> dg.MaterializeResult:
    catalog = warehouse.catalog()
    folds, excluded = _folds(catalog, enc, config, with_brain=False)
    scores, predictions = [], []
    if evaluation.phenotypes:
        subjects = [*folds[0].train_ids, *folds[0].test_ids]
        table, _ = reconcile(read_phenotypes(evaluation.path("phenotypes"), evaluation.phenotype_spec()), subjects,
                             evaluation.missing)
        for name, kind in table.kinds.items():
            kept = [restrict(f, set(table.table.index)) for f in folds]
            result = predict_phenotype(kept, table.table[name], kind, config.n_permutations, config.seed)
            scores.append(score_table(result, kept))
            predictions.append(result.predictions.assign(phenotype=name, metric=result.metric))
    per_fold = pd.concat(scores or [empty_frame("phenotype_prediction")], ignore_index=True).assign(encoder=enc.name)
    per_subject = pd.concat(predictions or [empty_frame("phenotype_predictions")], ignore_index=True).assign(
        encoder=enc.name)
    settings = {**config.model_dump(), "encoder": enc.name, "phenotypes": evaluation.phenotype_columns, "excluded_test_subjects": excluded}
    persist(context, catalog, "phenotype_prediction", enc.name, frame_table(per_fold, "phenotype_prediction"),
            {}, settings)
    persist(context, catalog, "phenotype_predictions", enc.name,
            frame_table(per_subject, "phenotype_predictions"), {}, settings)
    return dg.MaterializeResult(metadata={**settings, "scores": _md(per_fold.drop(columns=["encoder"]))})


def leaderboard_asset(encoders: Sequence[EncoderName]) -> dg.AssetsDefinition:
    """``encoder_leaderboard`` over every configured encoder's evaluation (the first is the default reference)."""
    evaluated = [enc.key(name) for enc in encoders for name in ("gene_brain_cca", "phenotype_prediction")]

    @dg.asset(group_name="evaluation", deps=evaluated, kinds={"parquet"}, required_resource_keys={"warehouse"})
    def encoder_leaderboard(context: dg.AssetExecutionContext, config: LeaderboardConfig) -> dg.MaterializeResult:
        """Every evaluated encoder's held-out canonical correlations and prediction scores on the same folds, with fold-paired differences and bootstrap intervals."""
        return _encoder_leaderboard(context, config, encoders[0].name, warehouse_resource(context))

    return encoder_leaderboard


def _encoder_leaderboard(context: dg.AssetExecutionContext, config: LeaderboardConfig, default_reference: str,
                         warehouse: WarehouseResource) -> dg.MaterializeResult:
    catalog = warehouse.catalog()
    reference = config.reference_encoder or default_reference
    board = leaderboard(_all_partitions(catalog, "gene_brain_cca_variates"),
                        _all_partitions(catalog, "phenotype_predictions"), config.n_modes, config.n_boot, config.seed,
                        reference).assign(n_boot=config.n_boot)
    settings = {**config.model_dump(), "reference_encoder": reference}
    persist(context, catalog, "encoder_leaderboard", UNPARTITIONED, frame_table(board, "encoder_leaderboard"), {},
            settings)
    shown = board.drop(columns=["fold_values", "fold_differences", "n_boot"])
    return dg.MaterializeResult(metadata={**settings, "encoders": sorted(board["encoder"].unique()),
                                          "leaderboard": _md(shown), "leaderboard_bars": png_markdown(leaderboard_figure(board))})
