"""Which gene chunks are out of date: the chunk content hashes of the selected genes vs. what was built.

``gene_sequences`` records, in each partition's Parquet metadata, the content hash of the chunk it
was built from (``chunk_content_hash``). A chunk is out of date when the current ``genes`` table
gives it another hash, or when it has never been built. This is what decides which partitions an
annotation change re-materializes: an edit that changes no gene's coordinates, transcript or region
leaves every hash, and every embedding, as it is.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..genome.gene_table import EMPTY_CHUNK_HASH, chunk_hashes, from_arrow
from .catalog import UNPARTITIONED, Catalog

CHUNK_HASH_KEY = "chunk_content_hash"


def read_genes(catalog: Catalog) -> tuple[pd.DataFrame, str]:
    """The current ``genes`` table (blocks as tuples) and the SHA-256 of the GTF it was selected from."""
    genes = from_arrow(catalog.read_partition("genes", UNPARTITIONED))
    return genes, catalog.partition_metadata("genes", UNPARTITIONED)["gtf_sha256"]


def current_chunk_hashes(catalog: Catalog, chunk_keys: Sequence[str]) -> dict[str, str]:
    """Content hash of every chunk under the current ``genes`` table (chunks without genes: the empty hash)."""
    hashes = chunk_hashes(read_genes(catalog)[0])
    return {key: hashes.get(key, EMPTY_CHUNK_HASH) for key in chunk_keys}


def built_chunk_hashes(catalog: Catalog) -> dict[str, str]:
    """The content hash each built ``gene_sequences`` partition was made from."""
    built = {}
    for key in catalog.partitions("gene_sequences"):
        built[key] = catalog.partition_metadata("gene_sequences", key).get(CHUNK_HASH_KEY, "")
    return built


def out_of_date_chunks(catalog: Catalog, chunk_keys: Sequence[str]) -> dict[str, str]:
    """Chunk key → its new content hash, for every chunk whose built sequences no longer match the genes."""
    current = current_chunk_hashes(catalog, chunk_keys)
    built = built_chunk_hashes(catalog)
    return {key: value for key, value in current.items() if built.get(key) != value}
