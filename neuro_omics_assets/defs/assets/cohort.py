"""Group ``cohort``, cohort-wide: covariates and folds (shared), and per encoder (``cohort_assets``) subject
embeddings, train-fold PCA and residualized embeddings.

Each asset records what shaped it in its lineage row; downstream assets read those settings back
(``recorded_settings``) so a fold is always fitted with the columns, folds and order actually stored.
"""

import json
from collections.abc import Iterator

import dagster as dg
import pandas as pd
import pyarrow as pa

from ...checksums import file_sha256
from ...cohort.covariates import align, design_column_names, read_covariates
from ...cohort.factorized_pca import RandomizedSpec, embed_fold_factorized, fit_fold_basis_factorized
from ...cohort.folds import assign_folds
from ...cohort.matrix import Combine
from ...cohort.pca import PcaBasis, explained_variance_table, scree_plot
from ...cohort.residualize import Order
from ...errors import WarehouseError
from ...genome.chunks import chunk_key
from ...variants import VcfSet, vcf_set_identity, vcf_set_sha256
from ...warehouse import UNPARTITIONED
from ...warehouse.catalog import Catalog, LineageRecord, view_identifier
from ...warehouse.cohort_tables import (
    FoldInputs,
    covariates_table,
    factorized_subject_matrix,
    fold_inputs,
    fold_partition,
    pca_bases,
    pca_tables,
    residualized_table,
    subject_folds_table,
    subjects_sha256,
)
from ...warehouse.cohort_views import SUBJECT_EMBEDDINGS, subject_embeddings_view_sql
from ..encoders import EncoderName
from ..lineage import code_version, persist, stored_identity
from ..metadata import png_markdown, table_preview
from ..resources import CohortInputsResource, GenomeInputsResource, WarehouseResource
from .cohort_chunks import subject_haplotypes
from .embeddings import warehouse_resource
from .reference import reference_genome, selected_genes


class SubjectEmbeddingConfig(dg.Config):
    """How a subject's haplotypes of a gene combine into one vector."""

    combine: Combine = "mean"  # keeps one haplotype's scale whatever the ploidy; "sum" is dosage-like


class FoldConfig(dg.Config):
    """Cross-validation folds over the subjects with covariates."""

    n_splits: int = 5  # the recipe's 5-fold cross-validation
    seed: int = 42  # the recipe's seed


class PcaConfig(dg.Config):
    """The train-fold PCA (recipe step 7) and where residualization (step 8) sits relative to it."""

    n_components: int = 512  # the recipe's 512-D; capped per fold at what its training subjects allow
    order: Order = "pca_then_residualize"  # the recipe's order; or residualize_then_pca
    seed: int = 42  # seed of the randomized SVD's Gaussian test vectors
    # scikit-learn's randomized_svd defaults: with them the top components agree with an exact SVD
    oversamples: int = 10
    power_iterations: int = 7

    def to_spec(self) -> RandomizedSpec:
        return RandomizedSpec(self.oversamples, self.power_iterations)


def recorded_settings(catalog: Catalog, asset: str) -> dict:
    """The settings the latest materialization of ``asset`` recorded in the lineage table."""
    rows = catalog.lineage(asset)
    if rows.empty:
        raise WarehouseError(f"{catalog.db_path} has no lineage of {asset}; materialize {asset} first.")
    return json.loads(rows["metadata"].iloc[-1])


def _chunk_tables(catalog: Catalog, table_name: str, chunks: list[str]) -> Iterator[pa.Table]:
    """The partitions ``chunks`` of ``table_name``, one at a time (never all in memory at once)."""
    for chunk in chunks:
        yield catalog.read_partition(table_name, chunk)


def _manifest_genes(catalog: Catalog) -> tuple[pd.DataFrame, list[str]]:
    """The selected genes in manifest order and the gene chunks holding them."""
    genes = catalog.read_partition("genes", UNPARTITIONED).to_pandas().sort_values("manifest_index")
    return genes, sorted({chunk_key(int(c)) for c in genes["chunk"]})


@dg.asset(group_name="cohort", deps=[reference_genome], automation_condition=dg.AutomationCondition.eager(), kinds={"parquet"})
def covariates(
    context: dg.AssetExecutionContext,
    inputs: GenomeInputsResource,
    cohort: CohortInputsResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """Subject covariates (CSV, TSV or Parquet) for residualization, aligned to the VCF's subjects."""
    spec = cohort.covariate_spec()
    vcfs = cohort.vcf_paths()
    with inputs.genome() as genome, VcfSet(vcfs, genome, cohort.samples) as vcf:
        genotyped = list(vcf.samples)
    aligned, report = align(read_covariates(cohort.path("covariates"), spec), genotyped)
    design_columns = design_column_names(aligned, tuple(cohort.covariate_columns))
    settings = {"covariate_columns": cohort.covariate_columns, "categorical_columns": list(spec.categorical),
                "label_column": cohort.label_column, "group_column": cohort.group_column, "missing": cohort.missing}
    checksums = {"covariates_sha256": file_sha256(cohort.path("covariates")),
                 "vcf_set_sha256": vcf_set_sha256(vcf_set_identity(vcfs))}
    persist(context, warehouse.catalog(), "covariates", UNPARTITIONED, covariates_table(aligned), checksums, settings)
    context.log.info("covariates %s of %d subjects: %s", cohort.covariate_columns, report.n_aligned, design_columns)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(cohort.covariates),
            **checksums,
            **settings,
            "design_columns": list(design_columns),
            "subjects_genotyped": report.n_genotyped,
            "subjects_with_covariates": report.n_aligned,
            "dropped_for_missing_values": list(report.dropped_missing_values),
            "genotyped_without_covariates": list(report.missing_covariates),
            "covariates_not_genotyped": list(report.not_genotyped),
            "preview": table_preview(aligned.table.reset_index(), ["subject_id", *spec.columns]),
        }
    )


@dg.asset(group_name="cohort", deps=[covariates], automation_condition=dg.AutomationCondition.eager(), kinds={"parquet"})
def subject_folds(context: dg.AssetExecutionContext, config: FoldConfig, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """The fold in which each subject is held out: stratified by the label and grouped by the group column when configured (cohort.folds)."""
    catalog = warehouse.catalog()
    table = catalog.read_partition("covariates", UNPARTITIONED).to_pandas()
    upstream = recorded_settings(catalog, "covariates")
    label, group = upstream["label_column"], upstream["group_column"]
    folds = assign_folds(table["subject_id"], config.n_splits, config.seed,
                         labels=table[label] if label else None, groups=table[group] if group else None)
    settings = {"splitter": folds.splitter, "n_splits": folds.n_splits, "fold_seed": folds.seed,
                "label_column": label, "group_column": group}
    persist(context, catalog, "subject_folds", UNPARTITIONED, subject_folds_table(folds), {}, settings)
    sizes = folds.table.merge(table, on="subject_id").groupby("test_fold")
    summary = sizes.size().rename("test_subjects").to_frame()
    if label:
        summary = summary.join(sizes[label].value_counts().unstack(fill_value=0).add_prefix(f"{label}="))
    return dg.MaterializeResult(
        metadata={**settings, "subjects": len(folds.table),
                  "folds": dg.MetadataValue.md(summary.reset_index().to_markdown(index=False))}
    )


def cohort_assets(enc: EncoderName) -> list[dg.AssetsDefinition]:
    """``subject_embeddings``, ``pca_basis`` and ``residualized_embeddings`` of encoder ``enc``."""

    @dg.asset(
        key=enc.key("subject_embeddings"),
        group_name="cohort",
        deps=[selected_genes, subject_haplotypes, enc.key("personal_gene_vectors")],
        # After the chunk runs an annotation change requests, not before them (see defs/automation.py).
        automation_condition=dg.AutomationCondition.eager().ignore(dg.AssetSelection.assets("selected_genes")),
        kinds={"duckdb"},
        required_resource_keys={"warehouse"},
        description=f"{enc.name}: a DuckDB view: per subject and gene, its haplotypes' vectors combined on read "
                    "(mean by default), un-projected; nothing stored per subject.",
    )
    def subject_embeddings(context: dg.AssetExecutionContext, config: SubjectEmbeddingConfig) -> dg.MaterializeResult:
        return _subject_embeddings(context, enc, config, warehouse_resource(context))

    @dg.asset(
        key=enc.key("pca_basis"),
        group_name="cohort",
        deps=[subject_embeddings, covariates, subject_folds],
        automation_condition=dg.AutomationCondition.eager(),
        kinds={"parquet"},
        required_resource_keys={"warehouse"},
        description=f"{enc.name}: per fold, the PCA basis of the subject matrix fitted on the training subjects only "
                    "(on their covariate residuals for residualize_then_pca).",
    )
    def pca_basis(context: dg.AssetExecutionContext, config: PcaConfig) -> dg.MaterializeResult:
        return _pca_basis(context, enc, config, warehouse_resource(context))

    @dg.asset(
        key=enc.key("residualized_embeddings"),
        group_name="cohort",
        deps=[pca_basis, subject_embeddings, covariates, subject_folds],
        automation_condition=dg.AutomationCondition.eager(),
        kinds={"parquet"},
        required_resource_keys={"warehouse"},
        description=f"{enc.name}: per fold and subject, the final embedding: the stored basis reapplied, covariates "
                    "regressed out by OLS on the training subjects, z-scored with their mean and std; one partition per fold.",
    )
    def residualized_embeddings(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        return _residualized_embeddings(context, enc, warehouse_resource(context))

    return [subject_embeddings, pca_basis, residualized_embeddings]


def _subject_embeddings(context: dg.AssetExecutionContext, enc: EncoderName, config: SubjectEmbeddingConfig,
                        warehouse: WarehouseResource) -> dg.MaterializeResult:
    catalog = warehouse.catalog()
    vectors, view = enc.table("personal_gene_vectors"), enc.table(SUBJECT_EMBEDDINGS)
    genes, chunks = _manifest_genes(catalog)
    hidden = catalog.partition_schema(vectors, chunks[0]).field("embedding").type.list_size
    identity = stored_identity(catalog, vectors, chunks)  # refuses to mix models
    settings = {"mode": recorded_settings(catalog, "subject_haplotypes")["mode"], "combine": config.combine,
                **identity.metadata()}
    sql = subject_embeddings_view_sql(config.combine, hidden, vectors=vectors)
    lineage = LineageRecord(enc.asset(SUBJECT_EMBEDDINGS), UNPARTITIONED, context.run.run_id, code_version(), 0,
                            f"{catalog.db_path}#view:{view}", {"gene_chunks": str(len(chunks))},
                            {**settings, "view_sql": sql})
    catalog.define_view(view, sql, lineage)
    sizes = catalog.query("select count(distinct subject_id) as subjects, count(distinct gene_id) as genes, "
                          "count(*) as haplotypes, min(subject_id) as first from subject_haplotypes").iloc[0]
    # the first subject's rows: a one-subject query reads only its rows (a cohort-wide one joins them all)
    preview = catalog.query("select subject_id, gene_name, manifest_index, n_variants from "
                            f"{view_identifier(view)} where subject_id = ? order by manifest_index limit 10",
                            [sizes["first"]])
    return dg.MaterializeResult(
        metadata={
            **settings,
            "subjects": int(sizes["subjects"]),
            "genes": int(sizes["genes"]),
            "haplotype_rows": int(sizes["haplotypes"]),
            "hidden_size": hidden,
            "subject_vector_width": int(sizes["genes"]) * hidden,
            "view": dg.MetadataValue.md(f"```sql\n{sql}\n```"),
            "concatenation": "computed on read in manifest_index order (see warehouse/cohort_views.py)",
            "gene_order": dg.MetadataValue.json(genes["gene_name"].head(50).tolist()),
            "preview": table_preview(preview, ["subject_id", "gene_name", "manifest_index", "n_variants"]),
        }
    )


def _fold_inputs(catalog: Catalog, enc: EncoderName) -> tuple[FoldInputs, dict]:
    """The factorized subject matrix of ``enc``'s vectors, covariates and folds aligned for fitting, and the
    settings behind them."""
    upstream = {**recorded_settings(catalog, enc.asset(SUBJECT_EMBEDDINGS)), **recorded_settings(catalog, "covariates"),
                **recorded_settings(catalog, "subject_folds")}
    genes, chunks = _manifest_genes(catalog)
    vectors = enc.table("personal_gene_vectors")
    identity = stored_identity(catalog, vectors, chunks)  # refuses to mix models
    subjects, matrix = factorized_subject_matrix(_chunk_tables(catalog, "subject_haplotypes", chunks),
                                                 _chunk_tables(catalog, vectors, chunks),
                                                 genes["gene_id"].tolist(), upstream["combine"])
    tables = (catalog.read_partition(t, UNPARTITIONED) for t in ("covariates", "subject_folds"))
    data = fold_inputs(subjects, matrix, *tables, upstream["covariate_columns"], upstream["categorical_columns"])
    settings = {**{k: upstream[k] for k in ("mode", "combine", "covariate_columns", "splitter", "n_splits", "fold_seed")},
                **identity.metadata()}
    return data, {**settings, "design_columns": list(data.design_columns), "distinct_haplotype_vectors": matrix.n_distinct}


def _fold_summary(fold: int, basis: PcaBasis, n_test: int) -> dict:
    """What the PCA outputs record about one fold: sizes, components effective, cap reason, solver."""
    return {"fold": fold, "n_train": basis.n_train, "n_test": n_test, "n_components": basis.n_components,
            "solver": basis.solver, "cap_reason": basis.cap_reason}


def _fold_metadata(summaries: list[dict]) -> dict:
    return {"folds": summaries, "fold_summary": dg.MetadataValue.md(pd.DataFrame(summaries).to_markdown(index=False))}


def _pca_basis(context: dg.AssetExecutionContext, enc: EncoderName, config: PcaConfig,
               warehouse: WarehouseResource) -> dg.MaterializeResult:
    catalog = warehouse.catalog()
    data, settings = _fold_inputs(catalog, enc)
    parts, summaries, plots = [], [], {}
    for fold in data.fold_ids:
        train, test = data.split(fold)
        basis = fit_fold_basis_factorized(data.matrix.rows(train), data.design[train], config.n_components,
                                          config.order, config.seed, config.to_spec())
        parts.append(pca_tables(fold, basis, config.order, data.ids(train)))
        summaries.append(_fold_summary(fold, basis, len(test)))
        plots = plots or {"explained_variance_fold_0": dg.MetadataValue.md(
            explained_variance_table(basis).head(20).to_markdown(index=False, floatfmt=".4g")),
            "scree_plot_fold_0": png_markdown(scree_plot(basis))}
        context.log.info("fold %d: %d components (%s)", fold, basis.n_components, basis.cap_reason or "as requested")
        del basis  # k x genes * H float64: stored as float32 in parts; free it before the next fold's fit
    settings.update(order=config.order, n_components_requested=config.n_components, seed=config.seed,
                    oversamples=config.oversamples, power_iterations=config.power_iterations, folds=summaries)
    for table_name in ("pca_basis", "pca_components", "pca_mean"):
        persist(context, catalog, enc.table(table_name), UNPARTITIONED, pa.concat_tables([p[table_name] for p in parts]),
                {}, settings)
    return dg.MaterializeResult(
        metadata={
            **settings,
            **_fold_metadata(summaries),
            "n_features": int(data.matrix.shape[1]),
            **plots,
        }
    )


def _residualized_embeddings(context: dg.AssetExecutionContext, enc: EncoderName,
                             warehouse: WarehouseResource) -> dg.MaterializeResult:
    catalog = warehouse.catalog()
    data, _ = _fold_inputs(catalog, enc)
    settings = recorded_settings(catalog, enc.asset("pca_basis"))

    def components_of(fold: int) -> pa.Table:
        return catalog.read_partition(enc.table("pca_components"), UNPARTITIONED, filters=[("fold", "=", fold)])

    written = []
    stored = (catalog.read_partition(enc.table(t), UNPARTITIONED) for t in ("pca_basis", "pca_mean"))
    for fold, entry in pca_bases(*stored, components_of):
        train, test = data.split(fold)
        if subjects_sha256(data.ids(train)) != entry.train_subjects_sha256:
            raise WarehouseError(f"pca_basis fold {fold} was fitted on other training subjects than subject_folds "
                                 "now holds; re-materialize pca_basis.")
        embedded = embed_fold_factorized(entry.basis, entry.order, data.matrix.rows(train), data.design[train],
                                         data.matrix.rows(test), data.design[test])
        table = pa.concat_tables([residualized_table(fold, split, data.ids(rows), scores)
                                  for split, rows, scores in zip(("train", "test"), (train, test), embedded, strict=True)])
        persist(context, catalog, enc.table("residualized_embeddings"), fold_partition(fold), table, {}, settings)
        written.append(fold_partition(fold))
        del embedded, table  # one fold's scores at a time
    for stale in sorted(set(catalog.partitions(enc.table("residualized_embeddings"))) - set(written)):
        catalog.delete_partition(enc.table("residualized_embeddings"), stale)  # folds of an earlier, larger n_splits
    context.log.info("%d subjects x %d folds (%s)", len(data.subject_ids), len(settings["folds"]), settings["order"])
    return dg.MaterializeResult(
        metadata={**settings, **_fold_metadata(settings["folds"]), "subjects": len(data.subject_ids)}
    )
