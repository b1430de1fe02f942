"""Personal gene sequences: each subject's alleles applied to the reference region of each gene,
deduplicated by the SHA-256 of the exact sequence.

For a gene, ``genome.regions.region_intervals`` gives its intervals 5'->3'. A haplotype's
sequence is built per interval (the variants overlapping it applied), each interval upper-cased
and, on the minus strand, reverse-complemented, then joined 5'->3': without variants this is
exactly the ``sequence`` of ``genome.extract.extract_gene_sequences``.

Applying a variant: its REF bases ``[pos, end)`` are replaced by ALT, so indels shift everything
after them. A variant crossing an interval boundary is clipped: REF base ``pos + i`` becomes
``alt[i]`` (or nothing once ALT is shorter), and ALT bases beyond REF's length are inserted after
REF's last base, in the interval holding that base. So a deletion anchored just before an
interval deletes the interval's first bases; an insertion belongs to the interval of its anchor
base. Two applied variants whose REF spans overlap on one haplotype raise ``VariantError``.

Modes: ``haplotypes`` gives each sample one sequence per haplotype (1 haploid, 2 diploid) and
needs phased heterozygous calls (heterozygous once missing alleles and ``*`` read as REF;
homozygous unphased calls are fine); ``consensus`` gives one sequence per sample carrying every
ALT allele it has, phased or not (two different ALTs at one record raise ``VariantError``).
Haplotypes are grouped by their allele vector first, so each distinct vector is built once.

The variants come from one VCF/BCF or a set of them (one per chromosome; ``vcf_set``). A gene on a
contig that no file covers is an error unless ``missing_contig="reference"``: then every subject
carries the reference sequence there (two haplotypes in ``haplotypes`` mode) and its rows have
``reference_only`` True.
"""

from __future__ import annotations

import bisect
import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from neuro_omics_assets.errors import ConfigError, VariantError
from neuro_omics_assets.genome.extract import GeneRegion, gene_regions, reference_pieces, splice
from neuro_omics_assets.genome.fasta import ReferenceGenome
from neuro_omics_assets.genome.regions import RegionSpec
from neuro_omics_assets.genome.sequence import sha256_hex
from neuro_omics_assets.variants.vcf import ReadCounts, VariantBlock, VariantRecord
from neuro_omics_assets.variants.vcf_set import MissingContig, VcfSet, vcf_paths

log = logging.getLogger(__name__)

Mode = Literal["haplotypes", "consensus"]
MODES: tuple[str, ...] = get_args(Mode)
ASSIGNMENT_COLUMNS = ("subject_id", "gene_id", "gene_name", "haplotype", "sha256", "n_variants", "reference_only")
GENE_COUNT_COLUMNS = ("gene_id", "gene_name", "n_records", "n_filtered", "n_missing_calls", "n_haplotypes", "n_unique",
                      "reference_only")
_REQUIRED = ("gene_id", "gene_name", "contig", "start", "end", "strand", "exons", "cds")


@dataclass(frozen=True, eq=False)
class PersonalSequences:
    """Deduplicated personal sequences of a gene set.

    * ``unique``: sha256 hex -> sequence (upper case, 5'->3'), each distinct sequence once.
    * ``assignments``: one row per (subject, gene, haplotype), columns ``ASSIGNMENT_COLUMNS``;
      genes in input order, subjects in ``samples`` order, ``haplotype`` int 0/1 (consensus: 0),
      ``n_variants`` = records whose ALT was applied on that haplotype, ``reference_only`` bool =
      no VCF covers the gene's contig, so the sequence is the reference (``missing_contig="reference"``).
    * ``gene_counts``: one row per gene, columns ``GENE_COUNT_COLUMNS`` (``n_unique`` = distinct
      sequences of the gene; the read counts of ``variants.vcf.ReadCounts``; ``reference_only``).
    """

    unique: dict[str, str]
    assignments: pd.DataFrame
    gene_counts: pd.DataFrame
    samples: tuple[str, ...]
    mode: Mode

    @property
    def n_subjects(self) -> int:
        """Number of subjects (samples read from the VCF)."""
        return len(self.samples)

    @property
    def n_unique(self) -> dict[str, int]:
        """gene_id -> number of distinct sequences among its haplotypes."""
        return dict(zip(self.gene_counts["gene_id"], self.gene_counts["n_unique"].astype(int), strict=True))

    @property
    def reference_only(self) -> list[str]:
        """gene_ids of the genes no VCF covers, which kept the reference sequence, in input order."""
        return self.gene_counts.loc[self.gene_counts["reference_only"].astype(bool), "gene_id"].tolist()


def personal_sequences(
    genome: ReferenceGenome, genes: pd.DataFrame, spec: RegionSpec, vcf: str | Path | Sequence[str | Path],
    mode: Mode = "haplotypes", samples: Sequence[str] | None = None, *,
    pass_only: bool = True, skip_symbolic: bool = False, missing_contig: MissingContig = "error",
) -> PersonalSequences:
    """Every sample's sequence of ``spec``'s region of each gene in ``genes``, variants of the VCF(s)
    ``vcf`` applied (``vcf_set.vcf_paths``: a path, comma-separated list or glob; rules in the
    module docstring, ``variants.vcf`` and ``variants.vcf_set``).

    ``genes``: a gene table (columns gene_id, gene_name, contig, start, end, strand, exons, cds;
    tss for promoters). For ``spec.kind == "cds"`` genes without CDS are skipped with a warning,
    as in ``extract_gene_sequences``. Raises ``ConfigError`` (bad mode, columns or samples),
    ``SequenceError`` (empty region), ``VariantError`` (unphased heterozygous call in
    ``haplotypes`` mode, overlapping variants on one haplotype, two ALTs at one site in
    ``consensus`` mode), ``MissingContigError`` (a gene on a contig no VCF covers, with
    ``missing_contig="error"``) and the errors of ``VcfReader`` and ``VcfSet``.
    """
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {mode!r}.")
    missing = [c for c in (*_REQUIRED, *(("tss",) if spec.kind == "promoter" else ())) if c not in genes.columns]
    if missing:
        raise ConfigError(f"gene table lacks columns {missing}; build it with genome.annotation.read_gtf/select_genes.")
    selected, _ = gene_regions(genome, genes, spec)
    unique: dict[str, str] = {}
    frames, counts, total = [], [], ReadCounts()
    with VcfSet(vcf_paths(vcf), genome, samples, pass_only=pass_only, skip_symbolic=skip_symbolic,
                missing_contig=missing_contig) as vcfs:
        uncovered = set(vcfs.uncovered({gene.label: gene.contig for gene in selected}))
        for gene in selected:
            reference_only = gene.label in uncovered
            fetch = vcfs.reference_block if reference_only else vcfs.fetch
            block = fetch(gene.contig, gene.intervals)
            frame = _gene_sequences(genome, gene, block, mode, unique).assign(reference_only=reference_only)
            frames.append(frame)
            counts.append(_count_row(gene, block.counts, frame, reference_only))
            total += block.counts
        sample_names = vcfs.samples
    result = PersonalSequences(
        unique=unique,
        assignments=pd.concat(frames, ignore_index=True) if frames else _empty(ASSIGNMENT_COLUMNS),
        gene_counts=pd.DataFrame(counts, columns=list(GENE_COUNT_COLUMNS)) if counts else _empty(GENE_COUNT_COLUMNS),
        samples=sample_names,
        mode=mode,
    )
    log.info("%d genes x %d subjects (%s): %d haplotype rows -> %d unique sequences; %d records, %d dropped by "
             "FILTER, %d missing calls read as REF", len(selected), result.n_subjects, mode, len(result.assignments),
             len(unique), total.n_records, total.n_filtered, total.n_missing_calls)
    return result


def _gene_sequences(genome: ReferenceGenome, gene: GeneRegion, block: VariantBlock, mode: Mode,
                    unique: dict[str, str]) -> pd.DataFrame:
    """Assignment rows of one gene; adds its distinct sequences to ``unique``."""
    vectors, hap_sample, hap_index = _allele_vectors(block, mode, gene.label)
    # Group identical allele vectors (hashing row bytes is ~10x faster than np.unique(axis=0)).
    inverse, _ = pd.factorize(np.fromiter((row.tobytes() for row in vectors), dtype=object, count=len(vectors)))
    first = np.unique(inverse, return_index=True)[1]
    groups = vectors[first]
    reference = reference_pieces(genome, gene)
    hashes = []
    for group, carrier in zip(groups, first, strict=True):
        who = f"sample {block.samples[hap_sample[carrier]]}, haplotype {hap_index[carrier]}"
        edits = _edits(block.records, group, f"gene {gene.label}, {who}")
        sequence = _build(reference, gene.intervals, gene.strand, edits)
        digest = sha256_hex(sequence)
        unique.setdefault(digest, sequence)
        hashes.append(digest)
    return pd.DataFrame({
        "subject_id": np.asarray(block.samples, dtype=object)[hap_sample],
        "gene_id": gene.gene_id,
        "gene_name": gene.gene_name,
        "haplotype": hap_index.astype(np.int64),
        "sha256": np.asarray(hashes, dtype=object)[inverse],
        "n_variants": (groups > 0).sum(axis=1).astype(np.int64)[inverse],
    }, columns=list(ASSIGNMENT_COLUMNS))


def _allele_vectors(block: VariantBlock, mode: Mode, label: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Allele vectors int16 ``(n_haplotypes, n_records)`` (0 = REF, k = ``alts[k - 1]``) and, per
    row, its sample index and haplotype number."""
    alleles = block.alleles
    if mode == "consensus":
        conflict = (alleles[..., 0] > 0) & (alleles[..., 1] > 0) & (alleles[..., 0] != alleles[..., 1])
        if conflict.any():
            r, s = _first(conflict)
            record = block.records[r]
            raise VariantError(
                f"gene {label}: sample {block.samples[s]} carries two different ALT alleles at {record.label} "
                f"({', '.join(record.alts[a - 1] for a in alleles[r, s])}) in {block.path}; consensus mode "
                f"applies one allele per site: use mode='haplotypes' with a phased VCF."
            )
        hap_sample = np.arange(len(block.samples))
        return alleles.max(axis=2).T, hap_sample, np.zeros_like(hap_sample)
    unphased = (block.ploidy == 2) & ~block.phased & (alleles[..., 0] != alleles[..., 1])
    if unphased.any():
        r, s = _first(unphased)
        raise VariantError(
            f"gene {label}: {block.path} is unphased: sample {block.samples[s]} is heterozygous "
            f"({'/'.join(map(str, alleles[r, s]))}) at {block.records[r].label} without phase "
            f"({int(unphased.sum())} such calls). mode='haplotypes' needs phased genotypes: use "
            f"mode='consensus' or phase the VCF (e.g. SHAPEIT5, Beagle)."
        )
    hap_sample = np.repeat(np.arange(len(block.samples)), block.ploidy)
    hap_index = np.arange(hap_sample.size) - np.repeat(np.cumsum(block.ploidy) - block.ploidy, block.ploidy)
    return alleles[:, hap_sample, hap_index].T, hap_sample, hap_index


def _first(mask: np.ndarray) -> tuple[int, int]:
    """(record, sample) of the first True of a ``(n_records, n_samples)`` mask."""
    r, s = np.nonzero(mask)
    return int(r[0]), int(s[0])


def _edits(records: Sequence[VariantRecord], vector: np.ndarray, who: str) -> list[tuple[int, int, str]]:
    """``(pos, end, alt)`` of the ALT alleles ``vector`` applies, by position; overlaps raise."""
    edits: list[tuple[int, int, str]] = []
    previous: VariantRecord | None = None
    for record, allele in zip(records, vector, strict=True):
        if allele <= 0:
            continue
        if previous is not None and record.pos < previous.end:
            raise VariantError(
                f"{who}: variants at {previous.label} ({previous.ref}>{edits[-1][2]}) and {record.label} "
                f"({record.ref}>{record.alts[allele - 1]}) (VCF POS) overlap on one haplotype, so both cannot "
                f"be applied; merge them (`bcftools norm -m +any -f ref.fa`) or fix the genotypes."
            )
        edits.append((record.pos, record.end, record.alts[allele - 1]))
        previous = record
    return edits


def _build(reference: Sequence[str], intervals: Sequence[tuple[int, int]], strand: str,
           edits: list[tuple[int, int, str]]) -> str:
    """Apply ``edits`` to each interval's ``reference`` text, then ``genome.extract.splice`` (upper-case,
    orient, join 5'->3'): with no edits, exactly the reference extraction."""
    ends = [end for _, end, _ in edits]  # sorted: edits are sorted and do not overlap
    pieces = [_apply(text, start, end, edits, bisect.bisect_right(ends, start))
              for text, (start, end) in zip(reference, intervals, strict=True)]
    return splice(pieces, strand)


def _apply(text: str, start: int, end: int, edits: list[tuple[int, int, str]], first: int) -> str:
    """``text`` (bases ``[start, end)``) with the edits from index ``first`` on that overlap it
    applied, clipped to the interval (module docstring)."""
    out, cursor = [], start
    for pos, stop, alt in itertools.islice(edits, first, None):
        if pos >= end:
            break
        low, high = max(pos, start), min(stop, end)
        out.append(text[cursor - start:low - start])
        out.append(alt[low - pos:] if high == stop else alt[low - pos:high - pos])
        cursor = high
    out.append(text[cursor - start:])
    return "".join(out)


def _count_row(gene: GeneRegion, counts: ReadCounts, frame: pd.DataFrame, reference_only: bool) -> tuple[Any, ...]:
    return (gene.gene_id, gene.gene_name, counts.n_records, counts.n_filtered, counts.n_missing_calls,
            len(frame), int(frame["sha256"].nunique()), reference_only)


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    """A frame without rows; ``haplotype`` and ``n_*`` columns int64, ``reference_only`` bool, the rest object."""
    return pd.DataFrame({c: pd.Series(dtype="bool" if c == "reference_only" else "int64"
                                      if c == "haplotype" or c.startswith("n_") else object) for c in columns})
