"""Schemas of the cross-species tables (group ``cross_species``; domain code in ``neuro_omics_assets.cross_species``).

Registered into ``schemas.TABLES`` when the warehouse package is imported.

* ``species_gene_sequences`` (one partition per genome) and ``<encoder>.species_gene_vectors`` (one partition
  per genome, in the encoder's schema): the configured genomes' genes, their sequences and vectors.
* ``ortholog_pairs`` and ``ortholog_pair_report``: the kept one-to-one pairs, and every excluded row of the
  ortholog table with why (one-to-many, unknown gene, ...).
* ``ortholog_ranks``, ``ortholog_transfer``, ``zero_shot_classification``, ``zero_shot_predictions``: one
  partition per encoder (an ``encoder`` column), so the views compare encoders side by side. ``vectors`` is
  ``model`` (the encoder), ``shuffled`` (the encoder on dinucleotide-shuffled sequences: composition through
  the model) or ``kmer`` (3-mer frequencies, no model); ``direction`` is ``human->mouse`` or the reverse.
"""

from __future__ import annotations

import pyarrow as pa

from neuro_omics_assets.warehouse.schemas import (
    TABLES,
    TableSpec,
    gene_sequences_schema,
    pooled_vector_fields,
)


def _strings(*names: str) -> list[pa.Field]:
    return [pa.field(name, pa.string()) for name in names]


def species_gene_sequences_schema() -> pa.Schema:
    """One row per gene of one genome: ``gene_sequences``' columns without the chunk, and the genome's name."""
    return pa.schema([pa.field("genome", pa.string(), nullable=False),
                      *(f for f in gene_sequences_schema() if f.name != "chunk")])


def species_gene_vectors_schema(hidden_size: int) -> pa.Schema:
    """One row per gene of one genome: its pooled vector (``gene_vectors``' pooled columns)."""
    return pa.schema([pa.field("genome", pa.string(), nullable=False), pa.field("gene_id", pa.string(), nullable=False),
                      *_strings("gene_name", "gene_type"), pa.field("sha256", pa.string(), nullable=False),
                      *pooled_vector_fields(hidden_size)])


def ortholog_pairs_schema() -> pa.Schema:
    """One row per kept one-to-one pair (names from the annotations), then the ortholog table's other columns."""
    return pa.schema(_strings("genome_a", "gene_id_a", "gene_name_a", "genome_b", "gene_id_b", "gene_name_b"))


def ortholog_pair_report_schema() -> pa.Schema:
    """One row per excluded row of the ortholog table: its line (header = 1), ids, status and detail."""
    return pa.schema([pa.field("line", pa.int64()), *_strings("gene_id_a", "gene_id_b", "status", "detail")])


def ortholog_ranks_schema() -> pa.Schema:
    """One row per (encoder, vectors, direction, query gene): its ortholog's rank among all genes of the other genome."""
    return pa.schema([*_strings("encoder", "vectors", "direction", "query_gene_id", "query_gene_name",
                                "ortholog_gene_id", "ortholog_gene_name"),
                      pa.field("rank", pa.int64()), pa.field("n_candidates", pa.int64()), pa.field("cosine", pa.float64()),
                      *_strings("best_gene_id", "best_gene_name")])


def ortholog_transfer_schema() -> pa.Schema:
    """One row per (encoder, vectors, direction, metric): value, chance level, permutation null mean and p."""
    return pa.schema([*_strings("encoder", "vectors", "direction", "metric"),
                      *(pa.field(n, pa.float64()) for n in ("value", "chance", "null_mean", "p_value")),
                      *(pa.field(n, pa.int64()) for n in ("n_pairs", "n_candidates", "n_permutations", "seed"))])


def zero_shot_classification_schema() -> pa.Schema:
    """One row per (encoder, vectors or majority baseline, direction): accuracy of a classifier trained on one species."""
    return pa.schema([*_strings("encoder", "vectors", "direction", "label"),
                      pa.field("accuracy", pa.float64()), pa.field("balanced_accuracy", pa.float64()),
                      *(pa.field(n, pa.int64()) for n in ("n_train", "n_test", "n_classes_train", "n_classes_test"))])


def zero_shot_predictions_schema() -> pa.Schema:
    """One row per (encoder, vectors, direction, test gene): true and predicted class."""
    return pa.schema(_strings("encoder", "vectors", "direction", "gene_id", "gene_name", "true_label",
                              "predicted_label"))


CROSS_SPECIES_TABLES = (
    TableSpec("species_gene_sequences", species_gene_sequences_schema),
    TableSpec("species_gene_vectors", species_gene_vectors_schema, ("embedding",)),
    TableSpec("ortholog_pairs", ortholog_pairs_schema, open_columns=True),
    TableSpec("ortholog_pair_report", ortholog_pair_report_schema),
    TableSpec("ortholog_ranks", ortholog_ranks_schema),
    TableSpec("ortholog_transfer", ortholog_transfer_schema),
    TableSpec("zero_shot_classification", zero_shot_classification_schema),
    TableSpec("zero_shot_predictions", zero_shot_predictions_schema),
)
TABLES.update({spec.name: spec for spec in CROSS_SPECIES_TABLES})
