"""Strand-aware extraction of one region per gene from the reference genome.

The one path from a gene table to sequences, shared with ``variants.haplotypes``: ``gene_regions``
selects the genes, resolves contigs and computes each gene's intervals 5'->3'; ``splice`` upper-cases
each interval's bases, reverse-complements them on the minus strand and joins them. A reference
sequence is ``splice`` of the FASTA's bases; a personal sequence is ``splice`` of the same bases with
a haplotype's variants applied, so without variants the two are the same string by construction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from neuro_omics_assets.errors import ConfigError, SequenceError
from neuro_omics_assets.genome.fasta import CoordinateError, ReferenceGenome
from neuro_omics_assets.genome.regions import RegionSpec, region_intervals
from neuro_omics_assets.genome.sequence import count_bases, reverse_complement, sha256_hex

log = logging.getLogger(__name__)

SEQUENCE_COLUMNS = (
    "gene_id",
    "gene_name",
    "gene_type",
    "contig",
    "start",
    "end",
    "strand",
    "region",
    "transcript_id",
    "transcript_rule",
    "length",
    "n_count",
    "iupac_count",
    "all_n",
    "sequence",
    "sha256",
)
_DTYPES = {
    "start": "int64",
    "end": "int64",
    "length": "int64",
    "n_count": "int64",
    "iupac_count": "int64",
    "all_n": "bool",
}
_REQUIRED = (
    "gene_id",
    "gene_name",
    "gene_type",
    "contig",
    "start",
    "end",
    "strand",
    "transcript_id",
    "transcript_rule",
    "exons",
    "cds",
    "tss",
)


@dataclass(frozen=True)
class GeneRegion:
    """One selected gene's region: ``contig`` the FASTA's name, ``intervals`` 5'->3' (genomic, 0-based
    half-open), ``gene`` its row of the gene table."""

    gene: Mapping[str, Any]
    label: str
    contig: str
    strand: str
    intervals: list[tuple[int, int]]

    @property
    def gene_id(self) -> str:
        return str(self.gene["gene_id"])

    @property
    def gene_name(self) -> str | None:
        return self.gene["gene_name"]


def gene_label(gene: Mapping[str, Any]) -> str:
    """``MT-ND6 (ENSG00000198695)``, or the id alone for unnamed genes: how messages name a gene."""
    return f"{gene['gene_name']} ({gene['gene_id']})" if gene["gene_name"] else str(gene["gene_id"])


def gene_regions(genome: ReferenceGenome, genes: pd.DataFrame, spec: RegionSpec) -> tuple[list[GeneRegion], list[str]]:
    """The regions of ``genes`` under ``spec`` in table order, and the labels of the genes skipped for
    having no CDS (region ``cds``; logged once). Contigs missing from the FASTA even through aliases:
    one ``ContigNotFoundError`` listing all; a zero-length region: ``SequenceError`` naming the gene."""
    contigs = genome.resolve_all(list(dict.fromkeys(genes["contig"])))
    lengths = genome.contigs
    regions, no_cds = [], []
    for gene in genes.to_dict("records"):
        label = gene_label(gene)
        if spec.kind == "cds" and len(gene["cds"]) == 0:
            no_cds.append(label)
            continue
        contig = contigs[gene["contig"]]
        intervals = region_intervals(gene, spec, lengths[contig])
        if sum(end - start for start, end in intervals) == 0:
            raise SequenceError(f"gene {label}: region '{spec.kind}' has zero length at {contig}:{gene['start']}-"
                                f"{gene['end']}; check its coordinates or choose another region.")
        regions.append(GeneRegion(gene, label, contig, gene["strand"], intervals))
    if no_cds:
        log.warning("skipping %d genes without CDS (region 'cds'): %s", len(no_cds), ", ".join(no_cds))
    return regions, no_cds


def splice(pieces: Sequence[str], strand: str) -> str:
    """The bases of a region's intervals (genomic order within each, intervals 5'->3') as one sequence:
    upper case, each piece reverse-complemented on the minus strand, joined 5'->3'."""
    pieces = [piece.upper() for piece in pieces]
    return "".join(reverse_complement(piece) for piece in pieces) if strand == "-" else "".join(pieces)


def reference_pieces(genome: ReferenceGenome, region: GeneRegion) -> list[str]:
    """The FASTA's bases of each of ``region``'s intervals; ``CoordinateError`` naming the gene."""
    try:
        return [genome.fetch(region.contig, start, end) for start, end in region.intervals]
    except CoordinateError as exc:
        raise CoordinateError(f"gene {region.label}: {exc}") from exc


def extract_gene_sequences(genome: ReferenceGenome, genes: pd.DataFrame, spec: RegionSpec) -> pd.DataFrame:
    """One row per gene of ``genes`` (a gene table from ``read_gtf``/``select_genes``), in its order.

    Columns ``SEQUENCE_COLUMNS``: contig is the FASTA's name (after alias mapping); start/end are
    the 0-based half-open envelope of the region; sequence is upper case, spliced 5'->3' along the
    transcript (minus strand reverse-complemented); n_count counts N, iupac_count the other
    ambiguity codes; sha256 is the hex digest of the UTF-8 sequence.

    * Contigs missing from the FASTA even after alias mapping: one ``ContigNotFoundError`` lists all.
    * ``cds`` for genes without CDS: those genes are skipped with one warning naming them;
      ``SequenceError`` if no gene is left.
    * An all-N region keeps its row with ``all_n=True`` and a warning naming the gene.
    * A zero-length region (e.g. a promoter clipped away): ``SequenceError`` naming the gene.
    * A region beyond its contig's end: ``CoordinateError`` (a ``FastaError``) naming the gene.
    An empty ``genes`` gives an empty table with the same columns.
    """
    missing = [column for column in _REQUIRED if column not in genes.columns]
    if missing:
        raise ConfigError(
            f"gene table lacks columns {missing}; build it with genome.annotation.read_gtf/select_genes."
        )
    if genes.empty:
        return pd.DataFrame(
            {column: pd.Series(dtype=_DTYPES.get(column, "object")) for column in SEQUENCE_COLUMNS}
        )
    regions, no_cds = gene_regions(genome, genes, spec)
    if no_cds and not regions:
        raise SequenceError(
            f"none of the {len(no_cds)} genes has a CDS, so region 'cds' yields nothing; select "
            f"protein-coding genes (gene_type protein_coding) or another region."
        )
    rows = [_extract_one(genome, region, spec) for region in regions]
    all_n = [region.label for region, row in zip(regions, rows, strict=True) if row["all_n"]]
    if all_n:
        log.warning("genes that are all N in the reference (kept with all_n=True): %s", ", ".join(all_n))
    return pd.DataFrame(rows, columns=list(SEQUENCE_COLUMNS)).astype(_DTYPES)


def _extract_one(genome: ReferenceGenome, region: GeneRegion, spec: RegionSpec) -> dict[str, Any]:
    """One gene's row: its region's reference bases spliced and oriented, with counts and checksum."""
    pieces = reference_pieces(genome, region)
    try:
        sequence = splice(pieces, region.strand)
        n_count, iupac_count = count_bases(sequence)
    except SequenceError as exc:
        raise SequenceError(f"gene {region.label} in {genome.path}: {exc}") from exc
    gene, intervals = region.gene, region.intervals
    return {
        "gene_id": gene["gene_id"],
        "gene_name": gene["gene_name"],
        "gene_type": gene["gene_type"],
        "contig": region.contig,
        "start": min(start for start, _ in intervals),
        "end": max(end for _, end in intervals),
        "strand": gene["strand"],
        "region": spec.kind,
        "transcript_id": gene["transcript_id"],
        "transcript_rule": gene["transcript_rule"],
        "length": len(sequence),
        "n_count": n_count,
        "iupac_count": iupac_count,
        "all_n": n_count == len(sequence),
        "sequence": sequence,
        "sha256": sha256_hex(sequence),
    }
