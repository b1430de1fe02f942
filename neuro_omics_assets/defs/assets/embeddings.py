"""Group ``embeddings``, per encoder: per-window token statistics, gene vectors, and the stability report.

``embedding_assets(encoder)`` builds the three assets of one configured encoder (``<name>/token_embeddings``
…, tables ``<name>.token_embeddings`` …; see ``defs/encoders.py``).
"""

import time

import dagster as dg
import pyarrow as pa

from ...embedding.stability import stability_report
from ...genome.chunks import chunk_index
from ...warehouse import UNPARTITIONED
from ...warehouse.tables import gene_vectors_table, token_embeddings_table, window_stats_by_gene
from ..encoders import EncoderName
from ..lineage import code_version, made_from, model_checksums, persist, stored_identity
from ..metadata import png_markdown, stability_figure, table_preview, throughput_figure
from ..partitions import gene_chunks
from ..resources import DnaEncoderResource, WarehouseResource
from .sequences import gene_sequences

# Settings of token_embeddings that gene_vectors carries on besides the identity.
MODEL_SIZES = ("vocab_size", "hidden_size")


def encoder_resource(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
                     encoder: EncoderName) -> DnaEncoderResource:
    """The ``DnaEncoderResource`` of ``encoder`` (required by every asset built for it)."""
    return getattr(context.resources, encoder.resource_key)


def warehouse_resource(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> WarehouseResource:
    return context.resources.warehouse


def embedding_assets(enc: EncoderName) -> list[dg.AssetsDefinition]:
    """``token_embeddings``, ``gene_vectors`` and ``embedding_stability`` of encoder ``enc``."""
    resources = {"warehouse", enc.resource_key}

    @dg.asset(
        key=enc.key("token_embeddings"),
        group_name="embeddings",
        partitions_def=gene_chunks,
        deps=[gene_sequences],
        pool="gpu",
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={"pytorch", "parquet"},
        required_resource_keys=resources,
        description=f"{enc.name}: per-window statistics (forward and RC strand): base-weighted token sums, CLS, "
                    "token/base counts.",
    )
    def token_embeddings(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        return _token_embeddings(context, enc, encoder_resource(context, enc), warehouse_resource(context))

    @dg.asset(
        key=enc.key("gene_vectors"),
        group_name="embeddings",
        partitions_def=gene_chunks,
        deps=[token_embeddings],
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={"parquet"},
        required_resource_keys=resources,
        description=f"{enc.name}: one vector per gene (the encoder's pooling and RC handling) with cosine(forward, "
                    "RC) and cosine(mean, CLS).",
    )
    def gene_vectors(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        return _gene_vectors(context, enc, encoder_resource(context, enc), warehouse_resource(context))

    @dg.asset(
        key=enc.key("embedding_stability"),
        group_name="embeddings",
        deps=[token_embeddings, gene_vectors],
        automation_condition=dg.AutomationCondition.eager(),
        kinds={"parquet"},
        required_resource_keys={"warehouse"},
        description=f"{enc.name}: does RC averaging matter, is mean or CLS pooling more stable? Per gene and per "
                    "strategy, over all chunks.",
    )
    def embedding_stability(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        return _embedding_stability(context, enc, warehouse_resource(context))

    return [token_embeddings, gene_vectors, embedding_stability]


def _token_embeddings(context: dg.AssetExecutionContext, enc: EncoderName, encoder: DnaEncoderResource,
                      warehouse: WarehouseResource) -> dg.MaterializeResult:
    catalog, engine = warehouse.catalog(), encoder.engine()
    lineage = engine.lineage()
    totals, tokens_per_s = {"genes": 0, "windows": 0}, {}
    started = time.perf_counter()
    for n, chunk in enumerate(context.partition_keys, start=1):
        genes = catalog.read_partition("gene_sequences", chunk).to_pandas()
        tokens_before, seconds_before = engine.tokens_processed, engine.model_seconds
        result = engine.embed(zip(genes["gene_id"], genes["sequence"], strict=True))
        table = token_embeddings_table(result, genes, chunk_index(chunk))
        seconds = engine.model_seconds - seconds_before
        if seconds > 0:
            tokens_per_s[chunk] = (engine.tokens_processed - tokens_before) / seconds
        persist(context, catalog, enc.table("token_embeddings"), chunk, table,
                {**model_checksums(lineage), **made_from(catalog, "gene_sequences", chunk)},
                {**lineage, "tokens_per_s": round(tokens_per_s.get(chunk, 0.0), 1)})
        totals["genes"] += len(genes)
        totals["windows"] += table.num_rows // 2
        context.log.info(
            "chunk %s (%d/%d): %d genes, %d windows, %.0f tokens/s",
            chunk, n, len(context.partition_keys), len(genes), table.num_rows // 2, engine.tokens_per_second,
        )
    return dg.MaterializeResult(
        metadata={
            "chunks": len(context.partition_keys),
            "genes": totals["genes"],
            "windows": totals["windows"],
            "tokens": engine.tokens_processed,
            "tokens_per_s": round(engine.tokens_per_second, 1),
            "model_calls": engine.model_calls,
            "cache_hits": engine.cache_hits,
            "wall_s": round(time.perf_counter() - started, 2),
            "device": str(engine.encoder.device),
            "code_version": code_version(),
            **lineage,
            **({"tokens_per_s_by_chunk": png_markdown(throughput_figure(tokens_per_s))} if tokens_per_s else {}),
        }
    )


def _gene_vectors(context: dg.AssetExecutionContext, enc: EncoderName, encoder: DnaEncoderResource,
                  warehouse: WarehouseResource) -> dg.MaterializeResult:
    catalog, spec = warehouse.catalog(), encoder.spec()
    frames, settings = [], {}
    for chunk in context.partition_keys:
        windows = catalog.read_partition(enc.table("token_embeddings"), chunk)
        table = gene_vectors_table(windows, chunk_index(chunk), spec.pooling, spec.rc_average)
        upstream = catalog.partition_metadata(enc.table("token_embeddings"), chunk)
        # the statistics' identity, with the pooling applied here (no model call, no model load)
        identity = stored_identity(catalog, enc.table("token_embeddings"), [chunk]).with_pooling(spec.pooling,
                                                                                                 spec.rc_average)
        settings = {**identity.metadata(), **{key: int(upstream[key]) for key in MODEL_SIZES}}
        persist(context, catalog, enc.table("gene_vectors"), chunk, table,
                {**model_checksums(upstream), **made_from(catalog, enc.table("token_embeddings"), chunk)}, settings)
        frames.append(table.drop_columns(["embedding"]))
    done = pa.concat_tables(frames).to_pandas()
    return dg.MaterializeResult(
        metadata={
            "chunks": len(context.partition_keys),
            "genes": len(done),
            **settings,
            "code_version": code_version(),
            "min_rc_cosine": float(done["rc_cosine"].min()) if len(done) else None,
            "median_rc_cosine": float(done["rc_cosine"].median()) if len(done) else None,
            "preview": table_preview(done, ["gene_id", "gene_name", "n_windows", "n_bases", "rc_cosine", "cls_mean_cosine"]),
        }
    )


def _embedding_stability(context: dg.AssetExecutionContext, enc: EncoderName,
                         warehouse: WarehouseResource) -> dg.MaterializeResult:
    catalog = warehouse.catalog()
    tokens = enc.table("token_embeddings")
    chunks = catalog.partitions(tokens)
    identity = stored_identity(catalog, tokens, chunks)
    genes = (
        (gene_id, name, stats)
        for chunk in chunks
        for gene_id, name, _, stats in window_stats_by_gene(catalog.read_partition(tokens, chunk))
    )
    per_gene, summary = stability_report(genes)
    inputs = {"token_embeddings_partitions": str(len(chunks))}
    settings = identity.metadata() if identity else {}
    for table_name, frame in (("embedding_stability", per_gene), ("embedding_stability_summary", summary)):
        persist(context, catalog, enc.table(table_name), UNPARTITIONED, pa.Table.from_pandas(frame, preserve_index=False), inputs,
                settings)
    context.log.info("stability over %d genes in %d chunks", len(per_gene), len(chunks))
    return dg.MaterializeResult(
        metadata={
            "genes": len(per_gene),
            "chunks": len(chunks),
            **settings,
            "median_rc_cosine": float(per_gene["rc_cosine"].median()) if len(per_gene) else None,
            "median_cls_mean_cosine": float(per_gene["cls_mean_cosine"].median()) if len(per_gene) else None,
            "strategies": dg.MetadataValue.md(summary.to_markdown(index=False, floatfmt=".4f")),
            "rc_stability_plot": png_markdown(stability_figure(per_gene)),
            "least_rc_stable": table_preview(per_gene.sort_values("rc_cosine"), ["gene_id", "gene_name", "rc_cosine", "cls_rc_cosine"]),
        }
    )
