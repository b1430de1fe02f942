"""Atomic Parquet files: readers see either the previous file or the complete new one, never a part.

A write goes to ``.<name>.<pid>.<random>.tmp`` in the target directory (a leading dot and a ``.tmp``
suffix, so the ``*.parquet`` globs of the DuckDB views never match it), is flushed and fsynced, then
``os.replace``d onto the final name, and the directory is fsynced so the rename survives a crash.
A process killed mid-write can leave a temp file behind; ``remove_stale_temp_files`` deletes those.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from neuro_omics_assets.errors import WarehouseError

log = logging.getLogger(__name__)

TEMP_SUFFIX = ".tmp"


def with_metadata(table: pa.Table, metadata: Mapping[str, str] | None) -> pa.Table:
    """``table`` with its schema metadata updated by ``metadata`` (which wins on equal keys)."""
    merged = dict(table.schema.metadata or {})
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise WarehouseError(
                f"Parquet metadata must map str to str, got {key!r}: {type(value).__name__}; "
                "serialise the value first (e.g. json.dumps)."
            )
        merged[key.encode()] = value.encode()
    return table.replace_schema_metadata(merged)


def fsync_directory(directory: Path) -> None:
    """Persist the directory entry changes (creations, renames, unlinks) of ``directory``."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_name(name: str) -> str:
    """The temporary name a write of ``name`` goes to first: ``.<name>.<pid>.<random>.tmp``."""
    return f".{name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}"


def write_file_atomic(path: Path, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(handle)`` on a temp file beside ``path``, fsync it, rename it onto ``path``, fsync the
    directory. On any exception (including KeyboardInterrupt) the temp file is removed, an existing file
    at ``path`` is left untouched, and the exception is re-raised. The parent directory must exist."""
    path = Path(path)
    tmp = path.with_name(temp_name(path.name))
    try:
        with open(tmp, "xb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)
    return path


def write_parquet_atomic(
    table: pa.Table, path: Path, metadata: Mapping[str, str] | None = None, row_group_rows: int | None = None
) -> Path:
    """Write ``table`` to ``path`` atomically (``write_file_atomic``), with ``metadata`` merged into the
    schema metadata (``row_group_rows`` rows per row group; None: pyarrow's default). Returns ``path``."""
    table = with_metadata(table, metadata)
    write_file_atomic(Path(path), lambda handle: pq.write_table(table, handle, row_group_size=row_group_rows))
    log.debug("wrote %d rows to %s", table.num_rows, path)
    return Path(path)


def read_parquet_metadata(path: Path) -> dict[str, str]:
    """The key-value schema metadata of the Parquet file at ``path`` (pyarrow strips its ARROW:schema)."""
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowInvalid) as exc:
        raise WarehouseError(f"cannot read Parquet metadata of {path}: {exc}. Re-materialize it.") from exc
    return {key.decode(): value.decode() for key, value in metadata.items()}


def remove_stale_temp_files(directory: Path) -> list[Path]:
    """Delete the temp files ``write_parquet_atomic`` left in ``directory`` (left by killed writers).

    Call it only while holding the catalog lock, when no write to ``directory`` can be in flight.
    Returns the removed paths; a missing directory has none.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    removed = sorted(directory.glob(f".*{TEMP_SUFFIX}"))
    for stale in removed:
        stale.unlink(missing_ok=True)
        log.warning("removed stale temp file %s left by an interrupted write", stale)
    return removed
