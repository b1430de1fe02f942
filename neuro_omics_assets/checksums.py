"""Checksums of files and of this package's source: the one place they are computed.

``file_sha256`` hashes a file's bytes and remembers the digest per (path, size, mtime, inode), so a
long-lived process (the Dagster code server evaluating sensors) hashes a multi-GB FASTA or model once,
not on every evaluation; replacing or rewriting the file changes the stat and hashes it again.

``source_fingerprint`` is a SHA-256 over the relative paths and bytes of the package's Python source
files under the given sub-packages: it changes when any of those files changes, whatever git says.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

from .errors import InputFileError

PACKAGE_DIR = Path(__file__).resolve().parent
_FILE_CHUNK = 1 << 20


def file_sha256(path: str | Path) -> str:
    """SHA-256 hex digest of the bytes of the file at ``path`` (as stored, compressed or not)."""
    try:
        stat = os.stat(path)
    except FileNotFoundError as err:
        raise InputFileError(f"file not found: {path}. Check the path.") from err
    return _file_sha256(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)


@functools.lru_cache(maxsize=256)
def _file_sha256(path: str, size: int, mtime_ns: int, inode: int) -> str:
    """Hash of ``path``; the stat fields are only the memo key (a changed file misses it)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_FILE_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@functools.lru_cache(maxsize=8)
def source_fingerprint(*parts: str) -> str:
    """SHA-256 over every ``*.py`` file under ``parts`` (sub-packages or modules of this package, e.g.
    ``"models"``, ``"genome/sequence.py"``), by relative path and bytes; no parts = the whole package."""
    roots = [PACKAGE_DIR / part for part in parts] if parts else [PACKAGE_DIR]
    files = sorted({f for root in roots for f in ([root] if root.is_file() else root.rglob("*.py"))})
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.relative_to(PACKAGE_DIR).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def package_fingerprint() -> str:
    """Fingerprint of every source file of the package: which code wrote an output (lineage)."""
    return source_fingerprint()
