"""Genotype (GT) parsing for ``vcf``: GT text -> allele indices, ALT allele kinds, per-sample ploidy.

A parsed call is two haplotype slots: 0 = REF, k = ALT k, ``MISSING`` for a ``.`` allele and
``NO_ALLELE`` in slot 1 of a haploid call. ``finish_alleles`` turns a read's calls into
``VariantBlock.alleles``. The rules (``*``, symbolic and missing alleles, ploidy) are listed in the
``vcf`` module docstring.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pysam

from neuro_omics_assets.errors import VariantError

if TYPE_CHECKING:
    from neuro_omics_assets.variants.vcf import VariantRecord

#: ``VariantBlock.alleles`` value of a haplotype slot beyond the sample's ploidy.
NO_ALLELE = -1
MISSING = -2  # a '.' allele while parsing; REF in the finished block
SEQUENCE, STAR, SYMBOLIC = 0, 1, 2  # kinds of ALT allele
BASES = re.compile(r"[ACGTN]+")
_GT_SPLIT = re.compile(r"[|/]")
# The first FORMAT subfield (GT, which the VCF spec puts first) of each tab-separated sample column.
_FIRST_SUBFIELD = re.compile(r"(?:^|\t)([^\t:]*)")
_TAB, _COLON = ord("\t"), ord(":")
_PLOIDY_RECORDS = 100  # records scanned for the ploidy of samples without a call in a read


def gt_codes(rec: pysam.VariantRecord, order: np.ndarray) -> tuple[np.ndarray, pd.Index]:
    """Per selected sample (``order``: their columns in the record's text), the index of its GT
    string among the record's distinct GT strings, and those strings. GT is read from the record's
    text (~3x faster than pysam's per-sample access at biobank sample counts), as bytes with numpy
    when every GT has at most 3 characters (``0|1``, ``./.``, ``1``), so no per-sample Python object
    is made; else (multi-digit alleles, a leading phase mark) through a regular expression."""
    body = str(rec).rstrip("\n").split("\t", 9)[9]
    packed = _packed_first_subfields(body.encode())
    if packed is None:
        codes, distinct = pd.factorize(np.asarray(_FIRST_SUBFIELD.findall(body), dtype=object))
    else:
        codes, values = pd.factorize(packed)
        distinct = pd.Index([int(v).to_bytes(3, "little").rstrip(b"\0").decode() for v in values], dtype=object)
    return codes[order], distinct


def _packed_first_subfields(body: bytes) -> np.ndarray | None:
    """The first ':'-separated subfield of every tab-separated column of ``body``, its up to 3 bytes
    packed little-endian into int32 (n_columns,); None when one is longer than 3 bytes."""
    raw = np.frombuffer(body, dtype=np.uint8)
    starts = np.concatenate([[0], np.flatnonzero(raw == _TAB) + 1])
    stops = np.append(np.flatnonzero((raw == _TAB) | (raw == _COLON)), len(raw))
    lengths = stops[np.searchsorted(stops, starts)] - starts
    if lengths.max(initial=0) > 3:
        return None
    padded = np.concatenate([raw, np.zeros(3, np.uint8)]).astype(np.int32)
    packed = np.zeros(len(starts), np.int32)
    for i in range(3):
        packed |= np.where(lengths > i, padded[starts + i], 0) << (8 * i)
    return packed


def allele_kind(alt: str, where: str) -> int:
    """``SEQUENCE`` for bases, ``STAR`` for ``*``, ``SYMBOLIC`` for ``<...>`` and breakends."""
    if BASES.fullmatch(alt):
        return SEQUENCE
    if alt == "*":
        return STAR
    if alt.startswith(("<", ".")) or alt.endswith(".") or "[" in alt or "]" in alt:
        return SYMBOLIC
    raise VariantError(f"{where}: ALT {alt!r} is neither bases (A/C/G/T/N), '*' nor symbolic; fix the record.")


def parse_gt(text: str, where: str) -> tuple[list[int], bool]:
    """``'0|1'`` -> ``([0, 1], True)``; a ``.`` allele is ``MISSING``; a haploid call gets
    ``NO_ALLELE`` in slot 1 and counts as phased."""
    body = text.lstrip("|/")  # VCF 4.4 may start a genotype with its phasing mark
    parts = _GT_SPLIT.split(body)
    if len(parts) > 2 or not all(part == "." or part.isdigit() for part in parts):
        raise VariantError(f"{where}: genotype {text!r} is not a haploid or diploid GT (like 1, 0/1, 0|1, ./.); "
                           f"polyploid and malformed calls are not supported.")
    alleles = [MISSING if part == "." else int(part) for part in parts]
    return alleles + [NO_ALLELE] * (2 - len(alleles)), len(parts) == 1 or "/" not in body


def parse_gts(distinct: pd.Index, n_alts: int, codes: np.ndarray, samples: Sequence[str],
              where: str) -> tuple[np.ndarray, np.ndarray]:
    """One record's distinct GT strings -> alleles int16 (n_distinct, 2) and phased bool
    (n_distinct,); raises ``VariantError`` for an allele index beyond the record's ``n_alts``."""
    table = [parse_gt(text, where) for text in distinct]
    alleles = np.array([a for a, _ in table], dtype=np.int16)
    phased = np.array([p for _, p in table], dtype=bool)
    bad = np.flatnonzero((alleles > n_alts).any(axis=1))
    if bad.size:
        raise VariantError(
            f"{where}: sample {_first_carrier(samples, codes, bad[0])} has genotype {distinct[bad[0]]!r} "
            f"but the record has {n_alts} ALT alleles; the file is malformed, regenerate it."
        )
    return alleles, phased


def rewrite_alleles(alleles: np.ndarray, kinds: list[int], codes: np.ndarray, samples: Sequence[str],
                    skip_symbolic: bool, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Turn ``*`` (and, if skipped, symbolic) alleles into REF in place; return the rows that had them."""
    kind = np.array([SEQUENCE, *kinds])[np.clip(alleles, 0, None)]
    symbolic = (kind == SYMBOLIC).any(axis=1)
    if symbolic.any() and not skip_symbolic:
        row = int(np.flatnonzero(symbolic)[0])
        raise VariantError(
            f"{where}: sample {_first_carrier(samples, codes, row)} carries a symbolic or breakend allele "
            f"(alleles {alleles[row].tolist()}), which has no sequence to apply. Remove such records "
            f"(`bcftools view -e 'ALT~\"<\"'`) or pass skip_symbolic=True to read those calls as REF."
        )
    alleles[kind != SEQUENCE] = 0
    return (kind == STAR).any(axis=1), symbolic


def _first_carrier(samples: Sequence[str], codes: np.ndarray, row: int) -> str:
    return samples[int(np.flatnonzero(codes == row)[0])]


def read_ploidy(lengths: np.ndarray, records: Sequence[VariantRecord], samples: Sequence[str], path: Path,
                contig_ploidy: Callable[[], np.ndarray]) -> np.ndarray:
    """Per-sample ploidy of a read (see the ``vcf`` module docstring); int8 (n_samples,).

    ``lengths`` int8 (n_records, n_samples) is the ploidy of each call, 0 if wholly missing;
    samples without a non-missing call take ``contig_ploidy()`` (see ``scan_ploidy``).
    """
    ploidy = lengths.max(axis=0, initial=0).astype(np.int8)
    mixed = (lengths > 0) & (lengths != ploidy)
    if mixed.any():
        r, s = (int(i[0]) for i in np.nonzero(mixed))
        raise VariantError(
            f"{path}: sample {samples[s]} has a haploid call at {records[r].label} and "
            f"diploid calls elsewhere in the same region; split the region at the ploidy change "
            f"(e.g. the chrX pseudo-autosomal boundary) or recode the calls with one ploidy."
        )
    unknown = ploidy == 0
    ploidy[unknown] = contig_ploidy()[unknown]
    return ploidy


def scan_ploidy(recs: Iterable[pysam.VariantRecord], order: np.ndarray, path: Path) -> np.ndarray:
    """Per selected sample (``order`` as in ``gt_codes``), the length of its first non-missing call
    in the first ``_PLOIDY_RECORDS`` of ``recs`` (a contig's records), else of its call in the first
    of them with GT; 2 without such records. int8 (n_samples,)."""
    found, first = np.zeros(len(order), np.int8), np.full(len(order), 2, np.int8)
    scan = itertools.islice(recs, _PLOIDY_RECORDS)
    for i, rec in enumerate(rec for rec in scan if rec.format.keys()[:1] == ["GT"]):
        codes, distinct = gt_codes(rec, order)
        table = np.array([parse_gt(text, f"{path} {rec.contig}:{rec.pos}")[0] for text in distinct])
        length = (table != NO_ALLELE).sum(axis=1)[codes]
        first = length.astype(np.int8) if i == 0 else first
        found = np.where((found == 0) & (table >= 0).any(axis=1)[codes], length, found)
        if found.all():
            break
    return np.where(found > 0, found, first).astype(np.int8)


def finish_alleles(alleles: np.ndarray, ploidy: np.ndarray) -> np.ndarray:
    """Missing alleles -> REF; slot 1 is REF when absent for diploid and ``NO_ALLELE`` for haploid samples."""
    out = np.where(alleles == MISSING, 0, alleles).astype(np.int16)
    out[:, ploidy == 2, 1] = np.maximum(out[:, ploidy == 2, 1], 0)  # a wholly missing haploid-coded call
    out[:, ploidy == 1, 1] = NO_ALLELE
    return out
