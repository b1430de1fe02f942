"""Jobs: the pipeline's stages, launchable from the UI and used by ``neuro-omics demo``.

A stage that computes with an encoder covers every configured encoder (one run materializes the assets
of all of them; the ``gpu`` pool runs one model pass at a time per device).
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from .encoders import EncoderName

#: Chunk assets shared by every encoder, and those computed per encoder (``<encoder>/<asset>``).
SHARED_CHUNK_ASSETS = ("gene_sequences", "subject_haplotypes")
ENCODER_CHUNK_ASSETS = ("token_embeddings", "gene_vectors", "personal_gene_vectors")

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


def encoder_keys(encoders: Sequence[EncoderName], *assets: str) -> list[dg.AssetKey]:
    """``<encoder>/<asset>`` for every encoder and asset."""
    return [enc.key(asset) for enc in encoders for asset in assets]


def chunk_asset_keys(encoders: Sequence[EncoderName]) -> list[dg.AssetKey]:
    """Every asset partitioned by gene chunk: what one changed chunk re-materializes."""
    return [dg.AssetKey(name) for name in SHARED_CHUNK_ASSETS] + encoder_keys(encoders, *ENCODER_CHUNK_ASSETS)


def cross_species_jobs(encoders: Sequence[EncoderName]) -> list[UnresolvedAssetJobDefinition]:
    """The pilot's two stages: per genome (its partitions) the gene sequences and each encoder's vectors; then the
    ortholog pairs and each encoder's transfer and zero-shot classification."""
    genomes = dg.AssetSelection.assets("species_gene_sequences", *encoder_keys(encoders, "species_gene_vectors"))
    return [
        dg.define_asset_job("cross_species_genomes_job", selection=genomes,
                            description="Per genome: its genes' sequences, and their vectors for every encoder."),
        dg.define_asset_job("cross_species_job", selection=dg.AssetSelection.groups("cross_species") - genomes,
                            description="Ortholog pairs; per encoder, ortholog retrieval with nulls and controls, and "
                                        "zero-shot classification across species."),
    ]


def build_jobs(encoders: Sequence[EncoderName], cross_species: bool) -> list[UnresolvedAssetJobDefinition]:
    """Every job, in dependency order first (``PIPELINE_JOBS``: what ``neuro-omics demo`` runs); the cross-species
    jobs when the group exists."""
    stability = dg.AssetSelection.assets(*encoder_keys(encoders, "embedding_stability"))
    chunk_vectors = dg.AssetSelection.assets("subject_haplotypes", *encoder_keys(encoders, "personal_gene_vectors"))
    pipeline = [
        reference_job,
        dg.define_asset_job(
            "gene_chunks_job",
            selection=dg.AssetSelection.groups("sequences", "embeddings") - stability,
            description="Per gene chunk and encoder: sequences → token statistics → gene vectors (one chunk, a range, "
                        "or a backfill).",
        ),
        dg.define_asset_job(
            "embedding_report_job",
            selection=stability | dg.AssetSelection.groups("comparison"),
            description="Over all gene chunks, per encoder: RC and pooling stability; across encoders: the comparison.",
        ),
        dg.define_asset_job(
            "cohort_chunks_job",
            selection=chunk_vectors,
            description="Per gene chunk: every subject's haplotype sequences → per encoder, vectors of the distinct "
                        "ones (cache shared with token_embeddings).",
        ),
        dg.define_asset_job(
            "cohort_job",
            selection=dg.AssetSelection.groups("cohort") - chunk_vectors,
            description="Cohort-wide: covariates, folds, and per encoder subject embeddings, train-fold PCA, "
                        "residualized embeddings.",
        ),
        dg.define_asset_job(
            "evaluation_job",
            selection=dg.AssetSelection.groups("evaluation"),
            description="Brain features per fold; per encoder gene–brain CCA with permutation inference and phenotype "
                        "prediction; the leaderboard across encoders.",
        ),
        tokens_chunks_job,
        tokens_job,
        *(cross_species_jobs(encoders) if cross_species else []),
    ]
    others = [
        dg.define_asset_job(
            "gene_vector_checks_job",
            selection=dg.AssetSelection.checks_for_assets(*encoder_keys(encoders, "gene_vectors")),
            description="Re-run every gene_vectors check of every encoder over all chunks in the warehouse (no "
                        "materialization).",
        ),
        observe_gene_annotation_job,
        dg.define_asset_job(
            "chunk_assets_job",
            selection=dg.AssetSelection.assets(*chunk_asset_keys(encoders)),
            description="Everything of one gene chunk, reference and personal, for every encoder (what an annotation "
                        "change requests).",
        ),
    ]
    return [*pipeline, *others]


#: The names of the jobs ``neuro-omics demo`` runs, in dependency order.
PIPELINE_JOBS = ("reference_job", "gene_chunks_job", "embedding_report_job", "cohort_chunks_job", "cohort_job",
                 "evaluation_job", "tokens_chunks_job", "tokens_job", "cross_species_genomes_job", "cross_species_job")


def partition_range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that make one run cover the chunks ``first``..``last`` (single-run backfill policy)."""
    return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
