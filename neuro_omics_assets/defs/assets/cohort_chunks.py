"""Group ``cohort``, per gene chunk: every subject's personal gene sequences and their vectors."""

import time

import dagster as dg
import pandas as pd

from ...checksums import file_sha256
from ...genome.chunks import chunk_index
from ...genome.gene_table import chunk_hash
from ...variants import personal_sequences
from ...warehouse.cohort_tables import (
    personal_gene_vectors_table,
    sequence_ids,
    subject_haplotypes_table,
    unique_sequences_table,
)
from ...warehouse.tables import read_genes
from ..freshness import CHUNK_HASH_KEY
from ..lineage import code_version, made_from, model_checksums, persist
from ..metadata import table_preview
from ..partitions import gene_chunks
from ..resources import CohortInputsResource, DnaEncoderResource, GenomeInputsResource, WarehouseResource
from .reference import reference_genome, selected_genes


@dg.asset(
    group_name="cohort",
    partitions_def=gene_chunks,
    deps=[reference_genome, selected_genes],
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"vcf", "parquet"},
)
def subject_haplotypes(
    context: dg.AssetExecutionContext,
    inputs: GenomeInputsResource,
    cohort: CohortInputsResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """Which personal sequence (SHA-256) each subject carries on each haplotype of each gene, and each distinct sequence once."""
    catalog = warehouse.catalog()
    genes, gtf_sha256 = read_genes(catalog)
    spec, settings = inputs.region_spec(), {"mode": cohort.mode, "pass_only": cohort.pass_only, "region": inputs.region}
    counts, subjects = [], ()
    with inputs.genome() as genome:
        checksums = {"fasta_sha256": genome.sha256, "gtf_sha256": gtf_sha256, "vcf_sha256": file_sha256(cohort.path("vcf"))}
        for chunk in context.partition_keys:
            in_chunk = genes[genes["chunk"] == chunk_index(chunk)]
            made = {CHUNK_HASH_KEY: chunk_hash(in_chunk["content_hash"])}
            personal = personal_sequences(genome, in_chunk, spec, cohort.path("vcf"), cohort.mode, cohort.samples,
                                          pass_only=cohort.pass_only)
            for table_name, table in (("subject_haplotypes", subject_haplotypes_table(personal, chunk_index(chunk))),
                                      ("unique_sequences", unique_sequences_table(personal, chunk_index(chunk)))):
                persist(context, catalog, table_name, chunk, table, checksums, {**settings, **made})
            counts.append(personal.gene_counts)
            subjects = personal.samples
    done = pd.concat(counts, ignore_index=True)
    context.log.info("%d genes x %d subjects: %d haplotypes -> %d distinct sequences",
                     len(done), len(subjects), int(done["n_haplotypes"].sum()), int(done["n_unique"].sum()))
    return dg.MaterializeResult(
        metadata={
            "chunks": len(context.partition_keys),
            "genes": len(done),
            "subjects": len(subjects),
            "haplotype_sequences": int(done["n_haplotypes"].sum()),
            "unique_sequences": int(done["n_unique"].sum()),
            "variant_records": int(done["n_records"].sum()),
            "records_dropped_by_filter": int(done["n_filtered"].sum()),
            "missing_calls_read_as_ref": int(done["n_missing_calls"].sum()),
            "vcf": dg.MetadataValue.path(cohort.vcf),
            **checksums,
            **settings,
            "preview": table_preview(done.sort_values("n_unique", ascending=False),
                                     ["gene_id", "gene_name", "n_records", "n_haplotypes", "n_unique"]),
        }
    )


@dg.asset(
    group_name="cohort",
    partitions_def=gene_chunks,
    deps=[subject_haplotypes],
    pool="gpu",
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"pytorch", "parquet"},
)
def personal_gene_vectors(
    context: dg.AssetExecutionContext, encoder: DnaEncoderResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """One vector per distinct personal sequence, through the engine, settings and cache of token_embeddings: only sequences never embedded before reach the model."""
    catalog, engine = warehouse.catalog(), encoder.engine()
    lineage = engine.lineage()
    checksums = model_checksums(lineage)
    started, rows, distinct = time.perf_counter(), 0, 0
    for chunk in context.partition_keys:
        sequences = catalog.read_partition("unique_sequences", chunk).to_pandas()
        result = engine.embed(zip(sequence_ids(sequences), sequences["sequence"], strict=True))
        table = personal_gene_vectors_table(result, sequences, chunk_index(chunk))
        persist(context, catalog, "personal_gene_vectors", chunk, table,
                {**checksums, **made_from(catalog, "unique_sequences", chunk)}, lineage)
        rows, distinct = rows + table.num_rows, distinct + len(result.window_stats)
    # with a cache only its misses reach the model; without one every distinct sequence does
    to_model = engine.cache_misses if engine.cache is not None else distinct
    context.log.info("%d distinct sequences: %d from the cache, %d through the model (%d forward passes)",
                     distinct, engine.cache_hits, to_model, engine.model_calls)
    return dg.MaterializeResult(
        metadata={
            "chunks": len(context.partition_keys),
            "vectors": rows,
            "distinct_sequences": distinct,
            "sequences_to_model": to_model,
            "cache_hits": engine.cache_hits,
            "model_calls": engine.model_calls,
            "tokens": engine.tokens_processed,
            "tokens_per_s": round(engine.tokens_per_second, 1),
            "wall_s": round(time.perf_counter() - started, 2),
            "device": str(engine.encoder.device),
            "code_version": code_version(),
            **lineage,
        }
    )
