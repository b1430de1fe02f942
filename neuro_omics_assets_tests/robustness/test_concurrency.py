"""Eight partition runs at once, as separate ``dagster asset materialize`` processes on one instance and
one warehouse, while readers query the catalog in a loop: nobody sees a lock error or half a partition,
and no lineage row is lost.

The runs use the in-process executor (``--config-json``): the CLI's default multiprocess executor starts
a process per step (checks included) that imports torch and dagster again; on 2 CPU cores eight such
runs took ~400 s, and even one of them among seven in-process runs doubled this test to ~100 s. The runs
still meet where it matters: the warehouse flock, DuckDB's file lock, the embedding cache, and Dagster's
SQLite run, event and concurrency storage.
"""

from __future__ import annotations

import io
import json
import subprocess
import threading
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from neuro_omics_assets.genome.chunks import chunk_index
from neuro_omics_assets.warehouse.catalog import Catalog

from ..conftest import REPO
from .helpers import BIN, CHUNK_TABLES, sql_name, tail
from .runner import run as run_pipeline

# Eight chunks holding 11 chrM genes (tRNAs, rRNAs and protein-coding genes of 65 to 1,812 bp), and one
# materialized beforehand so that the views exist when the readers start.
CHUNKS = ["chunk_001", "chunk_002", "chunk_003", "chunk_005", "chunk_008", "chunk_019", "chunk_021", "chunk_030"]
FIRST_CHUNK = "chunk_004"
IN_PROCESS = json.dumps({"execution": {"config": {"in_process": {}}}})
# Rows per (table, chunk) as a reader sees them, in one statement (one snapshot of the catalog).
COUNTS_SQL = " UNION ALL ".join(
    f"SELECT '{table}' AS asset, chunk, count(*) AS n FROM {sql_name(table)} GROUP BY chunk" for table in CHUNK_TABLES
)
# Every pool gets 8 slots, so all eight runs write at once (the shipped dagster.yaml gives `gpu` one slot:
# the token_embeddings steps then queue, and Dagster 1.13.28 busy-waits in every blocked run, which on
# 2 cores stretches this test from ~35 s to ~75 s while overlapping fewer warehouse writes).
INSTANCE_YAML = "concurrency:\n  pools:\n    default_limit: 8\ntelemetry:\n  enabled: false\n"
N_READERS = 2
READER_PAUSE_S = 1.0  # each query is a new process (~0.5 s of CPU): leave the writers most of the 2 cores


def _materialize(chunk: str, logs: Path) -> subprocess.Popen:
    command = [str(BIN / "dagster"), "asset", "materialize", "-m", "neuro_omics_assets.definitions",
               "--select", ",".join(CHUNK_TABLES), "--partition", chunk, "--config-json", IN_PROCESS]
    with open(logs / f"{chunk}.log", "wb") as log:
        return subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)


def _read_until(done: threading.Event, seen: list[subprocess.CompletedProcess]) -> None:
    """Run ``neuro-omics query`` in a loop (a user refreshing a notebook) until ``done`` is set."""
    while not done.is_set():
        seen.append(subprocess.run([str(BIN / "neuro-omics"), "query", COUNTS_SQL, "--format", "csv"],
                                   capture_output=True, text=True, cwd=REPO, timeout=120))
        done.wait(READER_PAUSE_S)


def _counts(csv: str) -> dict[tuple[str, int], int]:
    frame = pd.read_csv(io.StringIO(csv))
    return {(row.asset, int(row.chunk)): int(row.n) for row in frame.itertuples()}


@pytest.mark.slow
def test_eight_concurrent_partition_runs_with_readers(pipeline_env):
    (pipeline_env / "dagster_home").mkdir()
    (pipeline_env / "dagster_home" / "dagster.yaml").write_text(INSTANCE_YAML)  # kept by prepare_dagster_home
    run_pipeline(True, [FIRST_CHUNK])
    logs = pipeline_env / "logs"
    logs.mkdir()
    done, seen = threading.Event(), [[] for _ in range(N_READERS)]
    readers = [threading.Thread(target=_read_until, args=(done, s)) for s in seen]
    for reader in readers:
        reader.start()
    writers = {chunk: _materialize(chunk, logs) for chunk in CHUNKS}
    try:
        deadline = time.monotonic() + 400
        for chunk, writer in writers.items():
            code = writer.wait(timeout=max(deadline - time.monotonic(), 1))
            assert code == 0, f"{chunk} exited {code}:\n{tail(logs / f'{chunk}.log')}"
    finally:
        for writer in writers.values():
            if writer.poll() is None:
                writer.kill()
                writer.wait()
        done.set()
        for reader in readers:
            reader.join(timeout=180)

    catalog = Catalog(pipeline_env / "warehouse")
    final = _counts(catalog.query(COUNTS_SQL).to_csv(index=False))
    all_chunks = sorted([FIRST_CHUNK, *CHUNKS])
    assert sorted({f"chunk_{chunk:03d}" for _, chunk in final}) == all_chunks
    # No lock error reached a reader, and every count a reader saw was a complete partition's.
    queries = [result for results in seen for result in results]
    for result in queries:
        assert result.returncode == 0, result.stderr
        assert "busy" not in result.stderr.lower() and "lock" not in result.stderr.lower(), result.stderr
        for key, n in _counts(result.stdout).items():
            assert n == final[key], (key, n, final[key])
    snapshots = {frozenset(_counts(result.stdout)) for result in queries}
    assert len(snapshots) > 1, "the readers never saw a partition appear: they did not overlap the writers"
    # One lineage row per asset and partition, from the run that wrote the file.
    lineage = catalog.lineage()
    chunk_rows = lineage[lineage["partition"] != "all"]
    assert sorted(zip(chunk_rows["asset_key"], chunk_rows["partition"], strict=True)) == sorted(
        (table, chunk) for table in CHUNK_TABLES for chunk in all_chunks
    )
    for row in chunk_rows.itertuples():
        assert catalog.partition_metadata(row.asset_key, row.partition)["run_id"] == row.run_id
        assert row.rows == final.get((row.asset_key, chunk_index(row.partition)), 0)
    # Dagster's SQLite instance recorded every run and every materialization.
    with dg.DagsterInstance.get() as instance:
        runs = {run_id: instance.get_run_by_id(run_id) for run_id in set(chunk_rows["run_id"])}
        assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs.values())
        for table in CHUNK_TABLES:
            materialized = instance.get_materialized_partitions(dg.AssetKey.from_user_string(table))
            assert sorted(materialized) == all_chunks, table


MULTIPROCESS_CHUNKS = ["chunk_001", "chunk_002", "chunk_003", "chunk_005"]


@pytest.mark.slow
def test_four_chunk_runs_at_once_with_the_multiprocess_executor(pipeline_env):
    """Four `dagster asset materialize` runs at once on the CLI's default multiprocess executor (one step
    process per asset); gene_sequences only, so each step process stays cheap."""
    run_pipeline(True, [FIRST_CHUNK])
    logs = pipeline_env / "logs"
    logs.mkdir()
    writers = {}
    for chunk in MULTIPROCESS_CHUNKS:
        command = [str(BIN / "dagster"), "asset", "materialize", "-m", "neuro_omics_assets.definitions",
                   "--select", "gene_sequences", "--partition", chunk]
        with open(logs / f"{chunk}.log", "wb") as log:
            writers[chunk] = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    for chunk, writer in writers.items():
        assert writer.wait(timeout=400) == 0, tail(logs / f"{chunk}.log")
        assert "multiprocess" in (logs / f"{chunk}.log").read_text(errors="replace").lower()
    catalog = Catalog(pipeline_env / "warehouse")
    built = catalog.query("select chunk, count(*) as n from gene_sequences group by chunk")
    assert sorted(f"chunk_{c:03d}" for c in built["chunk"]) == sorted([FIRST_CHUNK, *MULTIPROCESS_CHUNKS])
    lineage = catalog.lineage("gene_sequences")
    assert sorted(lineage["partition"]) == sorted([FIRST_CHUNK, *MULTIPROCESS_CHUNKS])
    with dg.DagsterInstance.get() as instance:
        for run_id in set(lineage["run_id"]):
            assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS
