"""Contig name aliases: ``chr1`` = ``1`` = ``NC_000001.11``, ``chrM`` = ``MT`` = ``NC_012920.1``.

Annotations, FASTA files and VCFs name the same sequence differently (UCSC ``chr1``, Ensembl ``1``,
RefSeq ``NC_000001.11``). ``ContigAliases`` holds groups of names of one contig and maps a name to
the member of a set of available names (usually a FASTA's contigs).
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

from neuro_omics_assets.errors import ConfigError, ContigNotFoundError, InputFileError

_SHOWN_NAMES = 10  # error messages list at most this many available contigs
_NUMBERED = re.compile(r"^(.*?)(\d+)$")


class ContigAliases:
    """Groups of contig names that denote the same sequence.

    Build with ``ContigAliases.hg38()`` (bioframe's UCSC hg38 analysis-set table, UCSC/Ensembl/
    GenBank/RefSeq names) or ``ContigAliases.from_tsv(path)`` (a user's table).
    """

    def __init__(self, groups: Iterable[Iterable[str]]) -> None:
        """``groups``: each item lists the names of one contig. A name may be in one group only."""
        self._group_of: dict[str, tuple[str, ...]] = {}
        for group in groups:
            names = tuple(dict.fromkeys(group))
            for name in names:
                if name in self._group_of and self._group_of[name] != names:
                    raise ConfigError(
                        f"contig name {name!r} is in two alias groups ({self._group_of[name]} and "
                        f"{names}); list each name on one line only."
                    )
                self._group_of[name] = names

    @classmethod
    @functools.cache
    def hg38(cls) -> ContigAliases:
        """The hg38 table shipped with the package (bioframe 0.8.0 ``hg38.seqinfo.tsv``, 195 contigs)."""
        resource = importlib.resources.files("neuro_omics_assets") / "data" / "hg38.seqinfo.tsv"
        return cls(_parse_table(resource.read_text(encoding="utf-8").splitlines(), "hg38.seqinfo.tsv"))

    @classmethod
    def from_tsv(cls, path: str | Path) -> ContigAliases:
        """Read a user's alias table.

        Each line lists names of one contig, separated by tabs; a field may hold several names
        separated by commas. Lines starting with ``#`` and blank lines are skipped. A bioframe
        ``seqinfo`` table (header ``name  length ... aliases``) is read by its ``name`` and
        ``aliases`` columns only. Raises ``InputFileError`` if the file is missing and
        ``ConfigError`` for a line with fewer than two names.
        """
        path = Path(path)
        if not path.is_file():
            raise InputFileError(
                f"contig alias table not found: {path}. Give a tab-separated file whose lines list "
                f"the names of one contig (e.g. 'chrM<TAB>MT')."
            )
        return cls(_parse_table(path.read_text(encoding="utf-8").splitlines(), str(path)))

    def aliases(self, name: str) -> tuple[str, ...]:
        """All names of the contig ``name`` (``name`` itself first), or ``(name,)`` if unknown."""
        group = self._group_of.get(name, ())
        return (name, *(alias for alias in group if alias != name))

    def resolve(self, name: str, available: Collection[str], source: str) -> str:
        """Return the member of ``available`` that is ``name`` or one of its aliases.

        ``source`` names where ``available`` comes from (e.g. the FASTA path) for the error.
        Raises ``ContigNotFoundError`` if none matches, ``ConfigError`` if several aliases match.
        """
        return self.resolve_all([name], available, source)[name]

    def resolve_all(self, names: Iterable[str], available: Collection[str], source: str) -> dict[str, str]:
        """Map each of ``names`` to its member of ``available`` (see ``resolve``).

        Raises one ``ContigNotFoundError`` listing every unmatched name at once.
        """
        available_set = set(available)
        mapping: dict[str, str] = {}
        missing: list[str] = []
        for name in dict.fromkeys(names):
            if name in available_set:
                mapping[name] = name
                continue
            hits = [alias for alias in self.aliases(name) if alias in available_set]
            if len(hits) > 1:
                raise ConfigError(
                    f"contig {name!r} matches several contigs of {source} through aliases: {hits}. "
                    f"Rename the contig in the annotation to one of them."
                )
            if hits:
                mapping[name] = hits[0]
            else:
                missing.append(name)
        if missing:
            raise ContigNotFoundError(_not_found_message(missing, list(available), source))
        return mapping


def _parse_table(lines: Sequence[str], source: str) -> list[list[str]]:
    """Parse alias-table lines into groups of names (see ``ContigAliases.from_tsv``)."""
    columns: list[int] | None = None
    groups: list[list[str]] = []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.rstrip("\r\n").split("\t")
        if lineno == 1 and fields[:1] == ["name"] and "aliases" in fields:
            columns = [0, fields.index("aliases")]  # bioframe seqinfo header
            continue
        if columns is not None:
            fields = [fields[i] for i in columns if i < len(fields)]
        names = [name.strip() for field in fields for name in field.split(",") if name.strip()]
        if len(names) < 2:
            raise ConfigError(
                f"{source}:{lineno}: an alias line needs two or more names, found {names}. "
                f"Separate the names of one contig with tabs or commas (e.g. 'chrM<TAB>MT')."
            )
        groups.append(names)
    return groups


def summarize_names(names: Sequence[str], limit: int = _SHOWN_NAMES) -> str:
    """Compact list of contig names: runs like chr1, chr2, ..., chr22 become ``chr1..chr22``.

    At most ``limit`` items are shown, then ``... (N more)``.
    """
    items: list[str] = []
    run: list[tuple[str, int, str]] = []  # (prefix, number, name) of the current numbered run

    def flush() -> None:
        if len(run) > 2:
            items.append(f"{run[0][2]}..{run[-1][2]}")
        else:
            items.extend(entry[2] for entry in run)
        run.clear()

    for name in names:
        match = _NUMBERED.match(name)
        if match and run and match[1] == run[-1][0] and int(match[2]) == run[-1][1] + 1:
            run.append((match[1], int(match[2]), name))
            continue
        flush()
        if match:
            run.append((match[1], int(match[2]), name))
        else:
            items.append(name)
    flush()
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown}, ... ({len(items) - limit} more)"


def _not_found_message(missing: Sequence[str], available: Sequence[str], source: str) -> str:
    """The ``ContigNotFoundError`` message: what, where, and how to fix it."""
    listed = ", ".join(missing)
    message = f"{listed} not in {source} (contigs: {summarize_names(available)})."
    wanted_chr = any(name.startswith("chr") for name in missing)
    has_chr = any(name.startswith("chr") for name in available)
    if wanted_chr and not has_chr:
        message += f" The requested names use 'chr' prefixes and {source} does not."
    elif has_chr and not wanted_chr:
        message += f" {source} uses 'chr' prefixes and the requested names do not."
    return message + (
        " Pass --contig-aliases (a TSV whose lines list names of one contig, e.g. 'chr17<TAB>17') "
        "or rename the contigs so that they match."
    )
