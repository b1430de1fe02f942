"""Several processes and a reader sharing one warehouse: nobody fails on a lock, nobody sees half a file."""

from __future__ import annotations

import multiprocessing
import time

import numpy as np
import pytest

from neuro_omics_assets.errors import WarehouseError
from neuro_omics_assets.warehouse.catalog import Catalog
from neuro_omics_assets_tests.warehouse.builders import gene_vectors_table, write_chunks_with_lineage

N_WORKERS = 4
CHUNKS_PER_WORKER = 3


def test_reader_retries_while_another_process_writes(tmp_path, hold_duckdb):
    catalog = Catalog(tmp_path / "wh")
    catalog.write_partition("gene_vectors", "chunk_000", gene_vectors_table(np.ones((2, 4), np.float32)))
    hold_duckdb(catalog.db_path, 1.0)
    started = time.monotonic()
    frame = catalog.query("SELECT count(*) AS n FROM gene_vectors")
    assert frame["n"].iloc[0] == 2
    assert time.monotonic() - started > 0.5


def test_reader_gives_up_when_the_catalog_stays_busy(tmp_path, hold_duckdb):
    catalog = Catalog(tmp_path / "wh", busy_timeout_s=0.3)
    catalog.refresh_all()
    hold_duckdb(catalog.db_path, 30.0)
    with pytest.raises(WarehouseError, match="is busy"):
        catalog.lineage()


def test_writer_waits_for_a_reader_process(tmp_path, hold_duckdb):
    catalog = Catalog(tmp_path / "wh")
    catalog.refresh_all()
    hold_duckdb(catalog.db_path, 1.0, read_only=True)
    catalog.write_partition("gene_vectors", "chunk_000", gene_vectors_table(np.ones((2, 4), np.float32)))
    assert catalog.query("SELECT count(*) AS n FROM gene_vectors")["n"].iloc[0] == 2


def _visible_complete_partitions(catalog: Catalog) -> int:
    """How many partitions the view shows, asserting each is complete (3 rows, vectors filled with chunk)."""
    with catalog.connect_read_only() as con:
        if not con.execute("SELECT * FROM duckdb_views() WHERE view_name = 'gene_vectors'").fetchall():
            return 0
        rows = con.execute(
            "SELECT chunk, count(*), min(embedding[1]), max(embedding[4]) FROM gene_vectors GROUP BY chunk"
        ).fetchall()
    assert all(n == 3 and lo == chunk and hi == chunk for chunk, n, lo, hi in rows), rows
    return len(rows)


def test_concurrent_writer_processes_with_a_reader(tmp_path):
    catalog = Catalog(tmp_path / "wh")
    catalog.refresh_all()
    context = multiprocessing.get_context("spawn")
    jobs = [(str(catalog.root), worker, CHUNKS_PER_WORKER) for worker in range(N_WORKERS)]
    with context.Pool(N_WORKERS) as pool:
        pending = pool.starmap_async(write_chunks_with_lineage, jobs)
        seen = []
        while not pending.ready():
            seen.append(_visible_complete_partitions(catalog))
            time.sleep(0.02)
        pending.get(timeout=60)

    n_chunks = N_WORKERS * CHUNKS_PER_WORKER
    assert catalog.partitions("gene_vectors") == [f"chunk_{c:03d}" for c in range(n_chunks)]
    assert _visible_complete_partitions(catalog) == n_chunks
    # the reader never failed and never saw a partition disappear
    assert seen == sorted(seen)
    lineage = catalog.lineage("gene_vectors")
    assert sorted(lineage["partition"]) == [f"chunk_{c:03d}" for c in range(n_chunks)]
    assert sorted(set(lineage["run_id"])) == [f"run-{w}" for w in range(N_WORKERS)]
    assert (lineage["rows"] == 3).all()
