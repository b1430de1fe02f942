"""A run SIGKILLed in the middle of a chunk loses nothing: no half-written file is visible, the catalog
still answers, and re-running the partition gives bitwise the vectors of an uninterrupted run.

The child (``runner.py``) patches one function in its own process to freeze at the fault point; the
parent waits for its marker file and sends SIGKILL, so the kill lands exactly there every time.
"""

from __future__ import annotations

import time

import dagster as dg
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from neuro_omics_assets.defs.instance import release_dead_runs
from neuro_omics_assets.embedding.cache import EmbeddingCache
from neuro_omics_assets.embedding.engine import EmbeddingEngine
from neuro_omics_assets.genome.fasta import ReferenceGenome
from neuro_omics_assets.models.dnabert2 import load_dnabert2
from neuro_omics_assets.warehouse.catalog import Catalog

from ..conftest import CHRM_FASTA, TINY_MODEL
from .helpers import (
    CHUNK_TABLES,
    KILL_CHUNK,
    VECTOR_TABLES,
    files_duckdb_sees,
    kill_at_marker,
    sql_name,
    start_runner,
    tail,
    temp_files,
    vector_bytes,
)
from .runner import run as run_pipeline

# Fault point -> (table whose write it interrupts, tables whose chunk partition is complete and visible at
# the kill, tables whose lineage row for the chunk is in the catalog at the kill).
_TOKENS, _VECTORS = "dnabert2/token_embeddings", "dnabert2/gene_vectors"
_SEQ, _TOK = ("gene_sequences",), ("gene_sequences", _TOKENS)
KILL_POINTS = {
    "model_pass": (_TOKENS, _SEQ, _SEQ),  # the model is running
    "parquet_write": (_TOKENS, _SEQ, _SEQ),  # half of the Parquet bytes are on disk
    "rename": (_VECTORS, _TOK, _TOK),  # complete temp file, not yet renamed
    # The file is renamed (so the glob view shows it) but its lineage row is not inserted yet: until the
    # partition is re-run, a complete partition is visible without lineage. Views over a glob cannot make
    # a file and its row appear together; the re-run adds the row.
    "lineage_insert": (_VECTORS, CHUNK_TABLES, _TOK),
    "catalog_write": (_VECTORS, CHUNK_TABLES, CHUNK_TABLES),  # row inserted, rw connection + flock held
}


def _kill_chunk_run(root, point: str) -> None:
    """Run reference_job and KILL_CHUNK in a child and SIGKILL it at ``point``."""
    marker, log = root / f"{point}.marker", root / f"{point}.log"
    table = KILL_POINTS[point][0]
    child = start_runner("--reference", "--chunk", KILL_CHUNK, "--stop-at", point, "--table", table,
                         "--marker", str(marker), log=log)
    kill_at_marker(child, marker, log)


def _assert_catalog_consistent(catalog: Catalog, complete: tuple[str, ...], recorded: tuple[str, ...]) -> None:
    """Only complete partitions are visible, each view answers, lineage lists what was recorded."""
    for table in CHUNK_TABLES:
        files = files_duckdb_sees(catalog.root, table)
        assert files == ({catalog.partition_path(table, KILL_CHUNK)} if table in complete else set()), table
        for path in files:
            pq.read_table(path)  # the footer and every column chunk are there
        if files:
            (n,) = catalog.query(f"SELECT count(*) AS n FROM {sql_name(table)}")["n"]
            assert n == sum(pq.read_metadata(path).num_rows for path in files)
    lineage = catalog.lineage()
    assert sorted(lineage.loc[lineage["partition"] == KILL_CHUNK, "asset_key"]) == sorted(recorded)


@pytest.mark.slow
@pytest.mark.parametrize("point", sorted(KILL_POINTS))
def test_killed_chunk_run_leaves_no_partial_file_and_resumes_bitwise(pipeline_env, uninterrupted, point):
    warehouse = pipeline_env / "warehouse"
    table, complete, recorded = KILL_POINTS[point]
    _kill_chunk_run(pipeline_env, point)

    leftovers = temp_files(warehouse)
    if point in ("parquet_write", "rename"):  # the torn write is on disk, under a name no view matches
        assert [path.parent.name for path in leftovers] == [table.rpartition("/")[2]]
        if point == "parquet_write":
            with pytest.raises(pa.ArrowInvalid):
                pq.read_table(leftovers[0])
    else:
        assert leftovers == []
    _assert_catalog_consistent(Catalog(warehouse), complete, recorded)

    with dg.DagsterInstance.get() as instance:
        assert len(release_dead_runs(instance)) == 1  # what prepare_dagster_home and the sensor do
    (resumed,) = run_pipeline(False, [KILL_CHUNK])

    catalog = Catalog(warehouse)
    assert temp_files(warehouse) == []  # the next write to the directory removed the torn file
    lineage = catalog.lineage()
    assert set(lineage.loc[lineage["run_id"] == resumed, "asset_key"]) == set(CHUNK_TABLES)
    for name in VECTOR_TABLES:
        again = catalog.read_partition(name, KILL_CHUNK)
        reference = Catalog(uninterrupted).read_partition(name, KILL_CHUNK)
        assert again.equals(reference), name
        assert vector_bytes(name, again) == vector_bytes(name, reference), name
        assert catalog.partition_metadata(name, KILL_CHUNK)["run_id"] == resumed


@pytest.mark.slow
def test_rerun_after_a_kill_is_not_blocked_by_the_dead_run(pipeline_env):
    _kill_chunk_run(pipeline_env, "model_pass")
    log = pipeline_env / "rerun.log"
    rerun = start_runner("--chunk", KILL_CHUNK, log=log)
    deadline = time.monotonic() + 120
    while rerun.poll() is None:
        blocked = "blocked by limit for pool gpu" in log.read_text(errors="replace")
        if blocked or time.monotonic() > deadline:
            rerun.kill()
            rerun.wait()
            pytest.fail(f"the re-run waits for the gpu slot of the killed run:\n{tail(log, 5)}")
        time.sleep(0.2)
    assert rerun.returncode == 0, tail(log)


def _truncate_to_half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _flip_one_byte(data: bytes) -> bytes:
    position = len(data) // 3
    return data[:position] + bytes([data[position] ^ 0xFF]) + data[position + 1:]


# How a cache entry can be torn: a write cut short (half or nothing of it) or a damaged byte.
TEARS = {"half written": _truncate_to_half, "empty": lambda data: b"", "flipped byte": _flip_one_byte}


@pytest.mark.parametrize("tear", sorted(TEARS))
def test_torn_cache_entry_is_detected_and_recomputed(tmp_path, tear):
    encoder = load_dnabert2(TINY_MODEL, device="cpu", dtype="float32")
    with ReferenceGenome(CHRM_FASTA) as genome:
        sequence = genome.fetch("chrM", 5903, 7445)  # MT-CO1, 1,542 bp
    first = EmbeddingEngine(encoder, cache=EmbeddingCache(tmp_path)).embed({"MT-CO1": sequence})
    (entry,) = tmp_path.glob("*/*.npz")
    entry.write_bytes(TEARS[tear](entry.read_bytes()))

    cache = EmbeddingCache(tmp_path)
    engine = EmbeddingEngine(encoder, cache=cache)
    again = engine.embed({"MT-CO1": sequence})
    assert (cache.corrupt, cache.hits, engine.model_calls > 0) == (1, 0, True)
    assert again["MT-CO1"].vector.tobytes() == first["MT-CO1"].vector.tobytes()
    assert np.array_equal(again.window_stats[again["MT-CO1"].sha256].token_sum,
                          first.window_stats[first["MT-CO1"].sha256].token_sum)

    healed = EmbeddingEngine(encoder, cache=EmbeddingCache(tmp_path))
    assert healed.embed({"MT-CO1": sequence})["MT-CO1"].vector.tobytes() == first["MT-CO1"].vector.tobytes()
    assert (healed.cache_hits, healed.model_calls) == (1, 0)  # the entry was rewritten whole
