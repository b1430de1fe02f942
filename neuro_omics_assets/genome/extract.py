"""Strand-aware extraction of one region per gene from the reference genome."""

from __future__ import annotations

import logging
from collections.abc import Mapping
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
    contigs = genome.resolve_all(list(dict.fromkeys(genes["contig"])))
    lengths = genome.contigs
    rows, no_cds, all_n = [], [], []
    for gene in genes.to_dict("records"):
        if spec.kind == "cds" and len(gene["cds"]) == 0:
            no_cds.append(_label(gene))
            continue
        contig = contigs[gene["contig"]]
        rows.append(_extract_one(genome, gene, contig, region_intervals(gene, spec, lengths[contig]), spec))
        if rows[-1]["all_n"]:
            all_n.append(_label(gene))
    if no_cds:
        log.warning("skipping genes without CDS (region 'cds'): %s", ", ".join(no_cds))
        if not rows:
            raise SequenceError(
                f"none of the {len(no_cds)} genes has a CDS, so region 'cds' yields nothing; select "
                f"protein-coding genes (gene_type protein_coding) or another region."
            )
    if all_n:
        log.warning("genes that are all N in the reference (kept with all_n=True): %s", ", ".join(all_n))
    return pd.DataFrame(rows, columns=list(SEQUENCE_COLUMNS)).astype(_DTYPES)


def _label(gene: Mapping[str, Any]) -> str:
    return f"{gene['gene_name']} ({gene['gene_id']})" if gene["gene_name"] else str(gene["gene_id"])


def _extract_one(
    genome: ReferenceGenome,
    gene: Mapping[str, Any],
    contig: str,
    intervals: list[tuple[int, int]],
    spec: RegionSpec,
) -> dict[str, Any]:
    """Fetch, splice and orient one gene's region (``intervals`` 5'->3', see ``region_intervals``)."""
    if sum(end - start for start, end in intervals) == 0:
        raise SequenceError(
            f"gene {_label(gene)}: region '{spec.kind}' has zero length at {contig}:{gene['start']}-"
            f"{gene['end']}; check its coordinates or choose another region."
        )
    try:
        pieces = [genome.fetch(contig, start, end).upper() for start, end in intervals]
        if gene["strand"] == "-":
            pieces = [reverse_complement(piece) for piece in pieces]
        sequence = "".join(pieces)
        n_count, iupac_count = count_bases(sequence)
    except CoordinateError as exc:
        raise CoordinateError(f"gene {_label(gene)}: {exc}") from exc
    except SequenceError as exc:
        raise SequenceError(f"gene {_label(gene)} in {genome.path}: {exc}") from exc
    return {
        "gene_id": gene["gene_id"],
        "gene_name": gene["gene_name"],
        "gene_type": gene["gene_type"],
        "contig": contig,
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
