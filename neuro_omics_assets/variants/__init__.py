"""Variants layer: a cohort's VCF/BCF -> per-haplotype (or per-subject consensus) personal gene
sequences, deduplicated by the SHA-256 of the exact sequence. No Dagster here.

``vcf`` reads genotypes region by region (``read_variants``, ``VcfReader``); ``vcf_set`` reads a
cohort split over several files, one per chromosome (``VcfSet``, ``vcf_paths``); ``haplotypes``
applies them to the genes' reference regions (``personal_sequences``).
"""

from neuro_omics_assets.variants.haplotypes import PersonalSequences, personal_sequences
from neuro_omics_assets.variants.vcf import ReadCounts, VariantBlock, VariantRecord, VcfReader, read_variants
from neuro_omics_assets.variants.vcf_set import (
    MissingContig,
    VcfSet,
    vcf_paths,
    vcf_set_identity,
    vcf_set_sha256,
)

__all__ = [
    "MissingContig", "PersonalSequences", "ReadCounts", "VariantBlock", "VariantRecord", "VcfReader", "VcfSet",
    "personal_sequences", "read_variants", "vcf_paths", "vcf_set_identity", "vcf_set_sha256",
]
