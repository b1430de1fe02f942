"""Waiting for the two locks of a warehouse: the writers' flock and DuckDB's own file lock.

* ``exclusive_lock`` serialises writers across processes (and threads) with ``fcntl.flock`` on
  ``<root>/.catalog.lock``. The kernel drops the lock when its holder dies, so it is never stale.
  It is not re-entrant: a holder that asks again waits for itself until the timeout. flock is
  reliable on local disks; on NFS use one writer process.
* ``connect_with_retry`` opens the DuckDB file, retrying with backoff while another process holds a
  conflicting DuckDB lock: one read-write connection excludes every other connection, and read-only
  connections exclude a read-write one. In one process, DuckDB also refuses a read-only and a
  read-write connection to the same file at once; that conflict is retried the same way.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from neuro_omics_assets.errors import WarehouseError

log = logging.getLogger(__name__)

_FIRST_DELAY_S = 0.01
_MAX_DELAY_S = 0.25
# DuckDB signals a lock conflict only through these message fragments (IOException / ConnectionException).
_LOCK_CONFLICT_MESSAGES = ("Could not set lock on file", "different configuration than existing connections")


def _backoff_delays(timeout_s: float) -> Iterator[float]:
    """Sleep lengths (doubling from 10 ms, capped at 250 ms) that fit before ``timeout_s`` runs out."""
    deadline = time.monotonic() + timeout_s
    delay = _FIRST_DELAY_S
    while time.monotonic() + delay <= deadline:
        yield delay
        delay = min(delay * 2, _MAX_DELAY_S)


def _holder_pid(fd: int) -> str:
    """The pid the current holder wrote into the lock file, or 'unknown'."""
    return os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"


@contextmanager
def exclusive_lock(lock_path: Path, timeout_s: float = 120.0) -> Iterator[None]:
    """Hold an exclusive inter-process lock on ``lock_path`` for the ``with`` block.

    Creates the file (and its directory) when missing and writes the holder's pid into it. Raises
    WarehouseError naming the lock file and the holder's pid when not acquired within ``timeout_s``.
    """
    lock_path = Path(lock_path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        _acquire(fd, lock_path, timeout_s)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, lock_path: Path, timeout_s: float) -> None:
    """Take the flock on ``fd``, polling with backoff; WarehouseError after ``timeout_s``."""
    delays = _backoff_delays(timeout_s)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            delay = next(delays, None)
            if delay is None:
                raise WarehouseError(
                    f"timed out after {timeout_s:g} s waiting for the warehouse write lock {lock_path} "
                    f"(held by pid {_holder_pid(fd)}). Another writer is busy: wait for it to finish or "
                    "raise lock_timeout_s. The lock is released when its holder exits, so it cannot be stale."
                ) from None
            time.sleep(delay)


def is_lock_conflict(exc: duckdb.Error) -> bool:
    """Whether ``exc`` is DuckDB refusing a connection because another one holds the file."""
    return any(fragment in str(exc) for fragment in _LOCK_CONFLICT_MESSAGES)


def connect_with_retry(db_path: Path, *, read_only: bool, timeout_s: float) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file ``db_path``, retrying lock conflicts with backoff for up to ``timeout_s``.

    Raises WarehouseError saying the catalog is busy after the timeout, and WarehouseError for any
    other open failure (e.g. a corrupt file). The caller closes the returned connection.
    """
    delays = _backoff_delays(timeout_s)
    while True:
        try:
            return duckdb.connect(str(db_path), read_only=read_only)
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            if not is_lock_conflict(exc):
                raise WarehouseError(
                    f"cannot open the DuckDB catalog {db_path}: {exc}. If the file is damaged, move it "
                    "aside and run Catalog(root).refresh_all(): the views are rebuilt from the Parquet "
                    "files (lineage rows are lost)."
                ) from exc
            delay = next(delays, None)
            if delay is None:
                raise WarehouseError(_busy_message(db_path, read_only, timeout_s, exc)) from exc
            log.debug("catalog %s is locked by another connection; retrying in %.2f s", db_path, delay)
            time.sleep(delay)


def _busy_message(db_path: Path, read_only: bool, timeout_s: float, exc: duckdb.Error) -> str:
    """What to tell a caller who waited ``timeout_s`` for the DuckDB file lock."""
    if read_only:
        advice = (
            "a writer has held it read-write for that long; writers hold it only for a few statements, "
            "so look for a process keeping a read-write connection open, or retry later"
        )
    else:
        advice = (
            "open read-only connections (notebooks, the duckdb CLI, long queries) block writers: "
            "close them and re-run; Catalog(root).refresh_all() then rebuilds the views"
        )
    return f"the catalog {db_path} is busy: waited {timeout_s:g} s for DuckDB's file lock ({exc}); {advice}."
