"""BED12 transcripts (UCSC ``bigGenePred``/``genePred`` exports, MANE BED files) -> a gene table.

BED is 0-based half-open like this package, so coordinates are used as they are; block starts
are relative to ``chromStart``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from neuro_omics_assets.errors import AnnotationError, InputFileError
from neuro_omics_assets.genome.annotation import GENE_COLUMNS, GeneTable, split_version

log = logging.getLogger(__name__)

_BED12_FIX = (
    "Give a BED12 file: tab-separated chrom, chromStart, chromEnd, name, score, strand, thickStart, "
    "thickEnd, itemRgb, blockCount, blockSizes, blockStarts."
)


def read_bed12(path: str | Path) -> GeneTable:
    """Read a BED12 file into a gene table (columns ``GENE_COLUMNS``), one row per line.

    Each line is one transcript and becomes one gene: gene_id and transcript_id are the BED name
    without its ``.N`` version, gene_name the full name, gene_type None, transcript_rule ``bed12``.
    exons are the blocks; cds are the blocks clipped to ``[thickStart, thickEnd)`` (empty when
    thickStart == thickEnd); UCSC's thick region includes the stop codon. ``track``/``browser``/
    ``#`` lines are skipped. Raises ``AnnotationError`` naming ``file:line`` for a malformed line,
    including an unstranded one (strand ``.``): a region without strand cannot be oriented 5'->3'.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"BED file not found: {path}. Check the path.")
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        rows.append(_bed12_row(line.rstrip("\r").split("\t"), f"{path}:{lineno}"))
    log.info("read %d BED12 transcripts from %s", len(rows), path)
    return pd.DataFrame(rows, columns=list(GENE_COLUMNS))


def _bed12_row(fields: list[str], where: str) -> dict:
    """One gene-table row from the 12 fields of a BED12 line."""
    if len(fields) != 12:
        raise AnnotationError(
            f"{where}: expected 12 tab-separated columns, found {len(fields)}. {_BED12_FIX}"
        )
    if fields[5] not in ("+", "-"):
        raise AnnotationError(
            f"{where}: strand {fields[5]!r} must be '+' or '-' to orient {fields[3]} 5'->3'; "
            f"set the strand or remove the line."
        )
    start, end, thick_start, thick_end, exons = _blocks(fields, where)
    cds = [
        (max(s, thick_start), min(e, thick_end)) for s, e in exons if max(s, thick_start) < min(e, thick_end)
    ]
    identifier, version = split_version(fields[3])
    return {
        "gene_id": identifier,
        "gene_version": version,
        "gene_name": fields[3],
        "gene_type": None,
        "contig": fields[0],
        "start": start,
        "end": end,
        "strand": fields[5],
        "transcript_id": identifier,
        "transcript_version": version,
        "transcript_rule": "bed12",
        "exons": exons,
        "cds": cds,
        "tss": start if fields[5] == "+" else end - 1,
    }


def _blocks(fields: list[str], where: str) -> tuple[int, int, int, int, list[tuple[int, int]]]:
    """``(chromStart, chromEnd, thickStart, thickEnd, blocks)`` of a BED12 line, checked; blocks are
    absolute 0-based half-open intervals in genomic order."""
    try:
        start, end, thick_start, thick_end, count = (int(fields[i]) for i in (1, 2, 6, 7, 9))
        sizes = [int(value) for value in fields[10].rstrip(",").split(",")]
        offsets = [int(value) for value in fields[11].rstrip(",").split(",")]
    except ValueError as exc:
        raise AnnotationError(
            f"{where}: non-integer coordinate or block field ({exc}). {_BED12_FIX}"
        ) from exc
    exons = [(start + offset, start + offset + size) for offset, size in zip(offsets, sizes, strict=False)]
    if not (
        0 <= start < end
        and len(sizes) == len(offsets) == count > 0
        and all(size > 0 for size in sizes)
        and exons[0][0] == start
        and exons[-1][1] == end
        and all(a[1] <= b[0] for a, b in zip(exons, exons[1:], strict=False))
        and start <= thick_start <= thick_end <= end
    ):
        raise AnnotationError(
            f"{where}: inconsistent BED12 record {fields[3]!r}: blocks must be {count} sorted, "
            f"non-overlapping, non-empty, start at chromStart and end at chromEnd, with chromStart "
            f"<= thickStart <= thickEnd <= chromEnd. {_BED12_FIX}"
        )
    return start, end, thick_start, thick_end, exons
