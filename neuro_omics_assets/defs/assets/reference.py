"""Group ``reference``: the genome FASTA and the selected gene annotation."""

import dagster as dg

from ...genome.annotation import annotation_sha256, read_gtf, select_genes
from ...genome.gene_table import chunk_genes, chunk_hashes, to_arrow
from ...warehouse import UNPARTITIONED
from ..lineage import persist
from ..metadata import table_preview
from ..partitions import N_CHUNKS
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


@dg.asset(group_name="reference", kinds={"gtf", "parquet"})
def gene_annotation(
    context: dg.AssetExecutionContext, inputs: GenomeInputsResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Selected genes from the GTF (and gene list): coordinates, chosen transcript, chunk, content hash."""
    spec = inputs.region_spec()
    genes = select_genes(read_gtf(inputs.gtf), inputs.genes_wanted(), inputs.gene_type)
    chunked = chunk_genes(genes, spec, N_CHUNKS)
    checksums = {"gtf_sha256": annotation_sha256(inputs.gtf)}
    persist(context, warehouse.catalog(), "genes", UNPARTITIONED, to_arrow(chunked), checksums, {"region": spec.kind})
    hashes = chunk_hashes(chunked)
    context.log.info("%d genes in %d of %d chunks", len(chunked), len(hashes), N_CHUNKS)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(inputs.gtf),
            **checksums,
            "genes": len(chunked),
            "chunks_with_genes": len(hashes),
            "transcript_rules": dg.MetadataValue.json(chunked["transcript_rule"].value_counts().to_dict()),
            "preview": table_preview(chunked, ["gene_id", "gene_name", "gene_type", "contig", "start", "end", "strand", "transcript_id", "chunk"]),
        },
        data_version=dg.DataVersion(checksums["gtf_sha256"]),
    )
