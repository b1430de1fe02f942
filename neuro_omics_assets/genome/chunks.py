"""Gene → chunk assignment: the partitioning key of every per-gene asset.

A gene's chunk depends only on its (unversioned) gene id and the number of chunks, through SHA-256,
so it is stable across Python processes, machines and annotation releases: adding, removing or
editing one gene touches exactly one chunk.
"""

from __future__ import annotations

import hashlib

from ..errors import ConfigError

# 64 chunks: small enough that the Dagster UI stays readable, large enough that one gene's edit
# re-embeds ~1.5 % of a 20k-gene annotation.
DEFAULT_N_CHUNKS = 64


def gene_chunk(gene_id: str, n_chunks: int = DEFAULT_N_CHUNKS) -> int:
    """Chunk index in [0, n_chunks) of ``gene_id`` (unversioned Ensembl id)."""
    if n_chunks < 1:
        raise ConfigError(f"n_chunks must be >= 1, got {n_chunks}; set NEURO_OMICS_GENE_CHUNKS to a positive integer")
    digest = hashlib.sha256(gene_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % n_chunks


def chunk_key(index: int) -> str:
    """Partition key of chunk ``index``: ``chunk_000`` … (zero-padded so keys sort numerically)."""
    return f"chunk_{index:03d}"


def chunk_index(key: str) -> int:
    """Inverse of :func:`chunk_key`."""
    prefix, _, number = key.partition("_")
    if prefix != "chunk" or not number.isdigit():
        raise ConfigError(f"{key!r} is not a gene-chunk partition key; expected e.g. 'chunk_007'")
    return int(number)
