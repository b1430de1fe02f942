"""The selected gene table as it is stored: one row per gene with its chunk and content hash.

The content hash covers everything that shapes a gene's sequence (coordinates, strand, chosen
transcript, exon and CDS blocks, region settings); a chunk's hash covers its genes' hashes. An
annotation edit that changes neither leaves the chunk's hash — and its embeddings — untouched.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pyarrow as pa

from ..checksums import file_sha256
from .chunks import chunk_key, gene_chunk
from .regions import RegionSpec

_IDENTITY_COLUMNS = ("gene_id", "contig", "start", "end", "strand", "transcript_id")


def gene_content_hash(row: pd.Series, spec: RegionSpec) -> str:
    """SHA-256 hex of what determines this gene's extracted sequence."""
    payload = {column: _plain(row[column]) for column in _IDENTITY_COLUMNS}
    payload["exons"] = [list(map(int, block)) for block in row["exons"]]
    payload["cds"] = [list(map(int, block)) for block in row["cds"]]
    payload["region"] = [spec.kind, spec.upstream, spec.downstream]
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _plain(value: object) -> object:
    return int(value) if hasattr(value, "__index__") else value


def chunk_genes(genes: pd.DataFrame, spec: RegionSpec, n_chunks: int) -> pd.DataFrame:
    """``genes`` plus ``manifest_index`` (order of the gene list), ``chunk`` (index) and ``content_hash``."""
    out = genes.reset_index(drop=True).copy()
    out["manifest_index"] = range(len(out))
    out["chunk"] = [gene_chunk(g, n_chunks) for g in out["gene_id"]]
    out["content_hash"] = [gene_content_hash(row, spec) for _, row in out.iterrows()]
    return out


def chunk_hash(content_hashes: Iterable[str]) -> str:
    """SHA-256 of the sorted gene content hashes of one chunk (order of the genes does not matter)."""
    return hashlib.sha256("".join(sorted(content_hashes)).encode()).hexdigest()


# The hash of a chunk without genes.
EMPTY_CHUNK_HASH = chunk_hash([])


def chunk_hashes(chunked: pd.DataFrame) -> dict[str, str]:
    """Partition key → :func:`chunk_hash` of its genes (chunks without genes are absent)."""
    return {chunk_key(int(chunk)): chunk_hash(group["content_hash"]) for chunk, group in chunked.groupby("chunk")}


def to_arrow(chunked: pd.DataFrame) -> pa.Table:
    """Arrow table of :func:`chunk_genes` output; blocks become ``list<list<int64>>`` columns."""
    frame = chunked.copy()
    for column in ("exons", "cds"):
        frame[column] = [[list(map(int, block)) for block in blocks] for blocks in frame[column]]
    return pa.Table.from_pandas(frame, preserve_index=False)


def from_arrow(table: pa.Table) -> pd.DataFrame:
    """Inverse of :func:`to_arrow`: blocks back to lists of ``(start, end)`` tuples."""
    frame = table.to_pandas()
    for column in ("exons", "cds"):
        frame[column] = [[tuple(int(x) for x in block) for block in blocks] for blocks in frame[column]]
    return frame


def annotation_fingerprint(gtf: Path, gene_list: Path | None, gene_type: str | None, spec: RegionSpec) -> dict[str, str]:
    """Checksums of what selects the genes: GTF bytes, gene-list bytes, gene type and region settings.

    ``sha256`` combines them all; it changes exactly when the selected gene table could change
    (touching a file without changing its bytes leaves it as it is).
    """
    parts = {
        "gtf_sha256": file_sha256(gtf),
        "gene_list_sha256": file_sha256(gene_list) if gene_list else "none",
        "gene_type": gene_type or "any",
        "region": f"{spec.kind}:{spec.upstream}:{spec.downstream}",
    }
    parts["sha256"] = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    return parts
