"""What a query reads: Parquet row groups per table, from DuckDB's query profile.

For checking that a query prunes (``cohort_views``: one subject's rows of ``subject_embeddings``) and
for benchmarks; it runs the query once with profiling on and returns the scans' figures.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from neuro_omics_assets.errors import WarehouseError
from neuro_omics_assets.warehouse.catalog import PARQUET_DIR


@dataclass(frozen=True)
class Scan:
    """One Parquet scan of a query: row groups read of those in its files, and rows it passed on."""

    row_groups_read: int
    row_groups: int
    rows_out: int


def row_group_metrics_available() -> bool:
    """Whether this DuckDB's query profile reports Parquet row groups scanned (release 2 on; not 1.5)."""
    return int(duckdb.__version__.split(".")[0]) >= 2


def parquet_scans(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> dict[str, Scan]:
    """Run ``sql`` once on ``con`` with DuckDB's detailed profiling; the scans by warehouse table name
    (``R/parquet/[<namespace>/]<table>/``: ``table`` or ``namespace/table``); a table scanned twice keeps
    its last scan."""
    if not row_group_metrics_available():
        raise WarehouseError(f"DuckDB {duckdb.__version__}'s query profile does not report Parquet row groups "
                             "scanned; measuring them needs DuckDB >= 2.0 (the project pins 1.5.5 for its httpfs "
                             "extension wheel).")
    scans: dict[str, Scan] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "profile.json"
        con.execute("PRAGMA enable_profiling = 'json'")
        con.execute(f"PRAGMA profiling_output = '{out}'")
        con.execute("SET profiling_mode = 'detailed'")
        try:
            con.execute(sql, params).fetchall()
        finally:
            con.execute("PRAGMA disable_profiling")
        operators = json.loads(out.read_text())["operator"]
    stack = list(operators)
    while stack:
        node = stack.pop()
        stack.extend(node.get("children", []))
        if "row_groups_scanned" in node:
            files = node["extra_info"].get("Filename(s)", "")
            table = "/".join(files.split(f"/{PARQUET_DIR}/", 1)[-1].split(",")[0].split("/")[:-1])  # [ns/]table
            scans[table] = Scan(node["row_groups_scanned"], node["total_row_groups_to_scan"], node["rows_scanned"])
    return scans
