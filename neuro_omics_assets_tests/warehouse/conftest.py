"""Fixtures shared by the warehouse tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Opens the DuckDB file, says so on stdout, keeps it open for argv[3] seconds.
_HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "ro")
print("holding", flush=True)
time.sleep(float(sys.argv[3]))
con.close()
"""


@pytest.fixture
def hold_duckdb():
    """Start a process that holds a DuckDB file open: ``hold_duckdb(path, seconds, read_only=False)``.

    Returns once the connection is open; the process is ended at teardown.
    """
    started: list[subprocess.Popen] = []

    def start(db_path: Path, seconds: float, read_only: bool = False) -> subprocess.Popen:
        mode = "ro" if read_only else "rw"
        process = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(db_path), mode, str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout.readline().strip() == "holding"
        return process

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
