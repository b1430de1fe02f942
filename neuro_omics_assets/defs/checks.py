"""Asset checks on each encoder's gene vectors and residualized embeddings; each name says what it asserts.

A check covers every gene chunk its run materialized (one chunk, a range, or a backfill run), or
every chunk in the warehouse when run on its own. The structural checks are blocking: a chunk with
NaN, a wrong width or missing genes stops the run before anything downstream reads it.
"""

from collections import Counter
from collections.abc import Callable, Sequence

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa

from ..cohort.covariates import design_matrix
from ..embedding.identity import DIGEST_KEY
from ..errors import MixedIdentityError, WarehouseError
from ..warehouse import UNPARTITIONED
from ..warehouse.catalog import Catalog
from ..warehouse.cohort_tables import covariates_from_table, fold_partition
from ..warehouse.evaluation_tables import fold_vectors
from ..warehouse.schemas import vectors_from_arrow
from .assets.cohort import recorded_settings
from .encoders import EncoderName
from .lineage import stored_identity
from .resources import DnaEncoderResource

# Re-embedding one gene alone vs. inside its chunk's batches: fp32 agrees to ~1e-6 (batch-independence
# tests), bf16 to the rounding of its 8-bit mantissa.
REEMBED_ATOL = {"float32": 1e-4, "bfloat16": 2e-2}
# OLS residuals are orthogonal to every design column up to float64 round-off (~1e-14 for z-scored data).
RESIDUAL_MAX_ABS_R = 1e-8


def _chunks(context: dg.AssetCheckExecutionContext, catalog: Catalog, table: str) -> list[str]:
    """The chunks this run materialized, else every chunk of ``table`` in the warehouse."""
    if context.has_partition_key or context.has_partition_key_range:
        return list(context.partition_keys)
    return catalog.partitions(table)


def _check_chunks(
    context: dg.AssetCheckExecutionContext, catalog: Catalog, table: str, check: Callable[[str, pa.Table], dict | None]
) -> dg.AssetCheckResult:
    """Run ``check(chunk, vectors)`` per chunk of ``table``: it returns None when the chunk passes, else what failed."""
    chunks = _chunks(context, catalog, table)
    failures = {}
    for chunk in chunks:
        problem = check(chunk, catalog.read_partition(table, chunk))
        if problem:
            failures[chunk] = problem
    return dg.AssetCheckResult(
        passed=not failures,
        metadata={"chunks_checked": len(chunks), "failed_chunks": dg.MetadataValue.json(dict(list(failures.items())[:20]))},
    )


def _width_matches_model(context: dg.AssetCheckExecutionContext, catalog: Catalog, table_name: str,
                         encoder: DnaEncoderResource) -> dg.AssetCheckResult:
    expected = encoder.description().traits.vector_size

    def check(chunk: str, table: pa.Table) -> dict | None:
        width = table.schema.field("embedding").type.list_size
        return None if width == expected else {"width": width, "model_hidden_size": expected}

    return _check_chunks(context, catalog, table_name, check)


def _no_nan(context: dg.AssetCheckExecutionContext, catalog: Catalog, table_name: str) -> dg.AssetCheckResult:
    def check(chunk: str, table: pa.Table) -> dict | None:
        if table.num_rows == 0:
            return None
        bad = np.flatnonzero(~np.isfinite(vectors_from_arrow(table["embedding"])).all(axis=1))
        return {"non_finite_genes": [table["gene_id"][int(i)].as_py() for i in bad[:20]]} if bad.size else None

    return _check_chunks(context, catalog, table_name, check)


def _one_row_per_gene(context: dg.AssetCheckExecutionContext, catalog: Catalog, table_name: str) -> dg.AssetCheckResult:
    def check(chunk: str, table: pa.Table) -> dict | None:
        ids = table["gene_id"].to_pylist()
        expected = set(catalog.read_partition("gene_sequences", chunk)["gene_id"].to_pylist())
        problem = {
            "duplicated": sorted(g for g, n in Counter(ids).items() if n > 1),
            "missing": sorted(expected - set(ids))[:20],
            "unexpected": sorted(set(ids) - expected)[:20],
        }
        return problem if any(problem.values()) else None

    return _check_chunks(context, catalog, table_name, check)


def _reproduces_on_reembedding(context: dg.AssetCheckExecutionContext, catalog: Catalog, table_name: str,
                               encoder: DnaEncoderResource) -> dg.AssetCheckResult:
    engine = encoder.engine(use_cache=False)

    def check(chunk: str, table: pa.Table) -> dict | None:
        if table.num_rows == 0:
            return None
        stored_digest = catalog.partition_metadata(table_name, chunk).get(DIGEST_KEY)
        if stored_digest != engine.identity.digest():
            return {"stale": "made with another embedding identity than the configured one; the chunk sensor re-runs it"}
        row = int(np.argmin(table["n_bases"].to_numpy()))
        gene_id = table["gene_id"][row].as_py()
        sequences = catalog.read_partition("gene_sequences", chunk).to_pandas().set_index("gene_id")
        fresh = engine.embed({gene_id: sequences.loc[gene_id, "sequence"]})[gene_id].vector
        stored = vectors_from_arrow(table["embedding"])[row]
        if stored.shape != fresh.shape:
            return {"gene_id": gene_id, "stored_width": stored.shape[0], "model_width": fresh.shape[0]}
        diff = float(np.max(np.abs(fresh - stored)))
        atol = REEMBED_ATOL[engine.identity.dtype]
        context.log.info("%s: re-embedded %s, max |diff| %.2e (tolerance %.0e)", chunk, gene_id, diff, atol)
        return None if diff <= atol else {"gene_id": gene_id, "max_abs_diff": diff, "tolerance": atol}

    return _check_chunks(context, catalog, table_name, check)


def _share_one_identity(catalog: Catalog, table_name: str) -> dg.AssetCheckResult:
    """Every partition of ``table_name`` in the warehouse records the same embedding identity."""
    chunks = catalog.partitions(table_name)
    try:
        identity = stored_identity(catalog, table_name, chunks)
    except (MixedIdentityError, WarehouseError) as err:
        return dg.AssetCheckResult(passed=False, metadata={"chunks_checked": len(chunks), "problem": str(err)})
    digest = identity.digest() if identity else None
    return dg.AssetCheckResult(passed=True, metadata={"chunks_checked": len(chunks), DIGEST_KEY: digest})


def _max_abs_correlation(vectors: np.ndarray, design: np.ndarray) -> float:
    """Largest |Pearson r| between a column of ``vectors`` (n, k) and a non-constant column of ``design`` (n, p)."""
    design = design[:, design.std(axis=0) > 0]  # the intercept, and dummies constant on these subjects
    z = (vectors - vectors.mean(axis=0)) / vectors.std(axis=0)
    c = (design - design.mean(axis=0)) / design.std(axis=0)
    return float(np.abs(z.T @ c / len(z)).max())


def _residuals_uncorrelated(context: dg.AssetCheckExecutionContext, catalog: Catalog,
                            enc: EncoderName) -> dg.AssetCheckResult:
    """On each fold's training subjects, no component correlates with any covariate design column (|r| < 1e-8)."""
    settings = recorded_settings(catalog, "covariates")
    aligned = covariates_from_table(catalog.read_partition("covariates", UNPARTITIONED), settings["categorical_columns"])
    design = design_matrix(aligned, tuple(settings["covariate_columns"]))
    worst = {}
    folds = recorded_settings(catalog, enc.asset("residualized_embeddings"))["folds"]
    for fold in sorted(summary["fold"] for summary in folds):
        # one fold's training rows at a time: the whole table is 5 x N x k floats
        rows = catalog.read_partition(enc.table("residualized_embeddings"), fold_partition(fold),
                                      filters=[("split", "=", "train")])
        subject_ids, vectors = fold_vectors(rows)[fold]["train"]
        worst[fold] = _max_abs_correlation(vectors, design[pd.Index(aligned.subject_ids).get_indexer(subject_ids)])
    context.log.info("%s: max |r| per fold: %s", enc.name, worst)
    return dg.AssetCheckResult(
        passed=max(worst.values()) < RESIDUAL_MAX_ABS_R,
        metadata={"max_abs_r_per_fold": dg.MetadataValue.json({str(f): r for f, r in worst.items()}),
                  "tolerance": RESIDUAL_MAX_ABS_R},
    )


def encoder_checks(enc: EncoderName) -> list[dg.AssetChecksDefinition]:
    """The checks of encoder ``enc``'s assets; the structural and identity ones are blocking."""
    vectors = enc.table("gene_vectors")
    with_model = {"warehouse", enc.resource_key}

    def catalog(context: dg.AssetCheckExecutionContext) -> Catalog:
        return context.resources.warehouse.catalog()

    def model(context: dg.AssetCheckExecutionContext) -> DnaEncoderResource:
        return getattr(context.resources, enc.resource_key)

    @dg.asset_check(asset=enc.key("gene_vectors"), blocking=True, required_resource_keys=with_model)
    def gene_vectors_width_matches_model(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        """Every vector has exactly the model's vector width (DNABERT-2: hidden size; Caduceus: d_model)."""
        return _width_matches_model(context, catalog(context), vectors, model(context))

    @dg.asset_check(asset=enc.key("gene_vectors"), blocking=True, required_resource_keys={"warehouse"})
    def gene_vectors_have_no_nan(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        """No NaN or infinite value in any gene vector."""
        return _no_nan(context, catalog(context), vectors)

    @dg.asset_check(asset=enc.key("gene_vectors"), blocking=True, required_resource_keys={"warehouse"})
    def gene_vectors_one_row_per_gene(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        """Exactly one vector for each gene of the chunk's gene_sequences, and no other."""
        return _one_row_per_gene(context, catalog(context), vectors)

    @dg.asset_check(asset=enc.key("gene_vectors"), required_resource_keys=with_model)
    def gene_vector_reproduces_on_reembedding(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        """Each chunk's shortest gene, re-embedded alone and without the cache, reproduces its stored vector."""
        return _reproduces_on_reembedding(context, catalog(context), vectors, model(context))

    def one_identity(asset: str) -> dg.AssetChecksDefinition:
        @dg.asset_check(asset=enc.key(asset), name=f"{asset}_share_one_identity", blocking=True,
                        required_resource_keys={"warehouse"},
                        description=f"Every {asset} partition of {enc.name} was made with one embedding identity "
                                    "(model, dtype, kernel, windows, code): cohort-wide readers cannot mix models.")
        def share_one_identity(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
            return _share_one_identity(catalog(context), enc.table(asset))

        return share_one_identity

    @dg.asset_check(asset=enc.key("residualized_embeddings"), required_resource_keys={"warehouse"})
    def residualized_embeddings_uncorrelated_with_covariates(
        context: dg.AssetCheckExecutionContext,
    ) -> dg.AssetCheckResult:
        """On each fold's training subjects, no component correlates with any covariate design column (|r| < 1e-8)."""
        return _residuals_uncorrelated(context, catalog(context), enc)

    return [
        gene_vectors_width_matches_model, gene_vectors_have_no_nan, gene_vectors_one_row_per_gene,
        gene_vector_reproduces_on_reembedding,
        *(one_identity(asset) for asset in ("token_embeddings", "gene_vectors", "personal_gene_vectors")),
        residualized_embeddings_uncorrelated_with_covariates,
    ]


def build_checks(encoders: Sequence[EncoderName]) -> list[dg.AssetChecksDefinition]:
    """Every encoder's checks."""
    return [check for enc in encoders for check in encoder_checks(enc)]
