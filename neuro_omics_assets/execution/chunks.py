"""One gene chunk's model pass from plain inputs: the computation both local and SLURM execution run (no Dagster)."""

from __future__ import annotations

from typing import Literal

import pyarrow as pa

from ..embedding.engine import EmbeddingEngine
from ..genome.chunks import chunk_index
from ..warehouse.catalog import Catalog
from ..warehouse.cohort_tables import personal_gene_vectors_table, sequence_ids
from ..warehouse.tables import token_embeddings_table

ChunkKind = Literal["token_embeddings", "personal_gene_vectors"]
#: the table each kind of chunk reads its sequences from
INPUT_TABLE: dict[str, str] = {"token_embeddings": "gene_sequences", "personal_gene_vectors": "unique_sequences"}
STAGING_DIR = "staging"


def compute_chunk(kind: ChunkKind, engine: EmbeddingEngine, catalog: Catalog, chunk: str) -> pa.Table:
    """The ``kind`` table of ``chunk``: its sequences (``INPUT_TABLE[kind]``) through ``engine``."""
    source = catalog.read_partition(INPUT_TABLE[kind], chunk).to_pandas()
    if kind == "token_embeddings":
        result = engine.embed(zip(source["gene_id"], source["sequence"], strict=True))
        return token_embeddings_table(result, source, chunk_index(chunk))
    result = engine.embed(zip(sequence_ids(source), source["sequence"], strict=True))
    return personal_gene_vectors_table(result, source, chunk_index(chunk))


def staging_key(run_id: str, table_name: str, chunk: str) -> str:
    """Where a job leaves ``table_name``/``chunk`` for the host to publish, relative to the warehouse root
    (outside ``parquet/``, so no view ever reads it)."""
    return f"{STAGING_DIR}/{run_id}/{table_name}/{chunk}.parquet"
