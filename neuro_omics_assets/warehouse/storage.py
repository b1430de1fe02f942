"""Where the warehouse's Parquet files live: a local directory or an S3 prefix (storage only, no catalog).

Both kinds give the same guarantee: a file appears complete or not at all, never in part.

* Local (``LocalStorage``): ``parquet.write_parquet_atomic`` (temp file, fsync, rename, fsync the directory).
* S3 (``S3Storage``, ``s3://bucket/prefix``, through pyarrow's S3 filesystem): the object is uploaded
  under a temporary key (``.<name>.<pid>.<random>.tmp`` beside it, which the views' ``*.parquet`` globs
  never match), then published by a server-side copy onto the final key, which S3 makes visible whole
  (a failed upload would otherwise be completed with what was written so far when the stream closes);
  the temporary key is then deleted. A writer killed in between leaves only a temporary key, which
  ``remove_stale_temp_files`` deletes under the catalog lock.

Paths given to a storage are relative to its root (``parquet/genes/all.parquet``); ``url`` gives what
DuckDB and lineage use: an absolute local path, or an ``s3://`` URL.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from neuro_omics_assets.errors import ConfigError, WarehouseError
from neuro_omics_assets.warehouse.parquet import (
    TEMP_SUFFIX,
    fsync_directory,
    read_parquet_metadata,
    remove_stale_temp_files,
    temp_name,
    with_metadata,
    write_file_atomic,
    write_parquet_atomic,
)

log = logging.getLogger(__name__)

S3_SCHEME = "s3://"
UrlStyle = Literal["path", "vhost"]


def is_s3_url(root: str | Path) -> bool:
    """Whether ``root`` names an S3 prefix (``s3://bucket[/prefix]``) rather than a local directory."""
    return str(root).startswith(S3_SCHEME)


@dataclass(frozen=True)
class S3Options:
    """How to reach an S3-compatible server. ``endpoint`` None means AWS itself; keys None means the
    standard AWS credential chain (environment, ~/.aws, instance role)."""

    endpoint: str | None = None
    region: str = "us-east-1"
    # path-style (http://host/bucket/key) is what MinIO, SeaweedFS and Ceph serve without DNS set-up.
    url_style: UrlStyle = "path"
    access_key_id: str | None = None
    secret_access_key: str | None = None

    def __post_init__(self) -> None:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ConfigError("S3 access key id and secret access key must be given together (or neither, for "
                              "the AWS credential chain); set both NEURO_OMICS_S3_ACCESS_KEY_ID and "
                              "NEURO_OMICS_S3_SECRET_ACCESS_KEY.")
        if self.endpoint is not None and not self.endpoint.startswith(("http://", "https://")):
            raise ConfigError(f"S3 endpoint {self.endpoint!r} needs its scheme: http://host:port or https://host.")

    @property
    def use_ssl(self) -> bool:
        return self.endpoint is None or self.endpoint.startswith("https://")


class LocalStorage:
    """Files under a local directory ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().resolve()

    @property
    def root_url(self) -> str:
        return str(self.root)

    def url(self, relative: str) -> str:
        return str(self.root / relative)

    def exists(self, relative: str) -> bool:
        return (self.root / relative).exists()

    def list(self, directory: str, suffix: str) -> list[str]:
        """Sorted names (not paths) of the files directly in ``directory`` ending in ``suffix``."""
        return sorted(path.name for path in (self.root / directory).glob(f"*{suffix}"))

    def list_dirs(self, directory: str) -> list[str]:
        """Sorted names of the directories directly in ``directory`` (none when it is missing)."""
        path = self.root / directory
        return sorted(child.name for child in path.iterdir() if child.is_dir()) if path.is_dir() else []

    def read_table(self, relative: str, filters: list[tuple] | None = None) -> pa.Table:
        return pq.read_table(self.root / relative, filters=filters)

    def read_schema(self, relative: str) -> pa.Schema:
        return pq.read_schema(self.root / relative)

    def read_metadata(self, relative: str) -> dict[str, str]:
        return read_parquet_metadata(self.root / relative)

    def write_parquet(self, relative: str, table: pa.Table, metadata: Mapping[str, str] | None,
                      row_group_rows: int | None) -> str:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        write_parquet_atomic(table, path, metadata, row_group_rows)
        return str(path)

    def read_bytes(self, relative: str) -> bytes:
        return (self.root / relative).read_bytes()

    def write_bytes(self, relative: str, data: bytes) -> str:
        """Write ``data`` to ``relative`` atomically (temp file, fsync, rename)."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        return str(write_file_atomic(path, lambda handle: handle.write(data)))

    def delete(self, relative: str) -> bool:
        path = self.root / relative
        if not path.exists():
            return False
        path.unlink()
        fsync_directory(path.parent)
        return True

    def remove_stale_temp_files(self, directory: str) -> list[str]:
        return [str(path) for path in remove_stale_temp_files(self.root / directory)]

    def configure_duckdb(self, con: duckdb.DuckDBPyConnection) -> None:
        """Nothing to set up: DuckDB reads local files natively."""


def httpfs_extension_path() -> Path:
    """The httpfs extension shipped in the duckdb-extension-httpfs wheel for this DuckDB release."""
    import duckdb_extension_httpfs

    path = (Path(duckdb_extension_httpfs.__file__).parent / "extensions" / f"v{duckdb.__version__}"
            / "httpfs.duckdb_extension")
    if not path.exists():
        raise WarehouseError(
            f"no httpfs extension for DuckDB {duckdb.__version__} at {path}; install duckdb-extension-httpfs "
            f"=={duckdb.__version__} (the project's constraints.txt pins matching releases)."
        )
    return path


class S3Storage:
    """Objects under ``s3://bucket/prefix`` on an S3-compatible server."""

    def __init__(self, root_url: str, options: S3Options) -> None:
        bucket_and_prefix = root_url[len(S3_SCHEME):].strip("/")
        if not bucket_and_prefix:
            raise ConfigError(f"warehouse root {root_url!r} names no bucket; use s3://bucket/prefix.")
        self.base = bucket_and_prefix
        self.options = options
        endpoint = options.endpoint
        self.fs = pafs.S3FileSystem(
            access_key=options.access_key_id, secret_key=options.secret_access_key, region=options.region,
            endpoint_override=endpoint.split("://", 1)[1] if endpoint else None,
            scheme="https" if options.use_ssl else "http", force_virtual_addressing=options.url_style == "vhost",
        )

    @property
    def root_url(self) -> str:
        return S3_SCHEME + self.base

    def url(self, relative: str) -> str:
        return f"{S3_SCHEME}{self.base}/{relative}"

    def _key(self, relative: str) -> str:
        return f"{self.base}/{relative}"

    def _call(self, what: str, relative: str, action):
        try:
            return action()
        except OSError as exc:
            raise WarehouseError(
                f"S3 {what} of {self.url(relative)} failed ({exc}); check NEURO_OMICS_S3_ENDPOINT, the keys, "
                "the region and that the bucket exists."
            ) from exc

    def exists(self, relative: str) -> bool:
        info = self._call("stat", relative, lambda: self.fs.get_file_info(self._key(relative)))
        return info.type == pafs.FileType.File

    def list(self, directory: str, suffix: str) -> list[str]:
        selector = pafs.FileSelector(self._key(directory), allow_not_found=True)
        infos = self._call("listing", directory, lambda: self.fs.get_file_info(selector))
        return sorted(info.base_name for info in infos
                      if info.type == pafs.FileType.File and info.base_name.endswith(suffix))

    def list_dirs(self, directory: str) -> list[str]:
        """Sorted names of the prefixes ("directories") directly under ``directory``."""
        selector = pafs.FileSelector(self._key(directory), allow_not_found=True)
        infos = self._call("listing", directory, lambda: self.fs.get_file_info(selector))
        return sorted(info.base_name for info in infos if info.type == pafs.FileType.Directory)

    def read_table(self, relative: str, filters: list[tuple] | None = None) -> pa.Table:
        return self._call("read", relative, lambda: pq.read_table(self._key(relative), filesystem=self.fs,
                                                                  filters=filters))

    def read_schema(self, relative: str) -> pa.Schema:
        return self._call("read", relative, lambda: pq.read_schema(self._key(relative), filesystem=self.fs))

    def read_metadata(self, relative: str) -> dict[str, str]:
        metadata = self.read_schema(relative).metadata or {}
        return {key.decode(): value.decode() for key, value in metadata.items()}

    def _temp_key(self, relative: str) -> str:
        directory, _, name = relative.rpartition("/")
        return self._key(f"{directory}/{temp_name(name)}")

    def _publish(self, relative: str, upload) -> str:
        """``upload(temp_key)``, then copy the temporary object onto ``relative`` and delete it."""
        tmp = self._temp_key(relative)
        try:
            self._call("upload", relative, lambda: upload(tmp))
            self._call("publish", relative, lambda: self.fs.copy_file(tmp, self._key(relative)))
        finally:
            try:
                self.fs.delete_file(tmp)
            except FileNotFoundError:
                pass
        return self.url(relative)

    def write_parquet(self, relative: str, table: pa.Table, metadata: Mapping[str, str] | None,
                      row_group_rows: int | None) -> str:
        table = with_metadata(table, metadata)
        return self._publish(relative, lambda tmp: pq.write_table(table, tmp, filesystem=self.fs,
                                                                  row_group_size=row_group_rows))

    def read_bytes(self, relative: str) -> bytes:
        def read() -> bytes:
            with self.fs.open_input_stream(self._key(relative)) as handle:
                return handle.read()
        return self._call("read", relative, read)

    def write_bytes(self, relative: str, data: bytes) -> str:
        def upload(tmp: str) -> None:
            with self.fs.open_output_stream(tmp) as out:
                out.write(data)
        return self._publish(relative, upload)

    def delete(self, relative: str) -> bool:
        if not self.exists(relative):
            return False
        self._call("delete", relative, lambda: self.fs.delete_file(self._key(relative)))
        return True

    def remove_stale_temp_files(self, directory: str) -> list[str]:
        """Delete temporary keys left by killed writers; call only under the catalog lock."""
        stale = [name for name in self.list(directory, TEMP_SUFFIX) if name.startswith(".")]
        for name in stale:
            self.fs.delete_file(self._key(f"{directory}/{name}"))
            log.warning("removed stale temporary object %s left by an interrupted write", self.url(f"{directory}/{name}"))
        return [self.url(f"{directory}/{name}") for name in stale]

    def configure_duckdb(self, con: duckdb.DuckDBPyConnection) -> None:
        """Load httpfs from the installed wheel (never downloaded) and give DuckDB this server's settings."""
        con.execute(f"LOAD '{httpfs_extension_path()}'")
        options = self.options
        fields = {"REGION": options.region, "URL_STYLE": options.url_style, "USE_SSL": options.use_ssl,
                  "SCOPE": self.root_url}
        if options.endpoint:
            fields["ENDPOINT"] = options.endpoint.split("://", 1)[1]
        if options.access_key_id:
            fields.update(KEY_ID=options.access_key_id, SECRET=options.secret_access_key)
        settings = ", ".join(f"{key} {_literal(value)}" for key, value in fields.items())
        con.execute(f"CREATE OR REPLACE TEMPORARY SECRET neuro_omics_warehouse (TYPE s3, {settings})")


def _literal(value: str | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "'" + str(value).replace("'", "''") + "'"


Storage = LocalStorage | S3Storage


def open_storage(root: str | Path, s3: S3Options | None = None) -> Storage:
    """The storage of a warehouse root: ``s3://bucket/prefix`` (with ``s3`` options) or a local directory."""
    if is_s3_url(root):
        return S3Storage(str(root), s3 or S3Options())
    if s3 is not None:
        raise ConfigError(f"S3 settings were given but the warehouse root {root} is a local directory; "
                          "use an s3://bucket/prefix root or drop the NEURO_OMICS_S3_* settings.")
    return LocalStorage(Path(root))
