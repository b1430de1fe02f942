"""Reference genome access: plain FASTA through pyfaidx, bgzipped FASTA through pysam.

pyfaidx reads block-gzipped files only with biopython installed, which this project does not
depend on; ``pysam.FastaFile`` (htslib) reads them natively, so bgzipped files go through pysam.

Coordinates are 0-based half-open everywhere in this module's API.
"""

from __future__ import annotations

import functools
import gzip
import logging
import os
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pyfaidx
import pysam

from neuro_omics_assets.checksums import file_sha256
from neuro_omics_assets.errors import FastaError, InputFileError
from neuro_omics_assets.genome.contigs import ContigAliases
from neuro_omics_assets.genome.sequence import invalid_characters

log = logging.getLogger(__name__)

# Every BGZF file ends with this empty block; htslib warns when it is absent (a truncated file).
_BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
_SAMPLE_BASES = 1000  # bases read at each end of a contig to validate the index at open time


class CoordinateError(FastaError, IndexError):
    """A requested interval lies outside its contig."""


@dataclass(frozen=True)
class FaiEntry:
    """One ``.fai`` line: contig ``name`` of ``length`` bases, starting at byte ``offset``,
    ``line_bases`` bases per line, ``line_width`` bytes per line (bases + newline)."""

    name: str
    length: int
    offset: int
    line_bases: int
    line_width: int

    def byte_of(self, position: int) -> int:
        """Byte offset in the (uncompressed) FASTA of the 0-based base ``position``."""
        return self.offset + (position // self.line_bases) * self.line_width + position % self.line_bases


class _Reader(Protocol):
    def fetch(self, name: str, start: int, end: int) -> str: ...

    def close(self) -> None: ...


class _PyfaidxReader:
    """Plain FASTA via pyfaidx."""

    def __init__(self, path: Path) -> None:
        # rebuild=False: never rewrite an existing .fai because the FASTA's mtime is newer.
        self._faidx = pyfaidx.Faidx(str(path), as_raw=True, rebuild=False, build_index=False)

    def fetch(self, name: str, start: int, end: int) -> str:
        return self._faidx.fetch(name, start + 1, end)  # pyfaidx fetch is 1-based, closed

    def close(self) -> None:
        self._faidx.close()


class _PysamReader:
    """bgzipped FASTA via htslib."""

    def __init__(self, path: Path) -> None:
        self._fasta = pysam.FastaFile(str(path))

    def fetch(self, name: str, start: int, end: int) -> str:
        return self._fasta.fetch(name, start, end)  # pysam fetch is 0-based, half-open

    def close(self) -> None:
        self._fasta.close()


class ReferenceGenome:
    """A reference FASTA (plain, or bgzipped with ``.fai`` and ``.gzi``) with contig aliases.

    Opening validates the file and its index (one-line ``InputFileError``/``FastaError`` naming the
    file otherwise). A plain FASTA without ``.fai`` gets one built next to it. Use as a context
    manager or call ``close()``.
    """

    def __init__(self, path: str | Path, aliases: ContigAliases | None = None) -> None:
        """``aliases`` defaults to ``ContigAliases.hg38()``."""
        self.path = Path(path)
        self.aliases = aliases if aliases is not None else ContigAliases.hg38()
        self.bgzipped = _check_fasta_file(self.path)
        fai = Path(f"{self.path}.fai")
        if self.bgzipped:
            _check_bgzip_indexes(self.path, fai)
        elif not fai.is_file():
            _build_fai(self.path, fai)
        self._index = _read_fai(fai, self.path)
        if not self.bgzipped:
            _check_plain_layout(self.path, self._index)
        self._reader: _Reader = _open_reader(self.path, self.bgzipped)
        try:
            self._check_samples()
        except FastaError:
            self._reader.close()
            raise

    @functools.cached_property
    def sha256(self) -> str:
        """SHA-256 hex digest of the FASTA file bytes (as stored, compressed or not)."""
        return file_sha256(self.path)

    @property
    def contigs(self) -> dict[str, int]:
        """Contig name -> length in bases, in file order."""
        return {entry.name: entry.length for entry in self._index.values()}

    def resolve(self, contig: str) -> str:
        """The FASTA's name for ``contig`` (itself or an alias); ``ContigNotFoundError`` otherwise."""
        return self.aliases.resolve(contig, self._index.keys(), str(self.path))

    def resolve_all(self, contigs: Iterable[str]) -> dict[str, str]:
        """Map each of ``contigs`` to the FASTA's name; one error lists every unmatched name."""
        return self.aliases.resolve_all(contigs, self._index.keys(), str(self.path))

    def fetch(self, contig: str, start: int, end: int) -> str:
        """Bases ``[start, end)`` (0-based, half-open) of ``contig`` (aliases allowed), case as stored.

        Raises ``CoordinateError`` unless ``0 <= start <= end <= length``.
        """
        name = contig if contig in self._index else self.resolve(contig)
        length = self._index[name].length
        if not 0 <= start <= end <= length:
            raise CoordinateError(
                f"{name}:{start}-{end} (0-based, half-open) is outside {name} ({length:,} bp) in "
                f"{self.path}. Check that the annotation and the FASTA are the same assembly."
            )
        if start == end:
            return ""
        try:
            seq = self._reader.fetch(name, start, end)
        except (OSError, ValueError, zlib.error) as exc:
            raise FastaError(
                f"cannot read {name}:{start}-{end} from {self.path} ({exc}): the file is corrupt or "
                f"truncated, or its .fai/.gzi index does not match it. Rebuild the index with "
                f"`samtools faidx {self.path}`; if that fails, download the file again."
            ) from exc
        if len(seq) != end - start:
            raise FastaError(
                f"{self.path}: read {len(seq)} bases for {name}:{start}-{end}, expected {end - start}; "
                f"the .fai index does not match the file: delete it and run `samtools faidx {self.path}`."
            )
        return seq

    def close(self) -> None:
        """Close the underlying file handle."""
        self._reader.close()

    def __enter__(self) -> ReferenceGenome:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ReferenceGenome({str(self.path)!r}, contigs={len(self._index)})"

    def _check_samples(self) -> None:
        """Read the first and last bases of the first and last contigs: garbage means a bad index."""
        entries = sorted(self._index.values(), key=lambda entry: entry.offset)
        for entry in {entries[0].name: entries[0], entries[-1].name: entries[-1]}.values():
            span = min(entry.length, _SAMPLE_BASES)
            for start in (0, entry.length - span):
                bad = invalid_characters(self.fetch(entry.name, start, start + span))
                if bad:
                    raise FastaError(
                        f"{self.path}: {entry.name}:{start}-{start + span} holds non-DNA characters "
                        f"{bad!r}: the .fai index does not match the file (or it is not a DNA "
                        f"FASTA). Delete the .fai and run `samtools faidx {self.path}`."
                    )


def _check_fasta_file(path: Path) -> bool:
    """Check that ``path`` is a (possibly bgzipped) FASTA file; return True if bgzipped."""
    if not path.is_file():
        raise InputFileError(f"FASTA file not found: {path}. Check the path (and that it is a file).")
    with open(path, "rb") as handle:
        head = handle.read(18)
    bgzipped = False
    if head[:2] == b"\x1f\x8b":
        # BGZF = gzip with the FEXTRA flag and a 'BC' subfield at byte 12 (SAM spec, section 4.1).
        if not (len(head) >= 14 and head[3] & 4 and head[12:14] == b"BC"):
            raise FastaError(
                f"{path} is gzip-compressed but not with bgzip, so it cannot be read at random "
                f"positions. Recompress it: `gunzip -c {path} | bgzip > new.fa.gz` and run "
                f"`samtools faidx new.fa.gz`."
            )
        bgzipped = True
        first = _first_decompressed_byte(path)
    else:
        first = head[:1]
    if first != b">":
        raise FastaError(
            f"{path} is not a FASTA file: it starts with {first!r}, not '>'. Give a FASTA "
            f"(plain or bgzipped) whose records start with '>name'."
        )
    return bgzipped


def _first_decompressed_byte(path: Path) -> bytes:
    try:
        with gzip.open(path, "rb") as handle:
            return handle.read(1)
    except (OSError, EOFError, zlib.error) as exc:
        raise FastaError(
            f"{path} is corrupt ({exc}); download it again or recompress it with bgzip."
        ) from exc


def _check_bgzip_indexes(path: Path, fai: Path) -> None:
    """A bgzipped FASTA needs ``.fai`` and ``.gzi``, and must end with the BGZF EOF block."""
    for index in (fai, Path(f"{path}.gzi")):
        if not index.is_file():
            raise InputFileError(
                f"{path} is bgzipped but has no index {index.name}; run `samtools faidx {path}` "
                f"(it writes both {fai.name} and {path.name}.gzi)."
            )
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - len(_BGZF_EOF)))
        tail = handle.read()
    if tail != _BGZF_EOF:
        raise FastaError(
            f"{path} is truncated: it lacks the BGZF end-of-file block. Download or copy it again "
            f"completely, then run `samtools faidx {path}`."
        )


def _build_fai(path: Path, fai: Path) -> None:
    """Build the ``.fai`` of a plain FASTA with pyfaidx (needs a writable directory)."""
    if not os.access(path.parent, os.W_OK):
        raise InputFileError(
            f"{path} has no index {fai.name} and its directory {path.parent} is read-only, so it "
            f"cannot be built there. Run `samtools faidx {path}` where you can write, or copy the "
            f"FASTA to a writable directory."
        )
    log.info("building FASTA index %s", fai)
    try:
        pyfaidx.Faidx(str(path), rebuild=False, build_index=True).close()
    except (pyfaidx.FastaIndexingError, ValueError) as exc:  # ValueError: duplicate record names
        fai.unlink(missing_ok=True)
        raise FastaError(
            f"cannot index {path}: {exc}. Fix the FASTA: record names must be unique and all lines "
            f"of a record but the last must have the same length."
        ) from exc


def _read_fai(fai: Path, fasta: Path) -> dict[str, FaiEntry]:
    """Parse and sanity-check a ``.fai`` (5 tab-separated integer columns after the name)."""
    fix = f"delete {fai} and run `samtools faidx {fasta}`"
    entries: dict[str, FaiEntry] = {}
    for lineno, line in enumerate(fai.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        try:
            entry = FaiEntry(fields[0], *(int(value) for value in fields[1:5]))
        except (ValueError, TypeError) as exc:
            raise FastaError(f"{fai}:{lineno}: not a FASTA index line ({exc}); {fix}.") from exc
        sane = (
            entry.offset > 0
            and entry.length >= 0
            and entry.line_bases > 0
            and 0 < entry.line_width - entry.line_bases <= 2
        )
        if len(fields) != 5 or not sane or entry.name in entries:
            raise FastaError(
                f"{fai}:{lineno}: malformed or duplicate FASTA index entry {line!r} (a .fai of a "
                f"FASTQ has 6 columns); {fix}."
            )
        entries[entry.name] = entry
    if not entries:
        raise FastaError(f"{fai} is empty; {fix}.")
    return entries


def _check_plain_layout(fasta: Path, index: dict[str, FaiEntry]) -> None:
    """Check each contig fits in the file and, for the first and last contig, that newlines sit
    where the ``.fai`` says (before the first base, after each full line, after the last base)."""
    size = fasta.stat().st_size
    fix = f"the .fai does not match the file: delete {fasta}.fai and run `samtools faidx {fasta}`"
    for entry in index.values():
        last = entry.byte_of(max(entry.length - 1, 0))
        if entry.length and last >= size:
            raise FastaError(
                f"{fasta}: index puts the last base of {entry.name} at byte {last:,} but the file "
                f"has {size:,} bytes; {fix}."
            )
    entries = sorted(index.values(), key=lambda entry: entry.offset)
    with open(fasta, "rb") as handle:
        for entry in (entries[0], entries[-1]):
            newlines = [entry.offset - 1]
            if entry.length > entry.line_bases:
                newlines.append(entry.offset + entry.line_bases)
            if entry.length:
                newlines.append(entry.byte_of(entry.length - 1) + 1)
            for position in newlines:
                handle.seek(position)
                byte = handle.read(1)
                if byte not in (b"\n", b"\r", b""):
                    raise FastaError(
                        f"{fasta}: expected a line end at byte {position:,} ({entry.name}) but found "
                        f"{byte!r}; {fix}."
                    )


def _open_reader(path: Path, bgzipped: bool) -> _Reader:
    try:
        return _PysamReader(path) if bgzipped else _PyfaidxReader(path)
    except (OSError, ValueError, pyfaidx.FastaIndexingError) as exc:
        raise FastaError(
            f"cannot open {path} ({exc}); check the file and rebuild its index with `samtools faidx {path}`."
        ) from exc
