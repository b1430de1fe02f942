"""Write one warehouse partition and its lineage row: the one way assets persist tables."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
import pyarrow as pa

from .. import __version__
from ..checksums import package_fingerprint
from ..embedding.identity import EmbeddingIdentity, require_one_identity
from ..errors import WarehouseError
from ..warehouse.catalog import Catalog, LineageRecord
from .freshness import CHUNK_HASH_KEY, FASTA_KEY

_RESTORE_ONE_IDENTITY = (
    "Re-materialize the stale chunks with the configured encoder: changed_gene_chunks_sensor requests them "
    "(RUNNING by default), or launch chunk_assets_job over all chunks; then run this asset again."
)


def code_version() -> str:
    """Package version + fingerprint of every source file: which code wrote an output."""
    return f"{__version__}+{package_fingerprint()[:16]}"


def model_checksums(lineage: Mapping[str, object]) -> dict[str, str]:
    """The input checksums behind a vector: model and tokenizer SHA-256 of an engine's (or a partition's) lineage."""
    return {key: str(lineage[key]) for key in ("model_sha256", "tokenizer_sha256")}


def made_from(catalog: Catalog, table_name: str, chunk: str) -> dict[str, str]:
    """The chunk content hash and FASTA SHA-256 a chunk partition recorded, for what is computed from it."""
    recorded = catalog.partition_metadata(table_name, chunk)
    return {key: recorded[key] for key in (CHUNK_HASH_KEY, FASTA_KEY)}


def stored_identity(catalog: Catalog, table_name: str, chunks: list[str]) -> EmbeddingIdentity | None:
    """The one embedding identity of ``chunks`` of ``table_name`` (None for no chunks); ``MixedIdentityError``
    naming the chunks and the differing fields when they differ (see ``embedding/identity.py``)."""
    identities = {c: EmbeddingIdentity.from_metadata(catalog.partition_metadata(table_name, c)) for c in chunks}
    identity = require_one_identity(table_name, identities, _RESTORE_ONE_IDENTITY)
    if identity is None and chunks:
        raise WarehouseError(f"{table_name} {', '.join(chunks[:6])} record no embedding identity (written by an "
                             f"older version). {_RESTORE_ONE_IDENTITY}")
    return identity


def persist(
    context: dg.AssetExecutionContext,
    catalog: Catalog,
    table_name: str,
    partition: str,
    table: pa.Table,
    inputs: Mapping[str, str],
    settings: Mapping[str, object] | None = None,
    asset_key: dg.AssetKey | None = None,
) -> Path:
    """Atomically write ``table`` as ``table_name/partition`` and record who made it from what.

    ``inputs`` maps input names to checksums (FASTA sha256, GTF sha256, model sha256, …);
    ``settings`` are the parameters that shaped the output. Both land in the Parquet key-value
    metadata and in the catalog's ``lineage`` table, under ``asset_key`` (default: the context's asset;
    a multi-asset names the asset each table belongs to).
    """
    settings = dict(settings or {})
    file_metadata = {"code_version": code_version(), "run_id": context.run.run_id, **inputs}
    file_metadata.update({k: json.dumps(v) if not isinstance(v, str) else v for k, v in settings.items()})
    record = LineageRecord(
        asset_key=(asset_key or context.asset_key).to_user_string(),
        partition=partition,
        run_id=context.run.run_id,
        code_version=code_version(),
        rows=table.num_rows,
        path=str(catalog.partition_path(table_name, partition)),
        input_checksums=dict(inputs),
        metadata=settings,
    )
    return catalog.write_partition(table_name, partition, table, file_metadata, lineage=record)
