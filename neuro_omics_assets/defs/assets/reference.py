"""Group ``reference``: the genome FASTA, the annotation source, and the selected gene table."""

import dagster as dg

from ...genome.annotation import select_genes
from ...genome.gene_table import chunk_genes, chunk_hashes, to_arrow
from ...genome.gff3 import read_annotation
from ...warehouse import UNPARTITIONED
from ..freshness import stale_chunks_now
from ..lineage import persist
from ..metadata import table_preview
from ..partitions import N_CHUNKS, gene_chunks
from ..resources import GenomeInputsResource, WarehouseResource


@dg.asset(group_name="reference", kinds={"fasta"})
def reference_genome(context: dg.AssetExecutionContext, inputs: GenomeInputsResource) -> dg.MaterializeResult:
    """The reference FASTA: its checksum and contigs. Its data version is the FASTA's SHA-256."""
    with inputs.genome() as genome:
        sha256, contigs = genome.sha256, genome.contigs
    context.log.info("FASTA %s: %d contigs, sha256 %s", inputs.fasta, len(contigs), sha256)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(inputs.fasta),
            "sha256": sha256,
            "contigs": len(contigs),
            "total_bp": sum(contigs.values()),
            "contig_lengths": dg.MetadataValue.json(dict(list(contigs.items())[:50])),
        },
        data_version=dg.DataVersion(sha256),
    )


@dg.observable_source_asset(group_name="reference", required_resource_keys={"inputs"})
def gene_annotation(context) -> dg.ObserveResult:
    """The annotation file and gene list; data version = SHA-256 of both plus the selection settings.

    Observed on a schedule (``observe_gene_annotation_schedule``) or by hand; a new data version makes
    ``selected_genes`` refresh, an unchanged one (even a touched file) does nothing.
    """
    inputs: GenomeInputsResource = context.resources.inputs
    fingerprint = inputs.annotation_fingerprint()
    return dg.ObserveResult(
        data_version=dg.DataVersion(fingerprint["sha256"]),
        metadata={"gtf": dg.MetadataValue.path(inputs.gtf), **fingerprint},
    )


@dg.asset(
    group_name="reference",
    deps=[gene_annotation],
    automation_condition=dg.AutomationCondition.eager(),
    kinds={"parquet"},
)
def selected_genes(
    context: dg.AssetExecutionContext, inputs: GenomeInputsResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Selected genes: coordinates, chosen transcript and rule, chunk, and a content hash per gene and chunk."""
    spec, fingerprint = inputs.region_spec(), inputs.annotation_fingerprint()
    chunked = chunk_genes(select_genes(read_annotation(inputs.path("gtf")), inputs.genes_wanted(), inputs.gene_type), spec, N_CHUNKS)
    catalog = warehouse.catalog()
    checksums = {"gtf_sha256": fingerprint["gtf_sha256"], "annotation_sha256": fingerprint["sha256"]}
    persist(context, catalog, "genes", UNPARTITIONED, to_arrow(chunked), checksums, {"region": spec.kind})
    # chunks whose sequences or haplotypes the new gene selection makes stale (each encoder's follow them)
    stale = sorted(stale_chunks_now(catalog, gene_chunks.get_partition_keys(), inputs, {}))
    n_chunks_with_genes = len(chunk_hashes(chunked))
    context.log.info("%d genes in %d chunks; out of date: %s", len(chunked), n_chunks_with_genes, stale)
    return dg.MaterializeResult(
        metadata={
            **fingerprint,
            "genes": len(chunked),
            "chunks_with_genes": n_chunks_with_genes,
            "out_of_date_chunks": dg.MetadataValue.json(stale),
            "transcript_rules": dg.MetadataValue.json(chunked["transcript_rule"].value_counts().to_dict()),
            "preview": table_preview(chunked, ["gene_id", "gene_name", "gene_type", "contig", "start", "end", "strand",
                                               "transcript_id", "chunk"]),
        },
        data_version=dg.DataVersion(fingerprint["sha256"]),
    )
