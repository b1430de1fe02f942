"""Region classes of each gene's chosen transcript, and their sequences through the shared extraction path.

Classes (``REGION_CLASSES``), all read 5'->3' along the transcript (minus strand reverse-complemented):

* ``cds``: the CDS blocks spliced into one sequence (what the ribosome reads; GTF CDS excludes the
  stop codon, GFF3 CDS includes it as the annotation has it);
* ``five_prime_utr`` / ``three_prime_utr``: the exonic bases 5' / 3' of the CDS, spliced into one
  sequence each (derived from exons and CDS, so GTF and GFF3 give the same; they equal the GFF3
  ``five_prime_UTR``/``three_prime_UTR`` features);
* ``intron``: each gap between consecutive exons, one sequence per intron (splicing introns
  together would create junctions no genome has);
* ``promoter``: ``upstream`` bases 5' of the TSS to ``downstream - 1`` bases 3' of it
  (``genome.regions.RegionSpec``), clipped to the contig;
* ``gene_body``: the transcript's span, first exon start to last exon end, introns included.

Transcripts without CDS (non-coding genes) have no ``cds``/UTR classes; their exons are not classed.
A coding transcript whose exons cannot be real (two CDS parts inside one exon: an annotation without
exon lines, whose span stands in for its exons) gets no UTR or intron classes, with a warning.
Each piece becomes a pseudo gene row handed to ``genome.extract.extract_gene_sequences``, so
splicing, reverse complement, N counting and coordinate errors are those of the embedding pipeline.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal, get_args

import pandas as pd

from neuro_omics_assets.genome.extract import extract_gene_sequences
from neuro_omics_assets.genome.fasta import ReferenceGenome
from neuro_omics_assets.genome.regions import RegionSpec

log = logging.getLogger(__name__)

RegionClass = Literal["cds", "five_prime_utr", "three_prime_utr", "intron", "promoter", "gene_body"]
REGION_CLASSES: tuple[str, ...] = get_args(RegionClass)

REGION_SEQUENCE_COLUMNS = (
    "gene_id", "gene_name", "contig", "strand", "transcript_id", "region_class", "piece", "start", "end",
    "length", "n_count", "sequence",
)

Blocks = list[tuple[int, int]]


def class_blocks(gene: Mapping[str, Any]) -> dict[str, list[Blocks]]:
    """Genomic blocks (0-based half-open, ascending) of each class but ``promoter``, as a list of pieces.

    ``gene`` is a gene-table row (``exons``, ``cds`` of the chosen transcript, ``strand``). A piece is
    one sequence: ``cds`` and each UTR are one spliced piece, each intron is its own piece.
    """
    exons = sorted((int(s), int(e)) for s, e in gene["exons"])
    cds = sorted((int(s), int(e)) for s, e in gene["cds"])
    pieces: dict[str, list[Blocks]] = {name: [] for name in REGION_CLASSES if name != "promoter"}
    pieces["gene_body"] = [[(exons[0][0], exons[-1][1])]]
    if cds and not exons_hold_cds_apart(exons, cds):
        pieces["cds"] = [cds]
        return pieces
    pieces["intron"] = [[(a[1], b[0])] for a, b in zip(exons, exons[1:], strict=False) if a[1] < b[0]]
    if cds:
        low = _clip(exons, None, cds[0][0])  # exonic bases below the CDS
        high = _clip(exons, cds[-1][1], None)  # and above it
        five, three = (low, high) if gene["strand"] == "+" else (high, low)
        pieces["cds"] = [cds]
        pieces["five_prime_utr"] = [five] if five else []
        pieces["three_prime_utr"] = [three] if three else []
    return pieces


def exons_hold_cds_apart(exons: Blocks, cds: Blocks) -> bool:
    """True when every CDS part lies in an exon and no exon holds two CDS parts (parts of one exon's
    CDS are one block, so two in one exon mean the exons are a stand-in, not the transcript's)."""
    owners = [next((i for i, (s, e) in enumerate(exons) if s <= start and end <= e), None) for start, end in cds]
    return None not in owners and len(set(owners)) == len(owners)


def _clip(blocks: Blocks, low: int | None, high: int | None) -> Blocks:
    """``blocks`` intersected with ``[low, high)`` (None = unbounded), empty pieces dropped."""
    out = []
    for start, end in blocks:
        start = start if low is None else max(start, low)
        end = end if high is None else min(end, high)
        if start < end:
            out.append((start, end))
    return out


def region_sequences(
    genome: ReferenceGenome, genes: pd.DataFrame, upstream: int = 2000, downstream: int = 500
) -> pd.DataFrame:
    """One row per (gene, class, piece) with columns ``REGION_SEQUENCE_COLUMNS``, genes in table order.

    ``start``/``end`` are the piece's genomic envelope (0-based half-open); ``sequence`` is upper case,
    5'->3'. ``upstream``/``downstream`` set the promoter (defaults: ``RegionSpec``'s, with its reasons).
    """
    promoter = RegionSpec(kind="promoter", upstream=upstream, downstream=downstream)
    rows: list[dict[str, Any]] = []
    pseudo: list[dict[str, Any]] = []
    for gene in genes.to_dict("records"):
        rows.append({**gene, "region_class": "promoter", "piece": 0})
        if len(gene["cds"]) and not exons_hold_cds_apart(sorted(gene["exons"]), sorted(gene["cds"])):
            log.warning("%s (%s): CDS parts share an exon (no exon lines in the annotation?); no UTR or intron "
                        "classes for it", gene["gene_name"] or gene["gene_id"], gene["transcript_id"])
        for name, pieces in class_blocks(gene).items():
            for index, blocks in enumerate(pieces):
                pseudo.append({**gene, "exons": blocks, "region_class": name, "piece": index})
    frames = []
    if rows:
        frames.append(_extracted(genome, pd.DataFrame(rows), promoter))
    if pseudo:
        frames.append(_extracted(genome, pd.DataFrame(pseudo), RegionSpec(kind="exons")))
    if not frames:
        return pd.DataFrame(columns=list(REGION_SEQUENCE_COLUMNS))
    out = pd.concat(frames, ignore_index=True)
    order = {gene_id: i for i, gene_id in enumerate(genes["gene_id"])}
    out["_gene"] = out["gene_id"].map(order)
    out["_class"] = out["region_class"].map({name: i for i, name in enumerate(REGION_CLASSES)})
    out = out.sort_values(["_gene", "_class", "piece"], kind="stable").reset_index(drop=True)
    return out.loc[:, list(REGION_SEQUENCE_COLUMNS)]


def _extracted(genome: ReferenceGenome, rows: pd.DataFrame, spec: RegionSpec) -> pd.DataFrame:
    """Sequences of pseudo gene rows through ``extract_gene_sequences``, with their class and piece."""
    sequences = extract_gene_sequences(genome, rows, spec)  # one row per input row, same order
    sequences["region_class"] = rows["region_class"].to_numpy()
    sequences["piece"] = rows["piece"].to_numpy()
    return sequences
