from __future__ import annotations

import os
import threading
import time

import duckdb
import pytest

from neuro_omics_assets.errors import WarehouseError
from neuro_omics_assets.warehouse.locking import connect_with_retry, exclusive_lock


def _hold_lock_in_thread(lock_path, seconds: float) -> threading.Thread:
    acquired = threading.Event()

    def hold() -> None:
        with exclusive_lock(lock_path, timeout_s=5):
            acquired.set()
            time.sleep(seconds)

    thread = threading.Thread(target=hold)
    thread.start()
    assert acquired.wait(5)
    return thread


def test_lock_times_out_naming_the_file_and_the_holder(tmp_path):
    lock_path = tmp_path / "wh" / ".catalog.lock"
    holder = _hold_lock_in_thread(lock_path, 1.0)
    with pytest.raises(
        WarehouseError,
        match=rf"waiting for the warehouse write lock {lock_path} \(held by pid {os.getpid()}\)",
    ):
        with exclusive_lock(lock_path, timeout_s=0.1):
            pytest.fail("acquired a lock that another holder has")
    holder.join()


def test_lock_is_granted_once_the_holder_releases(tmp_path):
    lock_path = tmp_path / ".catalog.lock"
    holder = _hold_lock_in_thread(lock_path, 0.3)
    started = time.monotonic()
    with exclusive_lock(lock_path, timeout_s=5):
        waited = time.monotonic() - started
    holder.join()
    assert waited > 0.1


def test_lock_serialises_read_modify_write(tmp_path):
    lock_path, counter = tmp_path / ".catalog.lock", tmp_path / "counter"
    counter.write_text("0")

    def increment() -> None:
        for _ in range(10):
            with exclusive_lock(lock_path, timeout_s=10):
                value = int(counter.read_text())
                time.sleep(0.001)
                counter.write_text(str(value + 1))

    threads = [threading.Thread(target=increment) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counter.read_text() == "40"


def _make_db(path) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT 42 AS answer")
    con.close()


def test_read_only_connect_waits_for_a_writer_process(tmp_path, hold_duckdb):
    db = tmp_path / "x.duckdb"
    _make_db(db)
    hold_duckdb(db, 1.0)
    started = time.monotonic()
    con = connect_with_retry(db, read_only=True, timeout_s=20)
    waited = time.monotonic() - started
    assert con.execute("SELECT answer FROM t").fetchall() == [(42,)]
    con.close()
    assert waited > 0.5


def test_read_write_connect_waits_for_a_reader_process(tmp_path, hold_duckdb):
    db = tmp_path / "x.duckdb"
    _make_db(db)
    hold_duckdb(db, 1.0, read_only=True)
    con = connect_with_retry(db, read_only=False, timeout_s=20)
    con.execute("INSERT INTO t VALUES (43)")
    assert con.execute("SELECT count(*) FROM t").fetchall() == [(2,)]
    con.close()


def test_read_only_connect_waits_for_a_writer_in_the_same_process(tmp_path):
    db = tmp_path / "x.duckdb"
    _make_db(db)
    writer = duckdb.connect(str(db))
    closer = threading.Timer(0.3, writer.close)
    closer.start()
    con = connect_with_retry(db, read_only=True, timeout_s=20)
    closer.join()
    assert con.execute("SELECT answer FROM t").fetchall() == [(42,)]
    con.close()


@pytest.mark.parametrize(
    ("read_only", "advice"), [(True, "read-write connection open"), (False, "close them")]
)
def test_connect_gives_up_with_a_busy_error(tmp_path, hold_duckdb, read_only, advice):
    db = tmp_path / "x.duckdb"
    _make_db(db)
    hold_duckdb(db, 30.0, read_only=not read_only)
    with pytest.raises(WarehouseError, match=rf"the catalog {db} is busy: waited 0.3 s.*{advice}"):
        connect_with_retry(db, read_only=read_only, timeout_s=0.3)


def test_connect_to_a_damaged_file_is_not_retried(tmp_path):
    db = tmp_path / "x.duckdb"
    db.write_bytes(b"this is not a duckdb file" * 200)
    started = time.monotonic()
    with pytest.raises(WarehouseError, match="cannot open the DuckDB catalog .*refresh_all"):
        connect_with_retry(db, read_only=True, timeout_s=10)
    assert time.monotonic() - started < 5
