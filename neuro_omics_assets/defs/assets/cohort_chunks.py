"""Group ``cohort``, per gene chunk: every subject's personal gene sequences (shared by every encoder) and, per
encoder, the vectors of the distinct ones (``personal_vector_assets``)."""

import time

import dagster as dg
import pandas as pd

from ...genome.chunks import chunk_index
from ...genome.gene_table import chunk_hash
from ...variants import PersonalSequences, personal_sequences, vcf_set_identity, vcf_set_sha256
from ...warehouse.cohort_tables import (
    personal_gene_vectors_table,
    sequence_ids,
    subject_haplotypes_table,
    unique_sequences_table,
)
from ...warehouse.tables import read_genes
from ..encoders import EncoderName
from ..execution import chunk_backfill_policy, chunk_pool, materialize_on_slurm
from ..freshness import CHUNK_HASH_KEY
from ..lineage import code_version, made_from, model_checksums, persist
from ..metadata import table_preview
from ..partitions import gene_chunks
from ..resources import CohortInputsResource, DnaEncoderResource, GenomeInputsResource, WarehouseResource
from .embeddings import encoder_resource, warehouse_resource
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
    vcfs = cohort.vcf_paths()
    vcf_files = vcf_set_identity(vcfs)  # per file: name, size, index sha256 (cheap; changes when a file is replaced)
    spec, settings = inputs.region_spec(), {"mode": cohort.mode, "pass_only": cohort.pass_only, "region": inputs.region,
                                            "missing_contig": cohort.missing_contig, "vcf_files": vcf_files}
    done: list[PersonalSequences] = []
    with inputs.genome() as genome:
        checksums = {"fasta_sha256": genome.sha256, "gtf_sha256": gtf_sha256,
                     "vcf_set_sha256": vcf_set_sha256(vcf_files)}
        for chunk in context.partition_keys:
            in_chunk = genes[genes["chunk"] == chunk_index(chunk)]
            personal = personal_sequences(genome, in_chunk, spec, vcfs, cohort.mode, cohort.samples,
                                          pass_only=cohort.pass_only, missing_contig=cohort.missing_contig)
            chunk_settings = {**settings, "reference_only_genes": personal.reference_only,
                              CHUNK_HASH_KEY: chunk_hash(in_chunk["content_hash"])}
            sequences = unique_sequences_table(personal, chunk_index(chunk))  # numbers the haplotype vectors
            for table_name, table in (("subject_haplotypes", subject_haplotypes_table(personal, chunk_index(chunk),
                                                                                      sequences)),
                                      ("unique_sequences", sequences)):
                persist(context, catalog, table_name, chunk, table, checksums, chunk_settings)
            done.append(personal)
    metadata = _haplotype_metadata(done)
    context.log.info("%d genes x %d subjects: %d haplotypes -> %d distinct sequences", metadata["genes"],
                     metadata["subjects"], metadata["haplotype_sequences"], metadata["unique_sequences"])
    if metadata["reference_only_genes"]:
        context.log.warning("%d genes on contigs no VCF covers kept the reference sequence (missing_contig=reference): "
                            "%s", metadata["reference_only_genes"], metadata["reference_only_gene_ids"])
    return dg.MaterializeResult(
        metadata={"chunks": len(context.partition_keys), **metadata, "vcf": cohort.vcf, **checksums, **settings,
                  "vcf_files": dg.MetadataValue.json(vcf_files)}
    )


def _haplotype_metadata(done: list[PersonalSequences]) -> dict[str, object]:
    """Counts over the chunks of one ``subject_haplotypes`` run, and its gene preview."""
    counts = pd.concat([personal.gene_counts for personal in done], ignore_index=True)
    reference_only = [gene_id for personal in done for gene_id in personal.reference_only]
    return {
        "genes": len(counts),
        "subjects": len(done[-1].samples) if done else 0,
        "haplotype_sequences": int(counts["n_haplotypes"].sum()),
        "unique_sequences": int(counts["n_unique"].sum()),
        "variant_records": int(counts["n_records"].sum()),
        "records_dropped_by_filter": int(counts["n_filtered"].sum()),
        "missing_calls_read_as_ref": int(counts["n_missing_calls"].sum()),
        "reference_only_genes": len(reference_only),
        "reference_only_gene_ids": reference_only,
        "preview": table_preview(counts.sort_values("n_unique", ascending=False),
                                 ["gene_id", "gene_name", "n_records", "n_haplotypes", "n_unique", "reference_only"]),
    }


def personal_vector_assets(enc: EncoderName) -> list[dg.AssetsDefinition]:
    """``personal_gene_vectors`` of encoder ``enc``."""

    @dg.asset(
        key=enc.key("personal_gene_vectors"),
        group_name="cohort",
        partitions_def=gene_chunks,
        deps=[subject_haplotypes],
        pool=chunk_pool(),
        backfill_policy=chunk_backfill_policy(),
        kinds={"pytorch", "parquet"},
        required_resource_keys={"warehouse", "execution", enc.resource_key},
        description=f"{enc.name}: one vector per distinct personal sequence, through the engine, settings and cache "
                    "of its token_embeddings: only sequences never embedded before reach the model.",
    )
    def personal_gene_vectors(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        encoder, warehouse, execution = encoder_resource(context, enc), warehouse_resource(context), context.resources.execution
        if execution.mode == "slurm":
            return materialize_on_slurm(context, enc.table("personal_gene_vectors"), "personal_gene_vectors",
                                        encoder, warehouse, execution)
        return _personal_gene_vectors(context, enc, encoder, warehouse)

    return [personal_gene_vectors]


def _personal_gene_vectors(context: dg.AssetExecutionContext, enc: EncoderName, encoder: DnaEncoderResource,
                           warehouse: WarehouseResource) -> dg.MaterializeResult:
    catalog, engine = warehouse.catalog(), encoder.engine()
    lineage = engine.lineage()
    checksums = model_checksums(lineage)
    started, rows, distinct = time.perf_counter(), 0, 0
    for chunk in context.partition_keys:
        sequences = catalog.read_partition("unique_sequences", chunk).to_pandas()
        result = engine.embed(zip(sequence_ids(sequences), sequences["sequence"], strict=True))
        table = personal_gene_vectors_table(result, sequences, chunk_index(chunk))
        persist(context, catalog, enc.table("personal_gene_vectors"), chunk, table,
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
