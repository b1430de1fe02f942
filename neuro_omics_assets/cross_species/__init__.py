"""Cross-species pilot: ortholog pairs, retrieval and zero-shot transfer of gene vectors between two genomes."""
