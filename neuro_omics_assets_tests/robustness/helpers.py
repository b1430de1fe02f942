"""Shared pieces of the robustness tests: child runs, killing them at a marked point, reading what they left."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from neuro_omics_assets.warehouse.schemas import TABLES, vectors_from_arrow

from ..conftest import CHRM_FASTA, CHRM_GTF, REPO

BIN = Path(sys.executable).parent
# chunk_003 holds MT-TA (69 bp) and MT-CO1 (1,542 bp); chunk_030 MT-RNR2 (1,559 bp) and MT-TT (66 bp).
KILL_CHUNK = "chunk_003"
BASELINE_CHUNKS = ("chunk_003", "chunk_030")
# Chunk assets, spelled as asset keys; the catalog reads "dnabert2/gene_vectors" as the table dnabert2.gene_vectors.
CHUNK_TABLES = ("gene_sequences", "dnabert2/token_embeddings", "dnabert2/gene_vectors")
VECTOR_TABLES = ("dnabert2/token_embeddings", "dnabert2/gene_vectors")


def sql_name(table: str) -> str:
    """The DuckDB name of ``table`` (``dnabert2/gene_vectors`` → ``dnabert2.gene_vectors``)."""
    return table.replace("/", ".")


def pipeline_vars(root: Path, model_dir: Path) -> dict[str, str]:
    """The settings ``conftest.pipeline_env`` exports, for a warehouse, cache and DAGSTER_HOME under ``root``."""
    return {
        "DAGSTER_HOME": str(root / "dagster_home"),
        "NEURO_OMICS_WAREHOUSE": str(root / "warehouse"),
        "NEURO_OMICS_CACHE_DIR": str(root / "cache"),
        "NEURO_OMICS_MODEL_DIR": str(model_dir),
        "NEURO_OMICS_FASTA": str(CHRM_FASTA),
        "NEURO_OMICS_GTF": str(CHRM_GTF),
        "NEURO_OMICS_DEVICE": "cpu",
    }


def start_runner(*args: str, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``python -m ...robustness.runner ARGS`` in the repository root, output to ``log``.

    The child inherits this process's environment (``pipeline_env``) updated with ``env``.
    """
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "neuro_omics_assets_tests.robustness.runner", *args],
            cwd=REPO, env={**os.environ, **(env or {})}, stdout=out, stderr=subprocess.STDOUT,
        )


def run_runner(*args: str, log: Path, env: dict[str, str] | None = None, timeout: float = 180) -> None:
    """Run the runner to completion; fail with its log when it does not exit 0."""
    process = start_runner(*args, log=log, env=env)
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"runner {args} still running after {timeout} s:\n{tail(log)}") from None
    assert code == 0, f"runner {args} exited {code}:\n{tail(log)}"


def baseline_run(root: Path, model_dir: Path) -> Path:
    """One uninterrupted child-process run under ``root``: ``reference_job``, then each of
    ``BASELINE_CHUNKS``, with its own instance, warehouse and cache. Returns the warehouse."""
    chunks = [arg for chunk in BASELINE_CHUNKS for arg in ("--chunk", chunk)]
    run_runner("--reference", *chunks, log=root / "runner.log", env=pipeline_vars(root, model_dir))
    return root / "warehouse"


def tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def kill_at_marker(process: subprocess.Popen, marker: Path, log: Path, timeout: float = 180) -> None:
    """Wait until ``process`` writes ``marker`` (it then sleeps), then SIGKILL it and reap it."""
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if process.poll() is not None:
            raise AssertionError(f"the child exited ({process.returncode}) before its fault point:\n{tail(log)}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"the child did not reach its fault point in {timeout} s:\n{tail(log)}")
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL


def view_glob(warehouse: Path, table: str) -> str:
    """The glob the catalog's view of ``table`` reads (see ``Catalog._refresh_view_locked``)."""
    return str(warehouse.resolve() / "parquet" / table / "*.parquet")


def files_duckdb_sees(warehouse: Path, table: str) -> set[Path]:
    """The files DuckDB's own glob expands the view pattern of ``table`` to."""
    with duckdb.connect() as con:
        rows = con.execute("SELECT file FROM glob(?)", [view_glob(warehouse, table)]).fetchall()
    return {Path(file) for (file,) in rows}


def temp_files(warehouse: Path) -> list[Path]:
    """Temp files of interrupted atomic writes anywhere under the warehouse's Parquet directory."""
    return sorted((warehouse / "parquet").rglob(".*.tmp"))


def vector_bytes(table_name: str, table: pa.Table) -> dict[str, bytes]:
    """Raw float32 bytes of each vector column of a warehouse table (``token_sum``/``cls``, ``embedding``)."""
    return {name: vectors_from_arrow(table[name]).tobytes()
            for name in TABLES[table_name.rpartition("/")[2]].vector_columns}


def vector_sha256(table_name: str, path: Path) -> dict[str, str]:
    """SHA-256 of each vector column's raw float32 bytes in the Parquet file at ``path``."""
    data = vector_bytes(table_name, pq.read_table(path))
    return {name: hashlib.sha256(raw).hexdigest() for name, raw in data.items()}


def without_run_metadata(table: pa.Table) -> pa.Table:
    """``table`` minus the schema metadata that names the run (its data and settings stay)."""
    metadata = {k: v for k, v in (table.schema.metadata or {}).items() if k != b"run_id"}
    return table.replace_schema_metadata(metadata)
