"""Arrow tables of embedding outputs, built the same way for the assets and for ``neuro-omics embed``.

``token_embeddings_table`` stores the engine's per-window statistics per gene; ``gene_vectors_table``
pools them into one vector per gene **from the stored statistics**, so a gene vector never needs the
model again and every pooling variant can be recomputed from the warehouse.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa

from ..embedding.engine import EmbeddingResult
from ..embedding.pooling import STRANDS, PooledVectors, WindowStats, vectors_from_window_stats
from ..genome.gene_table import from_arrow
from .catalog import UNPARTITIONED, Catalog
from .schemas import (
    gene_vectors_schema,
    token_embeddings_schema,
    validate,
    vectors_from_arrow,
    vectors_to_arrow,
)

_STAT_COLUMNS = ("window_index", "window_start", "window_end", "strand", "n_tokens", "n_bases")


def token_embeddings_table(result: EmbeddingResult, genes: pd.DataFrame, chunk: int) -> pa.Table:
    """Per-window statistics of every gene in ``genes`` (columns gene_id, gene_name, sha256).

    One row per (gene, window, strand); genes with identical sequences share the same statistics.
    """
    hidden = result.hidden_size
    parts = []
    for gene in genes.itertuples(index=False):
        stats = result.window_stats[gene.sha256]
        n = len(stats.strand)
        columns = {
            "chunk": pa.array(np.full(n, chunk, dtype=np.int32)),
            "gene_id": pa.array([gene.gene_id] * n, pa.string()),
            "gene_name": pa.array([gene.gene_name] * n, pa.string()),
            "sha256": pa.array([gene.sha256] * n, pa.string()),
            **{name: pa.array(getattr(stats, name)) for name in _STAT_COLUMNS},
            "token_sum": vectors_to_arrow(stats.token_sum),
            "cls": vectors_to_arrow(stats.cls),
        }
        parts.append(pa.table(columns))
    schema = token_embeddings_schema(hidden)
    table = pa.concat_tables([validate(p, schema) for p in parts]) if parts else schema.empty_table()
    return validate(table, schema, "token_embeddings")


def window_stats_by_gene(table: pa.Table) -> Iterator[tuple[str, str | None, str, WindowStats]]:
    """``(gene_id, gene_name, sha256, stats)`` per gene of a token_embeddings table, in first-seen order.

    Rows are re-ordered into the ``WindowStats`` layout: forward windows first, then reverse complement.
    """
    frame = table.select(["gene_id", "gene_name", "sha256", *_STAT_COLUMNS]).to_pandas()
    token_sum, cls = vectors_from_arrow(table["token_sum"]), vectors_from_arrow(table["cls"])
    frame["_strand_order"] = frame["strand"].map({s: i for i, s in enumerate(STRANDS)})
    for gene_id, rows in frame.groupby("gene_id", sort=False):
        rows = rows.sort_values(["_strand_order", "window_index"])
        index = rows.index.to_numpy()
        stats = WindowStats(
            window_index=rows["window_index"].to_numpy(np.int32),
            window_start=rows["window_start"].to_numpy(np.int64),
            window_end=rows["window_end"].to_numpy(np.int64),
            strand=rows["strand"].to_numpy(str),
            n_tokens=rows["n_tokens"].to_numpy(np.int32),
            n_bases=rows["n_bases"].to_numpy(np.int64),
            token_sum=token_sum[index],
            cls=cls[index],
        )
        yield gene_id, rows["gene_name"].iloc[0], rows["sha256"].iloc[0], stats


def gene_vectors_table(token_embeddings: pa.Table, chunk: int, pooling: str, rc_averaged: bool) -> pa.Table:
    """One row per gene: the pooled vector plus forward/RC and mean/CLS agreement, from window statistics."""
    hidden = token_embeddings.schema.field("token_sum").type.list_size
    rows, vectors = [], []
    for gene_id, gene_name, sha256, stats in window_stats_by_gene(token_embeddings):
        pooled: PooledVectors = vectors_from_window_stats(stats, pooling, rc_averaged)
        forward = stats.strand == STRANDS[0]
        rows.append(
            {
                "chunk": chunk,
                "gene_id": gene_id,
                "gene_name": gene_name,
                "sha256": sha256,
                "n_windows": stats.n_windows,
                "n_bases": int(stats.n_bases[forward].sum()),
                "n_tokens": int(stats.n_tokens[forward].sum()),
                "pooling": pooling,
                "rc_averaged": rc_averaged,
                "rc_cosine": pooled.rc_cosine,
                "cls_mean_cosine": pooled.cls_mean_cosine,
            }
        )
        vectors.append(pooled.vector)
    schema = gene_vectors_schema(hidden)
    if not rows:
        return schema.empty_table()
    table = pa.Table.from_pylist(rows).append_column("embedding", vectors_to_arrow(np.stack(vectors)))
    return validate(table, schema, "gene_vectors")


def read_genes(catalog: Catalog) -> tuple[pd.DataFrame, str]:
    """The stored ``genes`` table (blocks as tuples) and the SHA-256 of the annotation it was selected from."""
    genes = from_arrow(catalog.read_partition("genes", UNPARTITIONED))
    return genes, catalog.partition_metadata("genes", UNPARTITIONED)["gtf_sha256"]


def pooled_columns(result: EmbeddingResult, ids: list[str]) -> dict[str, object]:
    """The ``pooled_vector_fields`` columns of the sequences ``ids`` of ``result``, in that order."""
    embedded = [result[i] for i in ids]
    n = len(embedded)
    return {
        "n_windows": [e.n_windows for e in embedded],
        "n_bases": [e.n_bases for e in embedded],
        "n_tokens": [e.n_tokens for e in embedded],
        "pooling": [result.spec.pooling] * n,
        "rc_averaged": [result.spec.rc_average] * n,
        "embedding": vectors_to_arrow(np.stack([e.vector for e in embedded]).reshape(n, result.hidden_size)),
        "rc_cosine": [e.rc_cosine for e in embedded],
    }
