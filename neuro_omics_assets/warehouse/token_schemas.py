"""Schemas of the BPE token-analysis tables (``tokens`` package); registered into ``schemas.TABLES``.

Column meanings are documented where the tables are built: ``tokens.vocabulary.vocabulary_table``,
``tokens.analysis.region_tokens``, ``tokens.usage.usage_table``, ``tokens.enrichment`` /
``tokens.jaspar.best_matches`` and ``tokens.codon.codon_frame_tables``.
"""

from __future__ import annotations

import pyarrow as pa

from neuro_omics_assets.warehouse.schemas import TABLES, TableSpec


def _schema(*fields: tuple[str, pa.DataType] | tuple[str, pa.DataType, bool]) -> pa.Schema:
    """Fields as ``(name, type)`` (nullable) or ``(name, type, False)`` (required)."""
    return pa.schema([pa.field(f[0], f[1], nullable=f[2] if len(f) == 3 else True) for f in fields])


def bpe_vocabulary_schema() -> pa.Schema:
    """One row per token id of the tokenizer."""
    return _schema(
        ("token_id", pa.int64(), False), ("token", pa.string(), False), ("special", pa.bool_(), False),
        ("length", pa.int64(), False), ("gc_fraction", pa.float64()), ("cpg_count", pa.int64(), False),
        ("repeat_unit", pa.string()), ("low_complexity", pa.bool_(), False), ("rc_token", pa.string()),
        ("rc_token_id", pa.int64()), ("pc1", pa.float64()), ("pc2", pa.float64()),
    )


def bpe_region_tokens_schema() -> pa.Schema:
    """One row per (gene, region class, piece): its token ids in 5'->3' order."""
    return _schema(
        ("gene_id", pa.string(), False), ("gene_name", pa.string()), ("contig", pa.string(), False),
        ("strand", pa.string(), False), ("transcript_id", pa.string()), ("region_class", pa.string(), False),
        ("piece", pa.int64(), False), ("start", pa.int64(), False), ("end", pa.int64(), False),
        ("length", pa.int64(), False), ("n_count", pa.int64(), False), ("token_ids", pa.list_(pa.int32()), False),
        ("n_tokens", pa.int64(), False), ("cds_phase", pa.int64()),
    )


def bpe_token_usage_schema() -> pa.Schema:
    """One row per (region class, token used there)."""
    return _schema(
        ("region_class", pa.string(), False), ("token_id", pa.int64(), False), ("token", pa.string(), False),
        ("length", pa.int64(), False), ("count", pa.int64(), False), ("frequency", pa.float64(), False),
        ("class_tokens", pa.int64(), False), ("class_bases", pa.int64(), False),
    )


def bpe_motif_enrichment_schema() -> pa.Schema:
    """One row per (tested region class, tested token); JASPAR columns set for the top enriched ones."""
    return _schema(
        ("region_class", pa.string(), False), ("token_id", pa.int64(), False), ("token", pa.string(), False),
        ("count", pa.int64(), False), ("class_tokens", pa.int64(), False), ("background_count", pa.int64(), False),
        ("background_tokens", pa.int64(), False), ("log2_odds_ratio", pa.float64(), False),
        ("ci_low", pa.float64(), False), ("ci_high", pa.float64(), False), ("p_value", pa.float64(), False),
        ("q_value", pa.float64(), False), ("direction", pa.string(), False), ("jaspar_id", pa.string()),
        ("jaspar_tf", pa.string()), ("jaspar_score", pa.float64()), ("jaspar_max_score", pa.float64()),
        ("jaspar_strand", pa.string()), ("jaspar_p", pa.float64()), ("jaspar_p_any_matrix", pa.float64()),
    )


def bpe_codon_frame_schema() -> pa.Schema:
    """One row per coding gene (``scope`` gene) plus one ``pooled`` row."""
    return _schema(
        ("scope", pa.string(), False), ("gene_id", pa.string()), ("gene_name", pa.string()),
        ("transcript_id", pa.string()), ("contig", pa.string()), ("genetic_code", pa.int64()),
        ("cds_phase", pa.int64()), ("cds_length", pa.int64(), False), ("n_codons", pa.int64(), False),
        ("dropped_bases", pa.int64(), False), ("start_codon", pa.string()), ("start_valid", pa.bool_()),
        ("internal_stops", pa.int64(), False), ("terminal_stop", pa.bool_()), ("n_boundaries", pa.int64(), False),
        *((f"phase{p}", pa.int64(), False) for p in range(3)), *((f"share{p}", pa.float64()) for p in range(3)),
        *(field for p in range(3) for field in ((f"null_low{p}", pa.float64()), (f"null_high{p}", pa.float64()))),
        ("chi2", pa.float64()), ("chi2_p", pa.float64()), ("shuffle_p", pa.float64()),
    )


def bpe_codon_tokens_schema() -> pa.Schema:
    """One row per token seen inside a coding window: how often it splits a codon."""
    return _schema(
        ("token_id", pa.int64(), False), ("token", pa.string(), False), ("length", pa.int64(), False),
        ("occurrences", pa.int64(), False), ("splitting", pa.int64(), False), ("split_fraction", pa.float64(), False),
        *((f"starts_phase{p}", pa.int64(), False) for p in range(3)),
    )


TOKEN_TABLES = {
    "bpe_vocabulary": bpe_vocabulary_schema,
    "bpe_region_tokens": bpe_region_tokens_schema,
    "bpe_token_usage": bpe_token_usage_schema,
    "bpe_motif_enrichment": bpe_motif_enrichment_schema,
    "bpe_codon_frame": bpe_codon_frame_schema,
    "bpe_codon_tokens": bpe_codon_tokens_schema,
}
TABLES.update({name: TableSpec(name, build) for name, build in TOKEN_TABLES.items()})
