"""Every asset of the code location, grouped by pipeline stage: shared assets once, the embedding-derived
ones once per configured encoder (``<encoder>/<asset>``; see ``defs/encoders.py``)."""

from collections.abc import Sequence

import dagster as dg

from ...deployment import Deployment
from ..encoders import EncoderName
from .cohort import cohort_assets, covariates, subject_folds
from .cohort_chunks import personal_vector_assets, subject_haplotypes
from .comparison import comparison_asset
from .cross_species import cross_species_assets
from .embeddings import embedding_assets
from .evaluation import brain_features, evaluation_assets, leaderboard_asset
from .reference import gene_annotation, reference_genome, selected_genes
from .sequences import gene_sequences
from .tokens import TOKEN_ASSETS

SHARED_ASSETS = [
    reference_genome, gene_annotation, selected_genes, gene_sequences, subject_haplotypes, covariates, subject_folds,
    brain_features,
]


def build_assets(encoders: Sequence[EncoderName], pilot: Deployment | None) -> list:
    """The shared assets, each encoder's, the leaderboard across encoders, the token analyses (group tokens) and,
    when a deployment with an ortholog table is given, the cross-species pilot over its genomes."""
    per_encoder: list[dg.AssetsDefinition] = []
    for enc in encoders:
        per_encoder += [*embedding_assets(enc), *personal_vector_assets(enc), *cohort_assets(enc),
                        *evaluation_assets(enc)]
    cross_species = cross_species_assets(pilot, encoders) if pilot else []
    return [*SHARED_ASSETS, *per_encoder, comparison_asset(encoders), leaderboard_asset(encoders), *TOKEN_ASSETS,
            *cross_species]
