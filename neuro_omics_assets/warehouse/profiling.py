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

from neuro_omics_assets.warehouse.catalog import PARQUET_DIR


@dataclass(frozen=True)
class Scan:
    """One Parquet scan of a query: row groups read of those in its files, and rows it passed on."""

    row_groups_read: int
    row_groups: int
    rows_out: int


def parquet_scans(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> dict[str, Scan]:
    """Run ``sql`` once on ``con`` with DuckDB's detailed profiling; the scans by warehouse table name
    (``R/parquet/[<namespace>/]<table>/``: ``table`` or ``namespace/table``); a table scanned twice keeps
    its last scan."""
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
