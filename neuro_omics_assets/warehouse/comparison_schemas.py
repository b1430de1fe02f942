"""Schemas of the encoder-comparison tables (asset ``encoder_comparison``, group ``comparison``).

Registered into ``schemas.TABLES`` when the warehouse package is imported. Columns follow
``evaluation.encoder_comparison`` (``PAIR_COLUMNS``, ``RC_QUANTILES``): ``encoder_rc_agreement`` per encoder
and gene, ``encoder_rc_summary`` per encoder, ``encoder_pairs`` per encoder pair (CKA, rank correlation of the
gene–gene similarity matrices, kNN overlap, each with its gene-permutation null, p and BH q), ``encoder_knn``
per encoder pair and gene.
"""

from __future__ import annotations

import pyarrow as pa

from neuro_omics_assets.evaluation.encoder_comparison import PAIR_COLUMNS, RC_QUANTILES
from neuro_omics_assets.warehouse.schemas import TABLES, TableSpec

_COUNTS = frozenset({"n_genes", "n_genes_total", "k_neighbours", "n_permutations", "seed"})


def _columns(names: tuple[str, ...] | list[str], strings: tuple[str, ...]) -> pa.Schema:
    return pa.schema([pa.field(n, pa.string() if n in strings else pa.int64() if n in _COUNTS else pa.float64())
                      for n in names])


def encoder_rc_agreement_schema() -> pa.Schema:
    """cosine(forward-strand vector, reverse-complement-strand vector) per encoder and gene."""
    return _columns(("encoder", "gene_id", "rc_cosine"), ("encoder", "gene_id"))


def encoder_rc_summary_schema() -> pa.Schema:
    """Per encoder: genes, mean, min, quantiles, max and the largest |1 - cosine|, and its RC handling."""
    names = ["encoder", "rc_handling", "n_genes", "mean", "min", *RC_QUANTILES, "max", "max_deviation"]
    return _columns(names, ("encoder", "rc_handling"))


def encoder_pairs_schema() -> pa.Schema:
    """Per encoder pair: the similarity-structure statistics with their nulls."""
    return _columns(PAIR_COLUMNS, ("encoder_a", "encoder_b"))


def encoder_knn_schema() -> pa.Schema:
    """Per encoder pair and gene: the share of its k nearest neighbours both encoders agree on."""
    return _columns(("encoder_a", "encoder_b", "gene_id", "knn_overlap"), ("encoder_a", "encoder_b", "gene_id"))


COMPARISON_TABLES = (
    TableSpec("encoder_rc_agreement", encoder_rc_agreement_schema),
    TableSpec("encoder_rc_summary", encoder_rc_summary_schema),
    TableSpec("encoder_pairs", encoder_pairs_schema),
    TableSpec("encoder_knn", encoder_knn_schema),
)
TABLES.update({spec.name: spec for spec in COMPARISON_TABLES})
