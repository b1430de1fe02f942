"""Content-addressed on-disk cache of per-window embedding statistics.

Key: SHA-256 of (the normalised sequence's sha256, the statistics fields of the embedding identity —
encoder, model and tokenizer checksums, dtype, device class, kernel, window settings incl. the cutting
algorithm, numerics version and numerics code fingerprint (``identity.py``) —, ``CACHE_FORMAT_VERSION``).
An entry made with one kernel, device class or code is never served to another. The value is
the sequence's per-window statistics, both strands (``WindowStats``; for an RC-equivariant encoder the
reverse-complement rows are copies of the forward rows), not a pooled vector. Those
statistics determine every pooling variant (mean, CLS, forward, reverse complement, RC-averaged),
so pooling and ``rc_average`` are deliberately **not** part of the key: changing pooling is a cache
hit and never runs the model. (This supersedes DESIGN.md's "pooling in the key": the key holds
exactly what changes the cached statistics.) The batch size is not in the key either: a sequence's
statistics do not depend on its batch neighbours.

Layout: ``root/<key[:2]>/<key>.npz``, plain ``np.savez`` arrays (no pickle; loaded with
``allow_pickle=False``), written atomically (temp file, fsync, ``os.replace``) and carrying a
SHA-256 checksum of its payload and its own key. An entry that is torn, truncated, corrupt or
stored under the wrong name is logged, deleted and reported as a miss, so it is recomputed. Temp
files live in ``root/.tmp/`` as ``<host>.<pid>.<random>.tmp``; a process killed while writing leaves
one behind, and the first ``put`` of each ``EmbeddingCache`` deletes those whose writer is gone (same
host and no such process, or older than a day: another host's writer). That directory holds only
writes in flight, so the sweep reads a handful of names, not the whole cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

from neuro_omics_assets.embedding.identity import EmbeddingIdentity
from neuro_omics_assets.embedding.pooling import WindowStats

log = logging.getLogger(__name__)

#: Bump when the stored arrays or their meaning change; old entries then simply miss (changes of
#: arithmetic reach the key through the identity). 3: keys hold the whole statistics identity.
#: 4: ``cls`` NaN for encoders without [CLS]; RC rows copied from forward rows after one RC-equivariant pass.
CACHE_FORMAT_VERSION = 4

_META = ("key", "format_version", "checksum")  # stored next to the WindowStats columns
_FOREIGN_TEMP_AGE_S = 86_400  # a temp file of another host is abandoned after a day



class EmbeddingCache:
    """Per-window statistics of sequences on disk under ``root``; counts hits, misses and corrupt entries."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.temp_dir = self.root / ".tmp"
        self.hits = 0
        self.misses = 0
        self.corrupt = 0
        self._swept = False

    @staticmethod
    def key_for(sha256: str, identity: EmbeddingIdentity) -> str:
        """The cache key (64 hex digits) of a normalised sequence's statistics under ``identity``."""
        key = {"cache_format": CACHE_FORMAT_VERSION, "sequence_sha256": sha256, **identity.statistics_fields()}
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode("utf-8")).hexdigest()

    def path_for(self, key: str) -> Path:
        """Where the entry for ``key`` lives: ``root/<key[:2]>/<key>.npz``."""
        return self.root / key[:2] / f"{key}.npz"

    def get(self, key: str) -> WindowStats | None:
        """The stored statistics for ``key``, or None on a miss (a bad entry is deleted and missed)."""
        path = self.path_for(key)
        if not path.exists():
            self.misses += 1
            return None
        try:
            stats = _read_entry(path, key)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
            log.warning("embedding cache entry %s is unreadable (%s); deleting it, will recompute", path, err)
            path.unlink(missing_ok=True)
            self.corrupt += 1
            self.misses += 1
            return None
        self.hits += 1
        return stats

    def put(self, key: str, stats: WindowStats) -> Path:
        """Store ``stats`` under ``key`` atomically; return the entry's path."""
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.temp_dir.mkdir(exist_ok=True)
        if not self._swept:
            _remove_abandoned_temp_files(self.temp_dir)
            self._swept = True
        arrays = _with_meta(key, stats.arrays())
        prefix = f"{_HOST}.{os.getpid()}."
        handle = tempfile.NamedTemporaryFile(dir=self.temp_dir, prefix=prefix, suffix=".tmp", delete=False)
        try:
            with handle:
                np.savez(handle, **arrays)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(handle.name, path)
        except BaseException:
            Path(handle.name).unlink(missing_ok=True)
            raise
        return path


_HOST = socket.gethostname().replace(".", "_")


def _remove_abandoned_temp_files(directory: Path) -> None:
    """Delete temp files whose writer died (same host, no such pid) or that are a day old."""
    for temp in directory.glob("*.tmp"):
        parts = temp.name.split(".")  # [host, pid, random, "tmp"]
        host, pid = (parts[0], parts[1]) if len(parts) == 4 else ("", "")
        try:
            abandoned = (host == _HOST and pid.isdigit() and not _process_exists(int(pid))) or (
                time.time() - temp.stat().st_mtime > _FOREIGN_TEMP_AGE_S
            )
            if abandoned:
                temp.unlink()
                log.info("removed %s, left by an interrupted cache write", temp)
        except FileNotFoundError:
            continue  # removed meanwhile by another process


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _with_meta(key: str, columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    arrays = {**columns, "key": np.array(key), "format_version": np.array(CACHE_FORMAT_VERSION)}
    arrays["checksum"] = np.array(_checksum(arrays))
    return arrays


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over every array's name, dtype, shape and bytes, except ``checksum`` itself."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        if name == "checksum":
            continue
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _read_entry(path: Path, key: str) -> WindowStats:
    """Load and verify one entry; raises ValueError (or an I/O or zip error) if it is not intact."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    if str(arrays["checksum"]) != _checksum(arrays):
        raise ValueError("payload checksum mismatch")
    if str(arrays["key"]) != key or int(arrays["format_version"]) != CACHE_FORMAT_VERSION:
        raise ValueError("entry holds another key or cache format")
    return WindowStats(**{name: array for name, array in arrays.items() if name not in _META})
