"""Group ``evaluation``: brain features per fold, gene–brain CCA with permutation inference, phenotype
prediction, and the encoder leaderboard (domain code in ``neuro_omics_assets.evaluation``).

Encoder-keyed outputs are written as one partition per encoder (``gene_brain_cca/<encoder>.parquet``), so
evaluating another encoder adds rows beside the first; ``encoder_leaderboard`` compares every encoder present.
"""

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
    encoder_rows,
    fold_vectors,
    fold_vectors_table,
    frame_table,
)
from ..evaluation_resources import EvaluationInputsResource
from ..lineage import persist
from ..metadata import png_markdown
from ..resources import WarehouseResource
from .cohort import covariates, recorded_settings, residualized_embeddings, subject_folds

Encoder = Literal["dnabert2", "caduceus"]


class BrainFeaturesConfig(dg.Config):
    """Per fold: covariates regressed out of the brain features, then an optional PCA (training subjects only)."""

    brain_components: int | None = None  # None keeps every feature; a width reduces brain-FM dimensions by PCA
    seed: int = 42  # random_state of the PCA's randomized SVD


class CcaConfig(dg.Config):
    """Gene–brain CCA per fold and its permutation inference (Winkler et al. 2020)."""

    encoder: Encoder = "dnabert2"  # whose residualized_embeddings to use
    n_gene_components: int = 100  # leading residualized components; keeps n_train >> p + q from ~2,000 subjects on
    n_permutations: int = 1000  # p resolution 1/1001
    statistic: Literal["wilks", "roy"] = "wilks"  # the paper's default; roy tests r_k alone
    # a test subject whose covariates lie outside the training subjects' span (leverage > 1) gets extrapolated
    # residuals on both sides, which can dominate a fold's held-out correlation; excluded and listed. None keeps all
    max_test_leverage: float | None = 1.0
    seed: int = 42


class PredictionConfig(dg.Config):
    """Ridge (continuous) or logistic (binary) prediction of each declared phenotype from the gene components."""

    encoder: Encoder = "dnabert2"
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
    reference_encoder: Encoder = "dnabert2"  # the recipe's encoder is the baseline the others are compared with
    seed: int = 42


def _cohort(catalog: Catalog) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series | None, dict]:
    """(subject_folds, design by subject, blocks by subject or None, the covariates' recorded settings)."""
    settings = recorded_settings(catalog, "covariates")
    design, blocks = cohort_design(catalog.read_partition("covariates", UNPARTITIONED), settings["covariate_columns"],
                                   settings["categorical_columns"], settings["group_column"])
    return catalog.read_partition("subject_folds", UNPARTITIONED).to_pandas(), design, blocks, settings


def _folds(catalog: Catalog, config: "CcaConfig | PredictionConfig", with_brain: bool):
    """(FoldData per fold without extrapolated test subjects, fold -> the excluded ones)."""
    _, design, blocks, _ = _cohort(catalog)
    residualized = pa.concat_tables([catalog.read_partition("residualized_embeddings", p)  # one partition per fold
                                     for p in catalog.partitions("residualized_embeddings")])
    gene = fold_vectors(encoder_rows(residualized, config.encoder, "residualized_embeddings"))
    brain = fold_vectors(catalog.read_partition("brain_features", UNPARTITIONED)) if with_brain else None
    return exclude_extrapolated(build_folds(gene, brain, design, blocks, config.n_gene_components), config.max_test_leverage)


def _all_partitions(catalog: Catalog, table_name: str) -> pd.DataFrame:
    return pa.concat_tables([catalog.read_partition(table_name, p) for p in catalog.partitions(table_name)]).to_pandas()


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


@dg.asset(group_name="evaluation", deps=[brain_features, residualized_embeddings], kinds={"parquet"})
def gene_brain_cca(context: dg.AssetExecutionContext, config: CcaConfig, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Per fold, CCA of gene components and brain features fitted on training subjects; in-sample and held-out r; step-down Huh–Jhun permutation p-values per mode (Winkler et al. 2020), within exchangeability blocks."""
    catalog = warehouse.catalog()
    folds, excluded = _folds(catalog, config, with_brain=True)
    result = run_cca(folds, CcaSettings(config.n_permutations, config.seed, config.statistic))
    per_fold, heldout = fold_table(result).assign(encoder=config.encoder), heldout_table(result).assign(encoder=config.encoder)
    settings = {**config.model_dump(), "group_column": recorded_settings(catalog, "covariates")["group_column"],
                "n_brain_components": int(folds[0].brain_train.shape[1]), "excluded_test_subjects": excluded}
    for name, frame in (("gene_brain_cca", per_fold), ("gene_brain_cca_heldout", heldout),
                        ("gene_brain_cca_variates", variates_table(result).assign(encoder=config.encoder))):
        persist(context, catalog, name, config.encoder, frame_table(frame, name), {}, settings)
    context.log.info("%s: mean held-out r %s", config.encoder, heldout["mean_r_test"].head(3).round(3).tolist())
    return dg.MaterializeResult(metadata={
        **settings, "heldout": _md(heldout.head(10)),
        "folds": _md(per_fold[per_fold["mode"] <= 3].drop(columns=["encoder", "statistic", "seed"])),
        "null_vs_observed_fold_0": png_markdown(null_figure(result)),
        "heldout_r_per_fold": png_markdown(heldout_figure(per_fold))})


@dg.asset(group_name="evaluation", deps=[residualized_embeddings, covariates, subject_folds], kinds={"parquet"})
def phenotype_prediction(context: dg.AssetExecutionContext, config: PredictionConfig,
                         evaluation: EvaluationInputsResource, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Per declared phenotype: ridge or logistic prediction from gene components, penalty by nested CV in training folds, covariates regressed within them; held-out R² or AUC per fold and a permutation p-value."""
    catalog = warehouse.catalog()
    folds, excluded = _folds(catalog, config, with_brain=False)
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
    per_fold = pd.concat(scores or [empty_frame("phenotype_prediction")], ignore_index=True).assign(encoder=config.encoder)
    per_subject = pd.concat(predictions or [empty_frame("phenotype_predictions")], ignore_index=True).assign(
        encoder=config.encoder)
    settings = {**config.model_dump(), "phenotypes": evaluation.phenotype_columns, "excluded_test_subjects": excluded}
    persist(context, catalog, "phenotype_prediction", config.encoder, frame_table(per_fold, "phenotype_prediction"),
            {}, settings)
    persist(context, catalog, "phenotype_predictions", config.encoder,
            frame_table(per_subject, "phenotype_predictions"), {}, settings)
    return dg.MaterializeResult(metadata={**settings, "scores": _md(per_fold.drop(columns=["encoder"]))})


@dg.asset(group_name="evaluation", deps=[gene_brain_cca, phenotype_prediction], kinds={"parquet"})
def encoder_leaderboard(context: dg.AssetExecutionContext, config: LeaderboardConfig,
                        warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Every evaluated encoder's held-out canonical correlations and prediction scores on the same folds, with fold-paired differences and bootstrap intervals."""
    catalog = warehouse.catalog()
    board = leaderboard(_all_partitions(catalog, "gene_brain_cca_variates"),
                        _all_partitions(catalog, "phenotype_predictions"), config.n_modes, config.n_boot, config.seed,
                        config.reference_encoder).assign(n_boot=config.n_boot)
    persist(context, catalog, "encoder_leaderboard", UNPARTITIONED, frame_table(board, "encoder_leaderboard"), {},
            config.model_dump())
    shown = board.drop(columns=["fold_values", "fold_differences", "n_boot"])
    return dg.MaterializeResult(metadata={**config.model_dump(), "encoders": sorted(board["encoder"].unique()),
                                          "leaderboard": _md(shown), "leaderboard_bars": png_markdown(leaderboard_figure(board))})
