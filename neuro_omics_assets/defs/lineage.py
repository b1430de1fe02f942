"""Write one warehouse partition and its lineage row: the one way assets persist tables."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
import pyarrow as pa

from .. import __version__
from ..warehouse.catalog import Catalog, LineageRecord


def model_checksums(lineage: Mapping[str, object]) -> dict[str, str]:
    """The input checksums behind a vector: model and tokenizer SHA-256 of an engine's (or a partition's) lineage."""
    return {key: str(lineage[key]) for key in ("model_sha256", "tokenizer_sha256")}


def persist(
    context: dg.AssetExecutionContext,
    catalog: Catalog,
    table_name: str,
    partition: str,
    table: pa.Table,
    inputs: Mapping[str, str],
    settings: Mapping[str, object] | None = None,
) -> Path:
    """Atomically write ``table`` as ``table_name/partition`` and record who made it from what.

    ``inputs`` maps input names to checksums (FASTA sha256, GTF sha256, model sha256, …);
    ``settings`` are the parameters that shaped the output. Both land in the Parquet key-value
    metadata and in the catalog's ``lineage`` table.
    """
    settings = dict(settings or {})
    file_metadata = {"code_version": __version__, "run_id": context.run.run_id, **inputs}
    file_metadata.update({k: json.dumps(v) if not isinstance(v, str) else v for k, v in settings.items()})
    record = LineageRecord(
        asset_key=context.asset_key.to_user_string(),
        partition=partition,
        run_id=context.run.run_id,
        code_version=__version__,
        rows=table.num_rows,
        path=str(catalog.partition_path(table_name, partition)),
        input_checksums=dict(inputs),
        metadata=settings,
    )
    return catalog.write_partition(table_name, partition, table, file_metadata, lineage=record)
