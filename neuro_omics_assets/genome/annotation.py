"""GTF (GENCODE or Ensembl, plain or gzipped) -> a gene table with one chosen transcript per gene.

GTF coordinates are 1-based and closed; they become 0-based half-open (``start - 1, end``) in
``_parse_line`` and nowhere else.
"""

from __future__ import annotations

import difflib
import gzip
import logging
import re
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, TypeAlias

import pandas as pd

from neuro_omics_assets.errors import AnnotationError, GeneNotFoundError, InputFileError
from neuro_omics_assets.genome.transcripts import Transcript, choose_transcript

log = logging.getLogger(__name__)

#: A DataFrame with the columns ``GENE_COLUMNS``, one row per gene (see ``read_gtf``).
GeneTable: TypeAlias = pd.DataFrame

GENE_COLUMNS = (
    "gene_id",
    "gene_version",
    "gene_name",
    "gene_type",
    "contig",
    "start",
    "end",
    "strand",
    "transcript_id",
    "transcript_version",
    "transcript_rule",
    "exons",
    "cds",
    "tss",
)

_FEATURES = frozenset({"gene", "transcript", "exon", "CDS"})
_ATTRIBUTE = re.compile(r'\s*([^\s;]+)\s+(?:"([^"]*)"|([^;\s]+))\s*(?:;|$)')
# ENSG00000223972.5 -> id ENSG00000223972, version 5; GENCODE PAR copies keep "_PAR_Y" in the id.
_VERSIONED = re.compile(r"^(?P<base>.+?)\.(?P<version>\d+)(?P<suffix>_PAR_Y)?$")
_GTF_FIX = "Check that the file is a GTF (9 tab-separated columns, 1-based closed coordinates)."


class _Record(NamedTuple):
    """A gene/transcript/exon/CDS line; start and end already 0-based half-open."""

    where: str  # "file:line"
    contig: str
    feature: str
    start: int
    end: int
    strand: str
    attrs: dict[str, str | list[str]]


@dataclass
class _Gene:
    gene_id: str
    version: str | None
    name: str | None
    gene_type: str | None
    contig: str
    strand: str
    start: int
    end: int
    from_gene_line: bool
    transcripts: dict[str, Transcript] = field(default_factory=dict)


def split_version(identifier: str) -> tuple[str, str | None]:
    """``'ENSG00000198695.2'`` -> ``('ENSG00000198695', '2')``; unversioned ids -> ``(id, None)``."""
    match = _VERSIONED.match(identifier)
    if match is None:
        return identifier, None
    return match["base"] + (match["suffix"] or ""), match["version"]


def read_gtf(path: str | Path) -> GeneTable:
    """Parse a GTF into a gene table, one row per gene in order of first appearance.

    Columns: gene_id (unversioned), gene_version (str or None), gene_name (None if absent),
    gene_type (``gene_type`` or ``gene_biotype``), contig (as in the GTF), start, end (0-based
    half-open), strand (``+``/``-``), transcript_id and transcript_version of the chosen transcript,
    transcript_rule (``MANE_Select``, ``Ensembl_canonical``, ``longest_cds``,
    ``longest_transcript`` or ``gene``), exons and cds (lists of 0-based half-open
    ``(start, end)`` in genomic order; GTF CDS excludes the stop codon), tss (0-based position).

    Transcript choice (``transcripts.choose_transcript``): tag MANE_Select > tag Ensembl_canonical >
    longest CDS > longest transcript (sum of exon lengths); ties go to the smallest transcript id. A
    gene without transcripts gets rule ``gene``, no transcript id and its whole span as one exon; a
    transcript without exon lines gets its span as one exon. Genes without a gene line are derived
    from their transcripts.
    Raises ``AnnotationError`` naming ``file:line`` for malformed lines.
    """
    path = Path(path)
    genes: dict[str, _Gene] = {}
    for record in _records(path):
        _add_record(genes, record)
    rows = [_gene_row(gene) for gene in genes.values()]
    table = pd.DataFrame(rows, columns=list(GENE_COLUMNS))
    log.info("read %d genes from %s", len(table), path)
    return table


def _records(path: Path) -> Iterator[_Record]:
    """Yield the gene/transcript/exon/CDS lines of ``path``; every line is validated."""
    if not path.is_file():
        raise InputFileError(f"annotation file not found: {path}. Check the path.")
    with open(path, "rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    try:
        with opener(path, "rt", encoding="utf-8") as lines:  # universal newlines: CRLF works
            for lineno, line in enumerate(lines, start=1):
                if line.startswith("#") or not line.strip():
                    continue
                record = _parse_line(line.rstrip("\r\n"), f"{path}:{lineno}")
                if record is not None:
                    yield record
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InputFileError(
            f"{path} is a truncated or corrupt gzip file ({exc}); download it again."
        ) from exc
    except UnicodeDecodeError as exc:
        raise AnnotationError(f"{path} is not a text GTF ({exc}); give a GTF, plain or gzipped.") from exc


def _parse_line(line: str, where: str) -> _Record | None:
    """Validate a GTF line; return it as a ``_Record`` if it is a gene-model feature, else None."""
    fields = line.split("\t")
    if len(fields) != 9:
        raise AnnotationError(
            f"{where}: expected 9 tab-separated columns, found {len(fields)}. {_GTF_FIX} Columns "
            f"are seqname, source, feature, start, end, score, strand, frame, attributes."
        )
    try:
        start, end = int(fields[3]), int(fields[4])
    except ValueError as exc:
        raise AnnotationError(
            f"{where}: start {fields[3]!r} and end {fields[4]!r} must be integers. {_GTF_FIX}"
        ) from exc
    if start < 1 or end < start:
        raise AnnotationError(
            f"{where}: end {end} < start {start} (or start < 1); GTF intervals are 1-based and "
            f"closed, so end >= start >= 1. Fix or remove the line."
        )
    if fields[2] not in _FEATURES:
        return None
    if fields[6] not in ("+", "-"):
        raise AnnotationError(f"{where}: strand {fields[6]!r} must be '+' or '-' for a {fields[2]} line.")
    attrs = _parse_attributes(fields[8], where)
    # GTF is 1-based, closed -> 0-based, half-open: [start - 1, end)
    return _Record(where, fields[0], fields[2], start - 1, end, fields[6], attrs)


def _parse_attributes(text: str, where: str) -> dict[str, str | list[str]]:
    """Parse ``key "value"; key value;`` pairs; the repeated ``tag`` key becomes a list."""
    attrs: dict[str, str | list[str]] = {}
    tags: list[str] = []
    for key, quoted, bare in _ATTRIBUTE.findall(text):  # one of quoted/bare is empty
        if key == "tag":
            tags.append(quoted or bare)
        elif key not in attrs:
            attrs[key] = quoted or bare
    attrs["tag"] = tags
    if "gene_id" not in attrs:
        raise AnnotationError(
            f"{where}: no gene_id attribute (attributes: {text[:80]!r}). Every gene, transcript, "
            f'exon and CDS line of a GTF needs gene_id "..."; GFF3 files must be converted to GTF '
            f"(e.g. `gffread in.gff3 -T -o out.gtf`)."
        )
    return attrs


def _add_record(genes: dict[str, _Gene], record: _Record) -> None:
    """Fold one gene/transcript/exon/CDS line into ``genes``."""
    feature, start, end, attrs, where = record.feature, record.start, record.end, record.attrs, record.where
    gene_id, gene_version = split_version(attrs["gene_id"])
    gene = genes.get(gene_id)
    if gene is None or (feature == "gene" and not gene.from_gene_line):
        gene = _new_gene(gene_id, gene_version, record, existing=gene)
        genes[gene_id] = gene
    elif feature == "gene":
        raise AnnotationError(f"{where}: a second gene line for {gene_id}; gene ids must be unique.")
    if (record.contig, record.strand) != (gene.contig, gene.strand):
        raise AnnotationError(
            f"{where}: {feature} on {record.contig} {record.strand} but gene {gene_id} is on "
            f"{gene.contig} {gene.strand}; a gene's lines must share contig and strand."
        )
    if not gene.from_gene_line:  # derive the gene span from its transcripts
        gene.start, gene.end = min(gene.start, start), max(gene.end, end)
    if feature == "gene":
        return
    if "transcript_id" not in attrs:
        raise AnnotationError(f"{where}: {feature} line without transcript_id. Add it or remove the line.")
    transcript_id, version = split_version(attrs["transcript_id"])
    version = version or attrs.get("transcript_version")
    transcript = gene.transcripts.setdefault(transcript_id, Transcript(transcript_id, version))
    transcript.tags.update(attrs["tag"])
    if feature == "transcript":
        transcript.span = (start, end)
    else:
        (transcript.exons if feature == "exon" else transcript.cds).append((start, end))


def _new_gene(gene_id: str, version: str | None, record: _Record, existing: _Gene | None) -> _Gene:
    """A gene from its gene line, or provisionally from a transcript/exon line (no gene line yet)."""
    attrs = record.attrs
    gene = _Gene(
        gene_id=gene_id,
        version=version or attrs.get("gene_version"),
        name=attrs.get("gene_name"),
        gene_type=attrs.get("gene_type") or attrs.get("gene_biotype"),
        contig=record.contig,
        strand=record.strand,
        start=record.start,
        end=record.end,
        from_gene_line=record.feature == "gene",
    )
    if existing is not None:  # a gene line after its transcripts: keep them
        gene.transcripts = existing.transcripts
    return gene


def _gene_row(gene: _Gene) -> dict:
    """One gene-table row for ``gene`` (see ``read_gtf`` for the columns)."""
    row = {
        "gene_id": gene.gene_id,
        "gene_version": gene.version,
        "gene_name": gene.name,
        "gene_type": gene.gene_type,
        "contig": gene.contig,
        "start": gene.start,
        "end": gene.end,
        "strand": gene.strand,
    }
    if not gene.transcripts:
        exons, cds, transcript_id, version, rule = [(gene.start, gene.end)], [], None, None, "gene"
    else:
        chosen, rule = choose_transcript(list(gene.transcripts.values()))
        exons = chosen.blocks()
        cds, transcript_id, version = sorted(chosen.cds), chosen.transcript_id, chosen.version
    tss = exons[0][0] if gene.strand == "+" else exons[-1][1] - 1
    row.update(
        transcript_id=transcript_id,
        transcript_version=version,
        transcript_rule=rule,
        exons=exons,
        cds=cds,
        tss=tss,
    )
    return row


def read_gene_list(path: str | Path) -> list[str]:
    """Gene symbols or ids, one per line; ``#`` starts a comment; blank lines are ignored."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"gene list not found: {path}. Give a text file with one gene per line.")
    names = [line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [name for name in names if name]


def select_genes(
    genes: GeneTable, names: Sequence[str] | None = None, gene_type: str | None = None
) -> GeneTable:
    """Rows of ``genes`` for ``names`` (symbols or Ensembl ids, versioned or not), in the given order.

    ``names=None`` selects every gene. ``gene_type`` keeps only genes of that type (requested genes
    of another type are dropped with a warning). Names that resolve to an already selected gene are
    dropped with a warning. Raises ``GeneNotFoundError`` listing unknown names with close matches,
    or when a symbol names several genes, or when nothing is left.
    """
    if gene_type is not None and gene_type not in set(genes["gene_type"].dropna()):
        known = sorted(set(genes["gene_type"].dropna()))
        raise GeneNotFoundError(f"gene_type {gene_type!r} is not in the annotation; known types: {known}.")
    if names is None:
        positions = list(range(len(genes)))
    else:
        positions = _drop_duplicates(_positions_of(genes, names), names)
    if gene_type is not None:
        other = [i for i in positions if genes["gene_type"].iat[i] != gene_type]
        if names is not None and other:
            labels = ", ".join(_label(genes, i) for i in other)
            log.warning("dropping requested genes that are not %s: %s", gene_type, labels)
        positions = [i for i in positions if genes["gene_type"].iat[i] == gene_type]
    if not positions:
        raise GeneNotFoundError(f"no gene left after selecting {gene_type or 'genes'}; widen the selection.")
    return genes.iloc[positions].reset_index(drop=True)


def _label(genes: GeneTable, position: int) -> str:
    name, gene_id = genes["gene_name"].iat[position], genes["gene_id"].iat[position]
    return f"{name} ({gene_id})" if name else gene_id


def _positions_of(genes: GeneTable, names: Sequence[str]) -> list[tuple[str, int]]:
    """``(requested name, row position)`` for each name; one error lists every unknown name."""
    by_id = {gene_id: i for i, gene_id in enumerate(genes["gene_id"])}
    by_name: dict[str, list[int]] = {}
    for i, name in enumerate(genes["gene_name"]):
        if name:
            by_name.setdefault(name, []).append(i)
    found, unknown = [], []
    for requested in names:
        requested = requested.strip()
        base, version = split_version(requested)
        if requested in by_id or base in by_id:
            position = by_id.get(requested, by_id.get(base))
            stored = genes["gene_version"].iat[position]
            if version is not None and requested not in by_id and version != stored:
                log.warning("%s: the annotation has version %s of %s; using it", requested, stored, base)
            found.append((requested, position))
        elif len(by_name.get(requested, [])) == 1:
            found.append((requested, by_name[requested][0]))
        elif requested in by_name:
            ids = [genes["gene_id"].iat[i] for i in by_name[requested]]
            raise GeneNotFoundError(
                f"gene symbol {requested!r} names {len(ids)} genes ({ids}); "
                f"request one of them by its Ensembl id."
            )
        else:
            unknown.append(requested)
    if unknown:
        raise GeneNotFoundError(_unknown_message(unknown, list(by_name) + list(by_id)))
    return found


def _unknown_message(unknown: Sequence[str], known: Sequence[str]) -> str:
    """List unknown names with case-insensitive close matches (difflib)."""
    upper = {name.upper(): name for name in known}
    parts = []
    for name in unknown:
        close = [upper[m] for m in difflib.get_close_matches(name.upper(), list(upper), n=3, cutoff=0.6)]
        parts.append(f"{name} (did you mean {', '.join(close)}?)" if close else name)
    return (
        f"genes not in the annotation: {'; '.join(parts)}. Check the spelling, use "
        f"HGNC symbols or Ensembl gene ids, and make sure the gene list matches the annotation release."
    )


def _drop_duplicates(found: list[tuple[str, int]], names: Sequence[str]) -> list[int]:
    """Keep the first request of each gene; warn about the rest."""
    seen: dict[int, str] = {}
    dropped = []
    for requested, position in found:
        if position in seen:
            dropped.append(f"{requested} (= {seen[position]})" if requested != seen[position] else requested)
        else:
            seen[position] = requested
    if dropped:
        log.warning(
            "dropping duplicated genes (%d of %d requested): %s", len(dropped), len(names), ", ".join(dropped)
        )
    return list(seen)
