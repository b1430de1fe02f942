"""Which part of a gene to extract: the gene body, the exons or CDS of its chosen transcript, or its
promoter. Intervals are genomic, 0-based half-open, listed 5'->3' along the transcript."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from neuro_omics_assets.errors import ConfigError

RegionKind = Literal["gene_body", "exons", "cds", "promoter"]
REGION_KINDS: tuple[str, ...] = get_args(RegionKind)


@dataclass(frozen=True)
class RegionSpec:
    """The region of each gene to extract; ``upstream``/``downstream`` apply to ``promoter`` only.

    ``promoter`` is ``upstream`` bases 5' of the TSS, the TSS itself and ``downstream - 1`` bases
    3' of it, in transcript orientation (``upstream + downstream`` bases before clipping).
    """

    # gene_body: the recipe embeds whole genes (introns hold most regulatory variants).
    kind: RegionKind = "gene_body"
    # 2 kb upstream covers the core and proximal promoter, the window most promoter-variant
    # studies (and the Ensembl regulatory build's promoter flank) use.
    upstream: int = 2000
    # 500 b downstream reaches into the first exon/intron, where TSS-proximal elements sit,
    # without taking much gene body.
    downstream: int = 500

    def __post_init__(self) -> None:
        if self.kind not in REGION_KINDS:
            raise ConfigError(f"region kind {self.kind!r} is not one of {', '.join(REGION_KINDS)}.")
        for name in ("upstream", "downstream"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"RegionSpec.{name} must be an integer >= 0 (bases), got {value!r}.")
        if self.kind == "promoter" and self.upstream + self.downstream == 0:
            raise ConfigError("a promoter region needs upstream + downstream > 0 bases; set either above 0.")


def region_intervals(
    gene: Mapping[str, Any], spec: RegionSpec, contig_length: int | None = None
) -> list[tuple[int, int]]:
    """Genomic intervals of ``spec.kind`` for one gene-table row, 5'->3' along the transcript.

    ``gene`` needs ``start``, ``end``, ``strand``, ``exons``, ``cds`` and ``tss`` (see ``read_gtf``).
    Intervals are 0-based half-open, ascending on the ``+`` strand and descending on ``-``.
    ``cds`` of a gene without CDS returns ``[]`` (the caller decides what to do with it).
    ``promoter`` is clipped to ``[0, contig_length)`` (to ``0`` only when the length is None)
    and returns ``[]`` if nothing is left.
    """
    strand = gene["strand"]
    if strand not in ("+", "-"):
        raise ConfigError(f"strand must be '+' or '-', got {strand!r} for gene {gene.get('gene_id')}.")
    if spec.kind == "gene_body":
        intervals = [(int(gene["start"]), int(gene["end"]))]
    elif spec.kind == "exons":
        intervals = sorted((int(s), int(e)) for s, e in gene["exons"])
    elif spec.kind == "cds":
        intervals = sorted((int(s), int(e)) for s, e in gene["cds"])
    else:
        intervals = _promoter(int(gene["tss"]), strand, spec, contig_length)
    return intervals if strand == "+" else intervals[::-1]


def _promoter(tss: int, strand: str, spec: RegionSpec, contig_length: int | None) -> list[tuple[int, int]]:
    """``[tss - up, tss + down)`` on ``+``; mirrored on ``-``, where the TSS is the transcript's last
    base and upstream lies at higher coordinates: ``[tss + 1 - down, tss + 1 + up)``."""
    if strand == "+":
        start, end = tss - spec.upstream, tss + spec.downstream
    else:
        start, end = tss + 1 - spec.downstream, tss + 1 + spec.upstream
    start = max(start, 0)
    end = min(end, contig_length) if contig_length is not None else end
    return [(start, end)] if start < end else []
