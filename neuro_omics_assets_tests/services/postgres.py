"""A throw-away PostgreSQL server (Debian's postgresql package) in a temporary directory, on a free port."""

from __future__ import annotations

import glob
import shutil
from dataclasses import dataclass
from pathlib import Path

from .processes import LOCALHOST, free_port, run


def postgres_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/<major>/bin`` holding initdb and pg_ctl (None when not installed)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


@dataclass(frozen=True)
class PostgresServer:
    """A running server: trust authentication on 127.0.0.1, superuser ``postgres``."""

    root: Path
    port: int
    bin_dir: Path

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL; psycopg2 explicitly (with psycopg 3 dagster-postgres' NOTIFY fails)."""
        return f"postgresql+psycopg2://postgres@{LOCALHOST}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create database ``name``; returns its URL."""
        run(["runuser", "-u", "postgres", "--", str(self.bin_dir / "psql"), "-h", LOCALHOST, "-p", str(self.port),
             "-U", "postgres", "-qc", f'CREATE DATABASE "{name}"'])
        return self.url(name)

    def stop(self) -> None:
        run(["runuser", "-u", "postgres", "--", str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir),
             "-m", "immediate", "-w", "stop"])


def start_postgres(root: Path) -> PostgresServer:
    """initdb in ``root``/data (owned by the ``postgres`` user) and start the server, fsync off."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl); run `make services`.")
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    shutil.chown(root, "postgres", "postgres")
    server = PostgresServer(root=root, port=free_port(), bin_dir=bin_dir)
    as_postgres = ["runuser", "-u", "postgres", "--"]
    run([*as_postgres, str(bin_dir / "initdb"), "-D", str(server.data_dir), "-U", "postgres", "--auth=trust",
         "--no-sync", "-E", "UTF8"])
    options = f"-p {server.port} -k {root} -c listen_addresses={LOCALHOST} -c fsync=off -c full_page_writes=off"
    run([*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(server.data_dir), "-l", str(root / "postgres.log"),
         "-o", options, "-w", "start"])
    return server
