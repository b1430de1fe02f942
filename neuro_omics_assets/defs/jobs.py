"""Jobs: the pipeline's stages, launchable from the UI and used by ``neuro-omics demo``."""

from __future__ import annotations

import dagster as dg

from .partitions import gene_chunks

reference_job = dg.define_asset_job(
    "reference_job",
    selection=dg.AssetSelection.groups("reference"),
    description="Checksum the FASTA and select, chunk and hash the genes of the annotation.",
)

gene_chunks_job = dg.define_asset_job(
    "gene_chunks_job",
    selection=dg.AssetSelection.groups("sequences", "embeddings") - dg.AssetSelection.assets("embedding_stability"),
    partitions_def=gene_chunks,
    description="Per gene chunk: sequences → token statistics → gene vectors (one chunk, a range, or a backfill).",
)

embedding_report_job = dg.define_asset_job(
    "embedding_report_job",
    selection=dg.AssetSelection.assets("embedding_stability"),
    description="Cohort-wide report: RC and pooling stability over all gene chunks.",
)

JOBS = [reference_job, gene_chunks_job, embedding_report_job]


def partition_range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that make one run cover the chunks ``first``..``last`` (single-run backfill policy)."""
    return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
