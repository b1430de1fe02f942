"""Variants layer: a cohort's VCF/BCF -> per-haplotype (or per-subject consensus) personal gene
sequences, deduplicated by the SHA-256 of the exact sequence. No Dagster here.

``vcf`` reads genotypes region by region (``read_variants``, ``VcfReader``); ``haplotypes`` applies
them to the genes' reference regions (``personal_sequences``).
"""

from neuro_omics_assets.variants.haplotypes import PersonalSequences, personal_sequences
from neuro_omics_assets.variants.vcf import ReadCounts, VariantBlock, VariantRecord, VcfReader, read_variants

__all__ = [
    "PersonalSequences", "ReadCounts", "VariantBlock", "VariantRecord", "VcfReader", "personal_sequences",
    "read_variants",
]
