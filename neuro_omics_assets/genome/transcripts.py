"""A GTF gene's transcripts and the choice of one transcript per gene (no I/O).

Intervals are 0-based half-open; ``annotation`` converts the GTF's coordinates before they get here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Transcript:
    """One transcript of a gene, folded from its transcript, exon and CDS lines."""

    transcript_id: str
    version: str | None
    tags: set[str] = field(default_factory=set)
    exons: list[tuple[int, int]] = field(default_factory=list)
    cds: list[tuple[int, int]] = field(default_factory=list)
    span: tuple[int, int] | None = None  # from the transcript line, if any

    def blocks(self) -> list[tuple[int, int]]:
        """Exons in genomic order; without exon lines, the transcript span (or the CDS)."""
        if self.exons:
            return sorted(self.exons)
        return [self.span] if self.span is not None else sorted(self.cds)


def choose_transcript(transcripts: Sequence[Transcript]) -> tuple[Transcript, str]:
    """Pick one transcript and name the rule that picked it: tag ``MANE_Select`` > tag
    ``Ensembl_canonical`` > ``longest_cds`` > ``longest_transcript`` (sum of ``blocks`` lengths);
    ties go to the smallest transcript id. ``transcripts`` must not be empty."""
    for tag in ("MANE_Select", "Ensembl_canonical"):
        tagged = [t for t in transcripts if tag in t.tags]
        if tagged:
            return min(tagged, key=lambda t: t.transcript_id), tag
    coding = [t for t in transcripts if t.cds]
    if coding:
        return min(coding, key=lambda t: (-_total(t.cds), t.transcript_id)), "longest_cds"
    return min(transcripts, key=lambda t: (-_total(t.blocks()), t.transcript_id)), "longest_transcript"


def _total(intervals: Sequence[tuple[int, int]]) -> int:
    return sum(end - start for start, end in intervals)
