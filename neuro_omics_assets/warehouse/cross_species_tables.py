"""Builders of the cross-species tables (schemas in ``cross_species_schemas``)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from ..embedding.engine import EmbeddingResult
from .cross_species_schemas import species_gene_sequences_schema, species_gene_vectors_schema
from .schemas import validate
from .tables import pooled_columns


def species_gene_sequences_table(genome: str, sequences: pd.DataFrame) -> pa.Table:
    """``genome``'s gene sequence table (``genome.extract`` columns) with the genome's name."""
    table = pa.Table.from_pandas(sequences.assign(genome=genome), preserve_index=False)
    return validate(table, species_gene_sequences_schema(), f"species_gene_sequences/{genome}")


def species_gene_vectors_table(genome: str, result: EmbeddingResult, sequences: pd.DataFrame) -> pa.Table:
    """One vector per row of ``genome``'s sequence table, embedded under its ``gene_id``."""
    ids = sequences["gene_id"].tolist()
    table = pa.table({"genome": [genome] * len(ids), "gene_id": ids, "gene_name": sequences["gene_name"].tolist(),
                      "gene_type": sequences["gene_type"].tolist(), "sha256": sequences["sha256"].tolist(),
                      **pooled_columns(result, ids)})
    return validate(table, species_gene_vectors_schema(result.hidden_size), f"species_gene_vectors/{genome}")
