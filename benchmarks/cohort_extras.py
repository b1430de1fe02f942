"""The extra stages of ``cohort_scaling.py`` (``--extras``), each measured against the former procedure.

* ``query``: one subject's concatenated vector through the ``subject_embeddings`` view: the view's former
  SQL (joined on the SHA-256), the current view on a plain DuckDB connection, and the current view
  through ``Catalog`` (its ``QUERY_SETTINGS``): median wall time over 7 subjects and the vector row
  groups read (DuckDB's profile).
* ``residualize``: ``residualized_embeddings`` and its covariate check alone, on the stored PCA bases, as
  now and as before (one row group for the whole table; a check reading every fold at once into pandas).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from cohort_scaling import ENCODER, HIDDEN, VECTORS, encoder_cohort  # benchmarks/ is the script's directory

# The view as it was before haplotype_index (git show 3ecbe60:neuro_omics_assets/warehouse/cohort_views.py):
# joined on the SHA-256, which DuckDB can only answer by hashing every distinct vector.
FORMER_VIEW_SQL = (
    "SELECT h.subject_id, h.gene_id, any_value(h.gene_name) AS gene_name, any_value(g.manifest_index) AS "
    "manifest_index, CAST(sum(h.n_variants) AS INTEGER) AS n_variants, CAST(list_transform(list_reduce(list(CAST("
    "v.embedding AS DOUBLE[])), lambda a, b: list_transform(a, lambda x, i: x + b[i])), lambda x: x / count(*)) AS "
    f"FLOAT[{HIDDEN}]) AS embedding FROM subject_haplotypes h JOIN {ENCODER}.personal_gene_vectors v ON "
    "v.gene_id = h.gene_id "
    "AND v.sha256 = h.sha256 JOIN genes g ON g.gene_id = h.gene_id GROUP BY h.subject_id, h.gene_id"
)
ONE_SUBJECT = ("select subject_id, flatten(list(embedding::FLOAT[] order by manifest_index)) as vector from {view} "
               "where subject_id = ? group by subject_id")


def run_query(root: Path, n: int) -> dict:
    """One subject's concatenated vector through the view: the former SQL and the current view on a plain
    DuckDB connection, and the current view through Catalog (its QUERY_SETTINGS); median of 7 subjects."""
    import duckdb

    from neuro_omics_assets.warehouse.catalog import Catalog, view_identifier
    from neuro_omics_assets.warehouse.cohort_views import SUBJECT_EMBEDDINGS, subject_embeddings_view_sql
    from neuro_omics_assets.warehouse.profiling import parquet_scans

    catalog, view = Catalog(root), f"{ENCODER}.{SUBJECT_EMBEDDINGS}"
    catalog.define_view(view, subject_embeddings_view_sql("mean", HIDDEN, vectors=VECTORS))
    subjects = [f"SYN{i:06d}" for i in np.linspace(0, n - 1, 7).astype(int)]
    out, former = {}, None
    with duckdb.connect(str(catalog.db_path), read_only=True) as plain, catalog.connect_read_only() as tuned:
        for label, con, source in (("former view", plain, f"({FORMER_VIEW_SQL})"),
                                   ("view, plain DuckDB", plain, view_identifier(view)),
                                   ("view, Catalog", tuned, view_identifier(view))):
            sql, times = ONE_SUBJECT.format(view=source), []
            vector = np.asarray(con.execute(sql, [subjects[0]]).fetchall()[0][1])  # also warms the file cache
            former = vector if former is None else former
            for subject in subjects:
                started = time.perf_counter()
                con.execute(sql, [subject]).fetchall()
                times.append(time.perf_counter() - started)
            vectors = parquet_scans(con, sql, [subjects[0]])[VECTORS.replace(".", "/")]
            out[label] = {"median s": float(np.median(times)), "width": len(vector),
                          "equals former view": bool(np.array_equal(vector, former)),
                          "vector row groups read": vectors.row_groups_read, "vector row groups": vectors.row_groups}
    out["speed-up vs former view"] = out["former view"]["median s"] / out["view, Catalog"]["median s"]
    return out


def run_residualize(root: Path, whole_table: bool) -> dict:
    """Re-materialize residualized_embeddings and its covariate check alone (pca_basis is stored), as now or,
    with ``whole_table``, as before (git show 3ecbe60:neuro_omics_assets/defs/assets/cohort.py and checks.py):
    every fold's scores gathered, written as one partition, then checked by reading it whole into pandas."""
    import dagster as dg

    from neuro_omics_assets.defs.resources import WarehouseResource

    os.environ["NEURO_OMICS_DATA_ROOTS"] = str(root)
    (_, _, residualized_embeddings), check = encoder_cohort()
    selection = _whole_table_baseline() if whole_table else [residualized_embeddings, check]
    started = time.perf_counter()
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(selection, resources={"warehouse": WarehouseResource(root=str(root))},
                                instance=instance)
    if not result.success or not all(e.passed for e in result.get_asset_check_evaluations()):
        raise SystemExit("residualized_embeddings failed")
    return {"residualized s": time.perf_counter() - started}


def _whole_table_baseline() -> list:
    """The former residualized_embeddings body and check, as a benchmark asset writing the same table."""
    import dataclasses

    import dagster as dg
    import pyarrow as pa

    from neuro_omics_assets.cohort.covariates import design_matrix
    from neuro_omics_assets.cohort.factorized_pca import embed_fold_factorized
    from neuro_omics_assets.defs.assets.cohort import _fold_inputs, recorded_settings
    from neuro_omics_assets.defs.checks import RESIDUAL_MAX_ABS_R, _max_abs_correlation
    from neuro_omics_assets.defs.encoders import EncoderName
    from neuro_omics_assets.defs.lineage import persist
    from neuro_omics_assets.warehouse.cohort_tables import (
        covariates_from_table,
        pca_bases,
        residualized_table,
    )
    from neuro_omics_assets.warehouse.schemas import TABLES

    @dg.asset(name="residualized_embeddings_whole_table", required_resource_keys={"warehouse"})
    def whole_table(context):  # noqa: ANN001, ANN202 (dagster resolves annotations at module scope)
        catalog, enc = context.resources.warehouse.catalog(), EncoderName(ENCODER)
        data, _ = _fold_inputs(catalog, enc)
        parts = []
        for fold, entry in pca_bases(*(catalog.read_partition(enc.table(t), "all") for t in ("pca_basis", "pca_mean")),
                                     lambda f: catalog.read_partition(enc.table("pca_components"), "all",
                                                                      filters=[("fold", "=", f)])):
            train, test = data.split(fold)
            embedded = embed_fold_factorized(entry.basis, entry.order, data.matrix.rows(train), data.design[train],
                                             data.matrix.rows(test), data.design[test])
            parts += [residualized_table(fold, split, data.ids(rows), scores)
                      for split, rows, scores in zip(("train", "test"), (train, test), embedded, strict=True)]
        persist(context, catalog, enc.table("residualized_embeddings"), "all", pa.concat_tables(parts), {}, {})

    @dg.asset_check(asset=whole_table, required_resource_keys={"warehouse"})
    def whole_table_check(context):  # noqa: ANN001, ANN202
        catalog = context.resources.warehouse.catalog()
        settings = recorded_settings(catalog, "covariates")
        aligned = covariates_from_table(catalog.read_partition("covariates", "all"), settings["categorical_columns"])
        design = design_matrix(aligned, tuple(settings["covariate_columns"]))
        rows = catalog.read_partition(f"{ENCODER}.residualized_embeddings", "all").to_pandas()
        worst = [_max_abs_correlation(np.stack(train["vector"].to_numpy()),
                                      design[pd.Index(aligned.subject_ids).get_indexer(train["subject_id"])])
                 for _, train in rows[rows["split"] == "train"].groupby("fold")]
        return dg.AssetCheckResult(passed=max(worst) < RESIDUAL_MAX_ABS_R)

    spec = TABLES["residualized_embeddings"]
    TABLES["residualized_embeddings"] = dataclasses.replace(spec, row_group_rows=None)  # then: one row group
    return [whole_table, whole_table_check]
