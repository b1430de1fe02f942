"""Read a cohort's genotypes from a bgzipped, indexed VCF/BCF, one region (or gene) at a time.

VCF ``POS`` is 1-based; it becomes the 0-based ``VariantRecord.pos`` in ``_to_record`` and nowhere
else. Records come through the index (``.tbi``/``.csi``), so only overlapping records are parsed.

Rules applied to every record and call (the counts land in ``ReadCounts``):

* FILTER: with ``pass_only`` only ``PASS`` and ``.`` (no filter applied) are kept.
* REF must equal the FASTA (case-insensitive); all mismatches of a read are collected into one
  ``RefMismatchError``.
* ``*`` (the site lies in a deletion described by another record) means "no change from this
  record" on that haplotype: the call becomes REF.
* Symbolic or breakend ALT alleles (``<DEL>``, ``<NON_REF>``, ``G]chr2:5]``) have no sequence: a
  call carrying one raises ``VariantError``, or with ``skip_symbolic=True`` becomes REF and is
  counted and logged. Alleles nobody carries never matter.
* Missing alleles (``.``, ``./.``, ``./1``) become REF and are counted.
* Ploidy is per sample: the length of its non-missing calls in the read (1 for haploid calls
  such as chrM or male chrX, 2 for diploid). A sample without a non-missing call takes the
  length of its first non-missing call among the contig's first 100 records (else of its call in
  the first record; 2 if the contig has none). A sample whose
  non-missing calls mix ploidies within one read raises ``VariantError``.

GT parsing, ALT allele kinds and the ploidy rule are implemented in ``genotypes``.
"""

from __future__ import annotations

import gzip
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass
from pathlib import Path

import numpy as np
import pysam

from neuro_omics_assets.errors import (
    ConfigError,
    ContigNotFoundError,
    InputFileError,
    RefMismatchError,
    VariantError,
)
from neuro_omics_assets.genome.contigs import summarize_names
from neuro_omics_assets.genome.fasta import ReferenceGenome
from neuro_omics_assets.variants.genotypes import (
    BASES,
    MISSING,
    NO_ALLELE,
    allele_kind,
    finish_alleles,
    gt_codes,
    parse_gts,
    read_ploidy,
    rewrite_alleles,
    scan_ploidy,
)

log = logging.getLogger(__name__)

_SHOWN = 5  # mismatches / names listed in a message


@dataclass(frozen=True)
class VariantRecord:
    """One VCF record: REF spans ``[pos, pos + len(ref))`` (0-based, half-open) on ``contig``, the
    FASTA's name. ``ref`` and ``alts`` are upper case (``*`` and symbolic alleles as written)."""

    contig: str
    pos: int
    ref: str
    alts: tuple[str, ...]

    @property
    def end(self) -> int:
        """0-based exclusive end of REF."""
        return self.pos + len(self.ref)

    @property
    def label(self) -> str:
        """``contig:POS`` with the VCF's 1-based POS, for messages a user matches against the file."""
        return f"{self.contig}:{self.pos + 1}"


@dataclass(frozen=True)
class ReadCounts:
    """What a read kept, dropped or rewrote (a call is one sample at one record)."""

    n_records: int = 0  # records kept
    n_filtered: int = 0  # records dropped by FILTER (pass_only)
    n_missing_calls: int = 0  # calls with a '.' allele, read as REF
    n_star_calls: int = 0  # calls carrying '*', read as REF
    n_symbolic_calls: int = 0  # calls carrying a symbolic allele, read as REF (skip_symbolic)

    def __add__(self, other: ReadCounts) -> ReadCounts:
        return ReadCounts(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


@dataclass(frozen=True, eq=False)
class VariantBlock:
    """The kept records overlapping ``intervals`` of ``contig`` (the FASTA's name) and every
    sample's calls there.

    * ``intervals``: the requested ones, 0-based half-open, sorted and merged.
    * ``records``: sorted by position; a record overlapping several intervals appears once.
    * ``alleles``: int16 ``(n_records, n_samples, 2)``: the allele each haplotype slot carries,
      0 = REF (also missing, ``*`` and skipped symbolic calls), k = ``alts[k - 1]``;
      ``NO_ALLELE`` in slot 1 of haploid samples.
    * ``phased``: bool ``(n_records, n_samples)``; haploid calls count as phased.
    * ``ploidy``: int8 ``(n_samples,)``, 1 or 2.
    * ``path``: the file read; None for ``VcfSet.reference_block`` (no file covers the contig).
    """

    path: Path | None
    contig: str
    intervals: tuple[tuple[int, int], ...]
    samples: tuple[str, ...]
    records: tuple[VariantRecord, ...]
    alleles: np.ndarray
    phased: np.ndarray
    ploidy: np.ndarray
    counts: ReadCounts


@dataclass(frozen=True)
class _Calls:
    """One record's calls, per sample: ``alleles`` int16 (n, 2) with ``MISSING``/``NO_ALLELE``,
    ``phased`` bool (n,), ``length`` int8 (n,) = ploidy of the call, 0 if it is wholly missing."""

    alleles: np.ndarray
    phased: np.ndarray
    length: np.ndarray
    counts: ReadCounts


def read_variants(
    path: str | Path, region_contig: str, start: int, end: int, genome: ReferenceGenome,
    samples: Sequence[str] | None = None, pass_only: bool = True, *, skip_symbolic: bool = False,
) -> VariantBlock:
    """Records of ``path`` overlapping ``[start, end)`` (0-based, half-open) of ``region_contig``.

    See the module docstring for the rules and ``VcfReader`` for the errors. To read many
    regions, open one ``VcfReader`` and call ``fetch`` for each.
    """
    with VcfReader(path, genome, samples, pass_only=pass_only, skip_symbolic=skip_symbolic) as reader:
        return reader.fetch(region_contig, [(start, end)])


class VcfReader:
    """An open VCF/BCF checked against ``genome``; ``fetch`` reads one region or gene at a time.

    Opening raises ``InputFileError`` (missing, unreadable, not bgzipped or not indexed),
    ``VariantError`` (a sample named twice in the header, no samples), ``ContigNotFoundError``
    (no VCF contig matches a FASTA contig, even through ``genome.aliases``) and ``ConfigError``
    (``samples`` names unknown or repeated samples). ``samples`` fixes the order of
    ``VariantBlock.samples``; None keeps all, in header order; ``header_samples`` are all of the
    header's, in its order. Use as a context manager. One file of a per-chromosome set: ``VcfSet``.
    """

    def __init__(self, path: str | Path, genome: ReferenceGenome, samples: Sequence[str] | None = None, *,
                 pass_only: bool = True, skip_symbolic: bool = False) -> None:
        self.path, self.genome = Path(path), genome
        self.pass_only, self.skip_symbolic = pass_only, skip_symbolic
        self._vcf = _open_indexed(self.path)
        try:
            self._contigs = list(dict.fromkeys([*self._vcf.header.contigs, *self._vcf.index.keys()]))
            self._check_contigs()
            self.header_samples = tuple(self._vcf.header.samples)
            self.samples = _select_samples(list(self.header_samples), samples, self.path)
            self._vcf.subset_samples(self.samples)
            column = {name: i for i, name in enumerate(self._vcf.header.samples)}  # columns of str(record)
            self._order = np.array([column[name] for name in self.samples], dtype=np.intp)
        except BaseException:
            self._vcf.close()
            raise
        self._names: dict[str, str] = {}
        self._first_ploidy: dict[str, np.ndarray] = {}

    @property
    def contigs_with_records(self) -> frozenset[str]:
        """FASTA names of the contigs that have records in the index (VCF contigs that name no
        FASTA contig, even through aliases, are left out)."""
        return self._fasta_names(self._vcf.index.keys())

    @property
    def declared_contigs(self) -> frozenset[str]:
        """FASTA names of the contigs the header or the index names, with records or not."""
        return self._fasta_names(self._contigs)

    def fetch(self, contig: str, intervals: Iterable[tuple[int, int]]) -> VariantBlock:
        """Kept records overlapping any of ``intervals`` (0-based, half-open) of ``contig``.

        ``contig`` may be any alias of a FASTA contig; a contig the VCF declares without records
        gives an empty block. Raises ``ContigNotFoundError`` for a contig the VCF does not name at
        all, ``RefMismatchError`` listing the first mismatches and ``VariantError`` for malformed
        records or genotypes.
        """
        name = self.genome.resolve(contig)
        spans = _merge(intervals)
        vcf_name = self._vcf_name(name)
        raw, n_filtered = self._raw_records(vcf_name, spans)
        records = [_to_record(rec, name, self.path) for rec in raw]
        _check_ref(records, self.genome, self.path)
        calls = [self._calls(rec, record) for rec, record in zip(raw, records, strict=True)]
        counts = sum((c.counts for c in calls), ReadCounts(n_records=len(records), n_filtered=n_filtered))
        if counts.n_symbolic_calls:
            log.warning("%s %s: %d calls of symbolic alleles read as REF (skip_symbolic=True)",
                        self.path, name, counts.n_symbolic_calls)
        n = len(self.samples)
        alleles = np.stack([c.alleles for c in calls]) if calls else np.zeros((0, n, 2), np.int16)
        phased = np.stack([c.phased for c in calls]) if calls else np.zeros((0, n), bool)
        lengths = np.stack([c.length for c in calls]) if calls else np.zeros((0, n), np.int8)
        ploidy = read_ploidy(lengths, records, self.samples, self.path, lambda: self._contig_ploidy(vcf_name))
        return VariantBlock(self.path, name, tuple(spans), tuple(self.samples), tuple(records),
                            finish_alleles(alleles, ploidy), phased, ploidy, counts)

    def close(self) -> None:
        """Close the file."""
        self._vcf.close()

    def __enter__(self) -> VcfReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _check_contigs(self) -> None:
        """At least one VCF contig must name a FASTA contig (directly or through an alias)."""
        fasta = set(self.genome.contigs)
        if not self._contigs or any(fasta.intersection(self.genome.aliases.aliases(c)) for c in self._contigs):
            return
        raise ContigNotFoundError(
            f"no contig of {self.path} ({summarize_names(self._contigs)}) is in {self.genome.path} "
            f"({summarize_names(list(self.genome.contigs))}), even through contig aliases. Check that "
            f"both use the same assembly; pass an alias table (ContigAliases.from_tsv) to the "
            f"ReferenceGenome or rename the VCF's contigs (`bcftools annotate --rename-chrs map.tsv`)."
        )

    def _fasta_names(self, vcf_names: Iterable[str]) -> frozenset[str]:
        """The FASTA contigs that ``vcf_names`` name, directly or through an alias."""
        fasta = self.genome.contigs
        return frozenset(hits[0] for name in vcf_names
                         if (hits := [alias for alias in self.genome.aliases.aliases(name) if alias in fasta]))

    def _vcf_name(self, fasta_name: str) -> str:
        """The VCF's name for the FASTA contig ``fasta_name``; ``ContigNotFoundError`` if it has none."""
        if fasta_name not in self._names:
            try:
                self._names[fasta_name] = self.genome.aliases.resolve(fasta_name, self._contigs, str(self.path))
            except ContigNotFoundError as exc:
                raise ContigNotFoundError(
                    f"{self.path} does not name contig {fasta_name} (nor an alias of it) in its header or index "
                    f"(it has {summarize_names(self._contigs)}), so the variants there are unknown. Read the "
                    f"file that covers {fasta_name}; for one file per chromosome open them all as a VcfSet."
                ) from exc
        return self._names[fasta_name]

    def _raw_records(self, vcf_name: str, spans: list[tuple[int, int]]) -> tuple[list, int]:
        """Records overlapping ``spans`` (sorted, disjoint), each once, and the number FILTER dropped."""
        kept: list[pysam.VariantRecord] = []
        n_filtered, previous_end = 0, -1
        for start, end in spans if vcf_name in self._vcf.index else ():
            for rec in self._vcf.fetch(vcf_name, start, end):
                if rec.start < previous_end:
                    continue  # overlaps the previous span too: already taken there
                if self.pass_only and list(rec.filter.keys()) not in ([], ["PASS"]):
                    n_filtered += 1
                    continue
                kept.append(rec)
            previous_end = end
        return kept, n_filtered

    def _calls(self, rec: pysam.VariantRecord, record: VariantRecord) -> _Calls:
        """Parse one record's GT for every selected sample (see ``_Calls``), each distinct GT once."""
        where = f"{self.path} {record.label}"
        if rec.format.keys()[:1] != ["GT"]:
            raise VariantError(f"{where}: the record has no GT in FORMAT, so genotypes are unknown; drop it.")
        codes, distinct = gt_codes(rec, self._order)
        kinds = [allele_kind(alt, where) for alt in record.alts]
        alleles, phased = parse_gts(distinct, len(kinds), codes, self.samples, where)
        star, symbolic = rewrite_alleles(alleles, kinds, codes, self.samples, self.skip_symbolic, where)
        n_present, n_missing = (alleles != NO_ALLELE).sum(axis=1), (alleles == MISSING).sum(axis=1)
        length = np.where(n_missing == n_present, 0, n_present).astype(np.int8)
        per_row = np.bincount(codes, minlength=len(distinct))
        counts = ReadCounts(n_missing_calls=int(per_row[n_missing > 0].sum()),
                            n_star_calls=int(per_row[star].sum()), n_symbolic_calls=int(per_row[symbolic].sum()))
        return _Calls(alleles[codes], phased[codes], length[codes], counts)

    def _contig_ploidy(self, vcf_name: str) -> np.ndarray:
        """``scan_ploidy`` of the contig's records (all selected samples), computed once per contig."""
        if vcf_name not in self._first_ploidy:
            recs = self._vcf.fetch(vcf_name) if vcf_name in self._vcf.index else ()
            self._first_ploidy[vcf_name] = scan_ploidy(recs, self._order, self.path)
        return self._first_ploidy[vcf_name]


def _open_indexed(path: Path) -> pysam.VariantFile:
    """Open a bgzipped VCF or a BCF that has a .tbi/.csi index."""
    if not path.is_file():
        raise InputFileError(f"VCF/BCF file not found: {path}. Check the path (and that it is a file).")
    try:
        vcf = pysam.VariantFile(str(path))
    except (ValueError, OSError) as exc:
        duplicated = [name for name, n in Counter(_header_samples(path)).items() if n > 1]
        if duplicated:
            raise VariantError(
                f"{path}: the header names samples {duplicated[:_SHOWN]} more than once, so their calls "
                f"cannot be told apart; rename or drop the duplicate columns (`bcftools reheader -s names.txt`)."
            ) from exc
        raise InputFileError(f"cannot read {path} as VCF/BCF ({exc}); regenerate or download it again.") from exc
    if vcf.index is None:
        compression = vcf.compression
        vcf.close()
        if compression != "BGZF":
            raise InputFileError(f"{path} is not bgzip-compressed, so it cannot be indexed for region reads; "
                                 f"run `bgzip {path} && tabix -p vcf {path}.gz` and read {path}.gz.")
        raise InputFileError(f"{path} has no index (.tbi or .csi next to it); run `tabix -p vcf {path}` for a "
                             f"VCF or `bcftools index {path}` for a BCF (or pysam.tabix_index).")
    if not vcf.header.samples:
        vcf.close()
        raise VariantError(f"{path} has no samples (a sites-only VCF); give the cohort's genotype VCF/BCF.")
    return vcf


def _header_samples(path: Path) -> list[str]:
    """Sample names on the ``#CHROM`` line of a bgzipped text VCF, read without htslib, which
    rejects duplicates. (A BCF cannot hold duplicates: htslib refuses to write them.)"""
    try:
        with gzip.open(path, "rb") as handle:
            for line in handle:
                if line.startswith(b"#CHROM"):
                    return line.rstrip(b"\r\n").decode().split("\t")[9:]
                if not line.startswith(b"#"):
                    break
    except (OSError, EOFError, UnicodeDecodeError):
        log.debug("cannot read the header of %s without htslib", path)
    return []


def _select_samples(header: list[str], wanted: Sequence[str] | None, path: Path) -> list[str]:
    """``wanted`` (checked against the header) or the whole header."""
    if wanted is None:
        return header
    wanted = [wanted] if isinstance(wanted, str) else list(wanted)
    unknown = [name for name in wanted if name not in set(header)]
    repeated = [name for name, n in Counter(wanted).items() if n > 1]
    if unknown or repeated or not wanted:
        problem = (f"{len(unknown)} names are not in it: {unknown[:_SHOWN]}" if unknown
                   else f"names are repeated: {repeated[:_SHOWN]}" if repeated else "the list is empty")
        raise ConfigError(
            f"sample selection for {path}: {problem}. It has {len(header)} samples "
            f"({summarize_names(header, _SHOWN)}); fix the list or pass samples=None for all."
        )
    return wanted


def _merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, disjoint union of 0-based half-open intervals (empty ones dropped)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted((int(s), int(e)) for s, e in intervals):
        if start < 0 or end < start:
            raise ConfigError(f"[{start}, {end}) is not a 0-based half-open interval (0 <= start <= end).")
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        elif start < end:
            merged.append((start, end))
    return merged


def _to_record(rec: pysam.VariantRecord, contig: str, path: Path) -> VariantRecord:
    """pysam record -> ``VariantRecord`` with the FASTA's contig name and 0-based position."""
    record = VariantRecord(contig, rec.pos - 1, rec.ref.upper(), tuple(alt.upper() for alt in rec.alts or ()))
    if not BASES.fullmatch(record.ref):
        raise VariantError(f"{path} {record.label}: REF {rec.ref!r} is not A/C/G/T/N bases; fix or drop the record.")
    return record


def _check_ref(records: list[VariantRecord], genome: ReferenceGenome, path: Path) -> None:
    """Raise one ``RefMismatchError`` listing the first mismatches of REF against the FASTA."""
    if not records:
        return
    length = genome.contigs[records[0].contig]
    low = min(records[0].pos, length)
    reference = genome.fetch(records[0].contig, low, min(max(r.end for r in records), length)).upper()
    mismatches = [
        f"{r.label} REF {r.ref} vs FASTA {reference[r.pos - low:r.end - low] if r.end <= length else '(past the end)'}"
        for r in records if r.end > length or reference[r.pos - low:r.end - low] != r.ref
    ]
    if mismatches:
        raise RefMismatchError(
            f"{len(mismatches)} of {len(records)} REF alleles in {path} disagree with {genome.path} "
            f"(contig:VCF POS): {'; '.join(mismatches[:_SHOWN])}{' ...' if len(mismatches) > _SHOWN else ''}. "
            f"The VCF was called on another reference build or its contig names map to other sequences; "
            f"use the matching FASTA, or drop/fix the records with `bcftools norm -c x -f {genome.path}`."
        )
