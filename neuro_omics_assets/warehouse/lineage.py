"""Lineage rows: how one partition was written, and their insertion into the catalog's ``lineage`` table."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from neuro_omics_assets.errors import ConfigError, WarehouseError
from neuro_omics_assets.warehouse.schemas import lineage_schema


def _to_json(value: Mapping[str, Any], what: str) -> str:
    """``value`` as canonical JSON; WarehouseError naming ``what`` when it is not serialisable."""
    try:
        return json.dumps(dict(value), sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise WarehouseError(
            f"lineage {what} is not JSON-serialisable ({exc}); pass str, number, bool, list or dict values."
        ) from exc


@dataclass(frozen=True)
class LineageRecord:
    """How one partition was written; one row of the DuckDB table ``lineage``.

    ``input_checksums`` maps each input (file, upstream asset) to its checksum; ``metadata`` holds
    JSON-serialisable settings (tokenizer sha256, pooling, window settings, ...). ``written_at`` must
    be timezone-aware; it defaults to now in UTC.
    """

    asset_key: str
    partition: str
    run_id: str
    code_version: str
    rows: int
    path: str
    input_checksums: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    written_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if self.written_at.tzinfo is None:
            raise ConfigError(
                f"LineageRecord.written_at for {self.asset_key}/{self.partition} has no timezone; "
                "pass datetime.now(UTC)."
            )

    def to_arrow(self) -> pa.Table:
        """This record as a one-row table with ``lineage_schema()``."""
        row = {
            "asset_key": [self.asset_key],
            "partition": [self.partition],
            "run_id": [self.run_id],
            "code_version": [self.code_version],
            "input_checksums": [_to_json(self.input_checksums, f"input_checksums of {self.asset_key}")],
            "rows": [self.rows],
            "written_at": [self.written_at],
            "path": [self.path],
            "metadata": [_to_json(self.metadata, f"metadata of {self.asset_key}")],
        }
        return pa.Table.from_pydict(row, schema=lineage_schema())


def insert_lineage(con: duckdb.DuckDBPyConnection, record: LineageRecord) -> None:
    """Append ``record`` through ``con``, a read-write catalog connection whose writer holds the catalog lock."""
    con.register("_new_lineage", record.to_arrow())
    con.execute("INSERT INTO lineage BY NAME SELECT * FROM _new_lineage")
    con.unregister("_new_lineage")
