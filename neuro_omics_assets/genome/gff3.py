"""GFF3 (Ensembl or GENCODE, plain or gzipped) -> the same gene table ``annotation.read_gtf`` builds.

Genes, transcripts and their parts are linked by ``ID``/``Parent``: a transcript is any feature whose
``Parent`` is a gene-level feature (``gene``, ``ncRNA_gene``, ``pseudogene``, ...; Ensembl's
``mRNA``/``lnc_RNA``/``transcript``, GENCODE's ``transcript``); its parts are ``exon``, ``CDS`` (with
phase), ``five_prime_UTR``/``three_prime_UTR``/``UTR``. Transcripts are folded into
``transcripts.Transcript`` records and the gene table rows are built by ``annotation``'s row builder,
so transcript choice, gene selection and extraction are the GTF path's, not a copy of it.

Coordinates are 1-based closed in the file; they become 0-based half-open in ``_parse_line`` and
nowhere else. Lines of other features (``chromosome``, ``biological_region``) are skipped unchecked.
"""

from __future__ import annotations

import gzip
import logging
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, NamedTuple, get_args
from urllib.parse import unquote

import pandas as pd

from neuro_omics_assets.errors import AnnotationError, ConfigError, InputFileError
from neuro_omics_assets.genome.annotation import (
    GENE_COLUMNS,
    GeneTable,
    _Gene,
    _gene_row,
    read_gtf,
    split_version,
)
from neuro_omics_assets.genome.transcripts import Transcript

log = logging.getLogger(__name__)

AnnotationFormat = Literal["auto", "gtf", "gff3"]
ANNOTATION_FORMATS: tuple[str, ...] = get_args(AnnotationFormat)

_GENE_TYPES = frozenset({"gene", "ncRNA_gene", "pseudogene"})
_PART_TYPES = frozenset({"exon", "CDS", "five_prime_UTR", "three_prime_UTR", "UTR"})
_GFF3_FIX = "Check that the file is a GFF3 (9 tab-separated columns, 1-based closed coordinates, key=value attributes)."


class _Feature(NamedTuple):
    """One GFF3 line; start and end already 0-based half-open."""

    where: str  # "file:line"
    contig: str
    feature: str
    start: int
    end: int
    strand: str
    phase: int | None
    attrs: dict[str, str]


def annotation_format(path: str | Path, declared: AnnotationFormat = "auto") -> Literal["gtf", "gff3"]:
    """``declared`` unless ``auto``; else by suffix: ``.gff``/``.gff3`` (optionally ``.gz``) -> gff3, else gtf."""
    if declared not in ANNOTATION_FORMATS:
        raise ConfigError(f"annotation format {declared!r} is not one of {', '.join(ANNOTATION_FORMATS)}.")
    if declared != "auto":
        return declared
    suffixes = [s.lower() for s in Path(path).suffixes if s.lower() != ".gz"]
    return "gff3" if suffixes and suffixes[-1] in (".gff", ".gff3") else "gtf"


def read_annotation(path: str | Path, declared: AnnotationFormat = "auto") -> GeneTable:
    """The gene table of a GTF or GFF3 file (``annotation_format`` decides which reader)."""
    return read_gff3(path) if annotation_format(path, declared) == "gff3" else read_gtf(path)


def read_gff3(path: str | Path) -> GeneTable:
    """Parse a GFF3 into a gene table with exactly ``annotation.GENE_COLUMNS`` (see ``read_gtf``).

    gene_id is the ``gene_id`` attribute or the ``ID`` without its ``gene:`` prefix, unversioned;
    gene_version comes from the versioned id (GENCODE) or the ``version`` attribute (Ensembl);
    gene_name from ``Name`` (Ensembl) or ``gene_name`` (GENCODE); gene_type from ``biotype`` or
    ``gene_type``. Transcript ids, versions and ``tag`` lists (comma-separated) likewise. UTR lines
    are accepted and checked for a known Parent; UTRs are derived from exons and CDS, as for a GTF. A
    transcript without exon lines gets its span as one exon (``Transcript.blocks``). Transcript
    choice is ``transcripts.choose_transcript`` (MANE_Select > Ensembl_canonical > longest CDS >
    longest transcript). Raises ``AnnotationError`` naming ``file:line`` for malformed lines, a
    ``Parent`` that names no known feature, or a transcript whose gene is on another contig/strand.
    """
    path = Path(path)
    genes: dict[str, _Gene] = {}
    gene_of: dict[str, str] = {}  # GFF3 ID of a gene-level feature -> gene_id
    transcripts: dict[str, tuple[_Gene, Transcript]] = {}  # GFF3 ID of a transcript -> (gene, record)
    pending: list[_Feature] = []  # parts seen before their transcript
    for feature in _features(path):
        if feature.feature in _GENE_TYPES and "Parent" not in feature.attrs:
            _add_gene(genes, gene_of, feature)
        elif feature.feature in _PART_TYPES:
            pending.append(feature)
        elif "Parent" in feature.attrs and feature.attrs["Parent"] in gene_of:
            _add_transcript(genes, gene_of, transcripts, feature)
    for feature in pending:
        for parent in feature.attrs.get("Parent", "").split(","):
            if parent not in transcripts:
                raise AnnotationError(
                    f"{feature.where}: {feature.feature} has Parent={parent or '(none)'} but no transcript has "
                    f"that ID; every exon/CDS/UTR needs the ID of its transcript as Parent. {_GFF3_FIX}"
                )
            _add_part(transcripts[parent][1], feature)
    rows = [_gene_row(gene) for gene in genes.values()]
    table = pd.DataFrame(rows, columns=list(GENE_COLUMNS))
    log.info("read %d genes (%d transcripts) from %s", len(table), len(transcripts), path)
    return table


def cds_start_phases(path: str | Path, declared: AnnotationFormat = "auto") -> dict[str, int]:
    """Unversioned transcript id -> phase (0, 1 or 2) of its 5'-most CDS line (GTF frame, GFF3 phase).

    The phase is the number of bases to skip from the CDS start to the first complete codon: 0 for a
    CDS that starts with its start codon, 1 or 2 for a 5'-incomplete one (GENCODE ``cds_start_NF``).
    """
    if annotation_format(path, declared) == "gtf":
        return _gtf_cds_phases(Path(path))
    first: dict[str, tuple[int, int]] = {}  # transcript id -> (5'-most coordinate key, phase)
    ids: dict[str, str] = {}
    for feature in _features(Path(path)):
        if feature.feature not in _PART_TYPES and "ID" in feature.attrs:
            ids[feature.attrs["ID"]] = _identifier(feature.attrs, "transcript_id", "transcript:")
        if feature.feature == "CDS":
            key = feature.start if feature.strand == "+" else -feature.end
            for parent in feature.attrs.get("Parent", "").split(","):
                if parent and (parent not in first or key < first[parent][0]):
                    first[parent] = (key, feature.phase or 0)
    return {split_version(ids.get(parent, parent))[0]: phase for parent, (_, phase) in first.items()}


def _gtf_cds_phases(path: Path) -> dict[str, int]:
    """``cds_start_phases`` of a GTF: the frame column of each transcript's 5'-most CDS line."""
    from neuro_omics_assets.genome.annotation import _parse_attributes  # the GTF attribute grammar

    first: dict[str, tuple[int, int]] = {}
    for where, fields in _lines(path):
        if len(fields) == 9 and fields[2] == "CDS" and fields[7] in ("0", "1", "2"):
            transcript = fields[8] and _parse_attributes(fields[8], where).get("transcript_id")
            if isinstance(transcript, str):
                key = int(fields[3]) if fields[6] == "+" else -int(fields[4])
                base = split_version(transcript)[0]
                if base not in first or key < first[base][0]:
                    first[base] = (key, int(fields[7]))
    return {transcript: phase for transcript, (_, phase) in first.items()}


def _lines(path: Path) -> Iterator[tuple[str, list[str]]]:
    """``(file:line, tab-separated fields)`` of each feature line, up to a ``##FASTA`` section."""
    if not path.is_file():
        raise InputFileError(f"annotation file not found: {path}. Check the path.")
    with open(path, "rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    try:
        with opener(path, "rt", encoding="utf-8") as lines:
            for lineno, line in enumerate(lines, start=1):
                if line.startswith("##FASTA"):
                    return
                if line.startswith("#") or not line.strip():
                    continue
                yield f"{path}:{lineno}", line.rstrip("\r\n").split("\t")
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InputFileError(f"{path} is a truncated or corrupt gzip file ({exc}); download it again.") from exc
    except UnicodeDecodeError as exc:
        raise AnnotationError(f"{path} is not a text annotation ({exc}); give a GFF3 or GTF, plain or gzipped.") from exc


def _features(path: Path) -> Iterator[_Feature]:
    for where, fields in _lines(path):
        feature = _parse_line(fields, where)
        if feature is not None:
            yield feature


def _parse_line(fields: list[str], where: str) -> _Feature | None:
    """Validate a gene-model line of a GFF3; other features are returned as None unchecked."""
    if len(fields) != 9:
        raise AnnotationError(f"{where}: expected 9 tab-separated columns, found {len(fields)}. {_GFF3_FIX}")
    attrs = _parse_attributes(fields[8], where)
    if fields[2] not in _GENE_TYPES | _PART_TYPES and "Parent" not in attrs:
        return None
    try:
        start, end = int(fields[3]), int(fields[4])
    except ValueError as exc:
        raise AnnotationError(f"{where}: start {fields[3]!r} and end {fields[4]!r} must be integers. {_GFF3_FIX}") from exc
    if start < 1 or end < start:
        raise AnnotationError(
            f"{where}: end {end} < start {start} (or start < 1); GFF3 intervals are 1-based and closed, "
            f"so end >= start >= 1. Fix or remove the line."
        )
    if fields[6] not in ("+", "-"):
        raise AnnotationError(f"{where}: strand {fields[6]!r} must be '+' or '-' for a {fields[2]} line.")
    phase = None
    if fields[2] == "CDS":
        if fields[7] not in ("0", "1", "2"):
            raise AnnotationError(f"{where}: CDS phase {fields[7]!r} must be 0, 1 or 2 (GFF3 requires it on CDS lines).")
        phase = int(fields[7])
    # GFF3 is 1-based, closed -> 0-based, half-open: [start - 1, end)
    return _Feature(where, fields[0], fields[2], start - 1, end, fields[6], phase, attrs)


def _parse_attributes(text: str, where: str) -> dict[str, str]:
    """``key=value;...`` with percent-decoding (``%3B`` -> ``;``); multi-values stay comma-joined."""
    attrs: dict[str, str] = {}
    for pair in text.strip().strip(";").split(";"):
        if not pair.strip():
            continue
        key, sep, value = pair.strip().partition("=")
        if not sep:
            raise AnnotationError(
                f"{where}: attribute {pair.strip()[:40]!r} is not key=value; a GTF-style attribute column "
                f"means the file is a GTF: pass it as --gtf. {_GFF3_FIX}"
            )
        attrs[key] = unquote(value)
    return attrs


def _identifier(attrs: dict[str, str], key: str, prefix: str) -> str:
    """``attrs[key]`` (GENCODE, Ensembl ``gene_id``) or the ID without its Ensembl ``gene:`` prefix."""
    return attrs.get(key) or attrs.get("ID", "").removeprefix(prefix)


def _add_gene(genes: dict[str, _Gene], gene_of: dict[str, str], feature: _Feature) -> None:
    attrs = feature.attrs
    gene_id, version = split_version(_identifier(attrs, "gene_id", "gene:"))
    if not gene_id:
        raise AnnotationError(f"{feature.where}: {feature.feature} line without ID or gene_id; add ID=gene:<id>.")
    if gene_id in genes:
        raise AnnotationError(f"{feature.where}: a second gene line for {gene_id}; gene ids must be unique.")
    genes[gene_id] = _Gene(
        gene_id=gene_id,
        version=version or attrs.get("version"),
        name=attrs.get("gene_name") or attrs.get("Name"),
        gene_type=attrs.get("gene_type") or attrs.get("biotype"),
        contig=feature.contig,
        strand=feature.strand,
        start=feature.start,
        end=feature.end,
        from_gene_line=True,
    )
    gene_of[attrs.get("ID", gene_id)] = gene_id


def _add_transcript(
    genes: dict[str, _Gene], gene_of: dict[str, str], transcripts: dict[str, tuple[_Gene, Transcript]], feature: _Feature
) -> None:
    gene = genes[gene_of[feature.attrs["Parent"]]]
    if (feature.contig, feature.strand) != (gene.contig, gene.strand):
        raise AnnotationError(
            f"{feature.where}: {feature.feature} on {feature.contig} {feature.strand} but gene {gene.gene_id} is on "
            f"{gene.contig} {gene.strand}; a gene's lines must share contig and strand."
        )
    transcript_id, version = split_version(_identifier(feature.attrs, "transcript_id", "transcript:"))
    transcript = Transcript(transcript_id, version or feature.attrs.get("version"), span=(feature.start, feature.end))
    transcript.tags.update(tag for tag in feature.attrs.get("tag", "").split(",") if tag)
    gene.transcripts[transcript_id] = transcript
    transcripts[feature.attrs.get("ID", transcript_id)] = (gene, transcript)


def _add_part(transcript: Transcript, feature: _Feature) -> None:
    if feature.feature == "exon":
        transcript.exons.append((feature.start, feature.end))
    elif feature.feature == "CDS":
        transcript.cds.append((feature.start, feature.end))

