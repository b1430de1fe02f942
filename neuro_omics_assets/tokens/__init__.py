"""What DNABERT-2's BPE tokens are, where they fall, which motifs they carry, and whether they respect
the codon frame (no Dagster).

Modules: ``vocabulary`` (the token table), ``regions`` (region classes per transcript), ``usage``
(tokenization and counts), ``enrichment`` (exact test, effect size, BH FDR), ``jaspar`` (PWM matching
with a shuffle null), ``codon`` (boundary phases in CDS), ``embedding_map`` (2-D map of the input
token embeddings), ``plots`` and ``analysis`` (the analyses end to end).
"""
