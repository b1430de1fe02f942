"""Jobs: the pipeline's stages, launchable from the UI and used by ``neuro-omics demo``."""

from __future__ import annotations

import dagster as dg

reference_job = dg.define_asset_job(
    "reference_job",
    selection=dg.AssetSelection.groups("reference") | dg.AssetSelection.assets("gene_annotation"),
    description="Checksum the FASTA, observe the annotation, and select, chunk and hash its genes.",
)

observe_gene_annotation_job = dg.define_asset_job(
    "observe_gene_annotation_job",
    selection=dg.AssetSelection.assets("gene_annotation"),
    description="Observe the annotation file and gene list (what the schedule runs; launch it by hand too).",
)

# Every asset partitioned by gene chunk: what one changed chunk re-materializes.
CHUNK_ASSETS = ("gene_sequences", "token_embeddings", "gene_vectors", "subject_haplotypes", "personal_gene_vectors")

chunk_assets_job = dg.define_asset_job(
    "chunk_assets_job",
    selection=dg.AssetSelection.assets(*CHUNK_ASSETS),
    description="Everything of one gene chunk, reference and personal (what an annotation change requests).",
)

gene_chunks_job = dg.define_asset_job(
    "gene_chunks_job",
    selection=dg.AssetSelection.groups("sequences", "embeddings") - dg.AssetSelection.assets("embedding_stability"),
    description="Per gene chunk: sequences → token statistics → gene vectors (one chunk, a range, or a backfill).",
)

embedding_report_job = dg.define_asset_job(
    "embedding_report_job",
    selection=dg.AssetSelection.assets("embedding_stability"),
    description="Cohort-wide report: RC and pooling stability over all gene chunks.",
)

gene_vector_checks_job = dg.define_asset_job(
    "gene_vector_checks_job",
    selection=dg.AssetSelection.checks_for_assets("gene_vectors"),
    description="Re-run every gene_vectors check over all chunks in the warehouse (no materialization).",
)

cohort_chunks_job = dg.define_asset_job(
    "cohort_chunks_job",
    selection=dg.AssetSelection.assets("subject_haplotypes", "personal_gene_vectors"),
    description="Per gene chunk: every subject's haplotype sequences → vectors of the distinct ones (cache shared "
    "with token_embeddings).",
)

cohort_job = dg.define_asset_job(
    "cohort_job",
    selection=dg.AssetSelection.groups("cohort") - dg.AssetSelection.assets("subject_haplotypes", "personal_gene_vectors"),
    description="Cohort-wide: covariates, folds, subject embeddings, train-fold PCA, residualized embeddings.",
)

tokens_chunks_job = dg.define_asset_job(
    "tokens_chunks_job",
    selection=dg.AssetSelection.assets("bpe_region_tokens"),
    description="Per gene chunk: region classes of the token-analysis genes, tokenized (one chunk, a range, or a backfill).",
)

tokens_job = dg.define_asset_job(
    "tokens_job",
    selection=dg.AssetSelection.groups("tokens") - dg.AssetSelection.assets("bpe_region_tokens"),
    description="BPE token analyses over all chunks: vocabulary, token use per region class, motif enrichment, codon frame.",
)

evaluation_job = dg.define_asset_job(
    "evaluation_job",
    selection=dg.AssetSelection.groups("evaluation"),
    description="Brain features per fold, gene–brain CCA with permutation inference, phenotype prediction, leaderboard.",
)

# In dependency order: what `neuro-omics demo` runs. The token analyses read their own inputs (the `tokens`
# resource); the demo runs them last.
PIPELINE_JOBS = [reference_job, gene_chunks_job, embedding_report_job, cohort_chunks_job, cohort_job, evaluation_job,
                 tokens_chunks_job, tokens_job]
JOBS = [*PIPELINE_JOBS, gene_vector_checks_job, observe_gene_annotation_job, chunk_assets_job]


def partition_range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that make one run cover the chunks ``first``..``last`` (single-run backfill policy)."""
    return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
