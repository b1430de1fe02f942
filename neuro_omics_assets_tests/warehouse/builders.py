"""Small valid tables for the warehouse tests (importable by spawned worker processes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from neuro_omics_assets.warehouse.catalog import Catalog, LineageRecord
from neuro_omics_assets.warehouse.schemas import vectors_to_arrow


def gene_vectors_table(matrix: np.ndarray, chunk: int = 0) -> pa.Table:
    """A ``gene_vectors`` table with one gene ``g<chunk>_<i>`` per row of ``matrix`` (n, H)."""
    n = matrix.shape[0]
    return pa.table(
        {
            "chunk": pa.array([chunk] * n, pa.int32()),
            "gene_id": [f"g{chunk}_{i}" for i in range(n)],
            "gene_name": [f"GENE{chunk}_{i}" for i in range(n)],
            "sha256": [f"{chunk:02d}{i:062d}" for i in range(n)],
            "n_windows": pa.array([1] * n, pa.int32()),
            "n_bases": pa.array([100 + i for i in range(n)], pa.int64()),
            "n_tokens": pa.array([20 + i for i in range(n)], pa.int64()),
            "pooling": ["mean"] * n,
            "rc_averaged": [True] * n,
            "embedding": vectors_to_arrow(matrix),
            "rc_cosine": pa.array([0.5 + 0.1 * i for i in range(n)], pa.float64()),
            "cls_mean_cosine": pa.array([None] * n, pa.float64()),
        }
    )


def gene_sequences_table() -> pa.Table:
    """A two-gene ``gene_sequences`` table (the second on the minus strand)."""
    return pa.table(
        {
            "gene_id": ["ENSG01", "ENSG02"],
            "gene_name": ["MT-ND1", "MT-ND6"],
            "gene_type": ["protein_coding", "protein_coding"],
            "contig": ["chrM", "chrM"],
            "start": [3306, 14148],
            "end": [3314, 14152],
            "strand": ["+", "-"],
            "region": ["gene", "gene"],
            "transcript_id": [None, None],
            "transcript_rule": [None, None],
            "length": [8, 4],
            "n_count": [0, 4],
            "iupac_count": [0, 0],
            "all_n": [False, True],
            "sequence": ["ACGTACGT", "NNNN"],
            "sha256": ["a" * 64, "b" * 64],
            "chunk": pa.array([3, 5], pa.int32()),
        }
    )


def token_embeddings_table(hidden_size: int) -> pa.Table:
    """One gene, one window, forward and reverse-complement rows, vectors of width ``hidden_size``."""
    token_sum = np.arange(2 * hidden_size, dtype=np.float32).reshape(2, hidden_size)
    return pa.table(
        {
            "chunk": pa.array([1, 1], pa.int32()),
            "gene_id": ["ENSG01", "ENSG01"],
            "gene_name": ["MT-ND1", "MT-ND1"],
            "sha256": ["a" * 64, "a" * 64],
            "window_index": pa.array([0, 0], pa.int32()),
            "window_start": [0, 0],
            "window_end": [8, 8],
            "strand": ["forward", "reverse_complement"],
            "n_tokens": pa.array([3, 3], pa.int32()),
            "n_bases": pa.array([8, 8], pa.int32()),
            "token_sum": vectors_to_arrow(token_sum),
            "cls": vectors_to_arrow(-token_sum),
        }
    )


def write_chunks_with_lineage(root: str, worker: int, n_chunks: int) -> None:
    """Worker process body: write ``n_chunks`` gene_vectors partitions, each followed by its lineage row.

    Worker ``w`` writes chunks ``w * n_chunks ...``; every vector of chunk ``c`` is filled with ``c``.
    """
    catalog = Catalog(Path(root))
    for chunk in range(worker * n_chunks, (worker + 1) * n_chunks):
        partition = f"chunk_{chunk:03d}"
        table = gene_vectors_table(np.full((3, 4), chunk, np.float32), chunk)
        path = catalog.write_partition("gene_vectors", partition, table, {"worker": str(worker)})
        record = LineageRecord("gene_vectors", partition, f"run-{worker}", "v1", table.num_rows, str(path))
        catalog.record_lineage(record)
