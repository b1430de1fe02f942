"""Every asset of the code location, grouped by pipeline stage."""

from .embeddings import embedding_stability, gene_vectors, token_embeddings
from .reference import gene_annotation, reference_genome
from .sequences import gene_sequences

ASSETS = [reference_genome, gene_annotation, gene_sequences, token_embeddings, gene_vectors, embedding_stability]
