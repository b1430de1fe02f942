"""Every asset of the code location, grouped by pipeline stage."""

from .cohort import covariates, pca_basis, residualized_embeddings, subject_embeddings, subject_folds
from .cohort_chunks import personal_gene_vectors, subject_haplotypes
from .embeddings import embedding_stability, gene_vectors, token_embeddings
from .evaluation import brain_features, encoder_leaderboard, gene_brain_cca, phenotype_prediction
from .reference import gene_annotation, reference_genome, selected_genes
from .sequences import gene_sequences
from .tokens import TOKEN_ASSETS

ASSETS = [
    reference_genome, gene_annotation, selected_genes, gene_sequences, token_embeddings, gene_vectors, embedding_stability,
    subject_haplotypes, personal_gene_vectors, covariates, subject_folds, subject_embeddings, pca_basis,
    residualized_embeddings,
    brain_features, gene_brain_cca, phenotype_prediction, encoder_leaderboard,
]
ASSETS += TOKEN_ASSETS  # group tokens: BPE token analyses
