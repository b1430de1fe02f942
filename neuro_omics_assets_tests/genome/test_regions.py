"""genome/regions.py: RegionSpec validation and region intervals on both strands."""

from __future__ import annotations

import pytest

from neuro_omics_assets.errors import ConfigError
from neuro_omics_assets.genome.regions import RegionSpec, region_intervals

# Two-exon transcripts with a CDS, 0-based half-open; tss = first base (+) or last base (-).
PLUS = {
    "gene_id": "P",
    "start": 100,
    "end": 400,
    "strand": "+",
    "exons": [(100, 200), (300, 400)],
    "cds": [(150, 200), (300, 350)],
    "tss": 100,
}
MINUS = {**PLUS, "gene_id": "M", "strand": "-", "tss": 399}


def test_defaults() -> None:
    assert RegionSpec() == RegionSpec(kind="gene_body", upstream=2000, downstream=500)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "introns"}, "region kind 'introns' is not one of gene_body, exons, cds, promoter"),
        ({"upstream": -1}, r"RegionSpec.upstream must be an integer >= 0 \(bases\), got -1"),
        ({"downstream": 2.5}, "RegionSpec.downstream must be an integer >= 0"),
        ({"upstream": True}, "RegionSpec.upstream must be an integer"),  # bool is not a length
        ({"kind": "promoter", "upstream": 0, "downstream": 0}, "needs upstream \\+ downstream > 0"),
    ],
)
def test_invalid_specs(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RegionSpec(**kwargs)


@pytest.mark.parametrize(
    ("kind", "plus", "minus"),
    [
        ("gene_body", [(100, 400)], [(100, 400)]),
        ("exons", [(100, 200), (300, 400)], [(300, 400), (100, 200)]),  # 5'->3': descending on -
        ("cds", [(150, 200), (300, 350)], [(300, 350), (150, 200)]),
    ],
)
def test_transcript_regions_in_5_to_3_order(kind: str, plus: list, minus: list) -> None:
    spec = RegionSpec(kind=kind)
    assert region_intervals(PLUS, spec) == plus
    assert region_intervals(MINUS, spec) == minus


def test_promoter_plus_strand() -> None:
    # 20 bases upstream of the TSS at 100, then the TSS and 4 more: [80, 105).
    assert region_intervals(PLUS, RegionSpec("promoter", upstream=20, downstream=5)) == [(80, 105)]


def test_promoter_minus_strand_mirrors_plus() -> None:
    # TSS = 399, the transcript's last base; upstream lies above it: 400..419, downstream 395..398.
    intervals = region_intervals(MINUS, RegionSpec("promoter", upstream=20, downstream=5))
    assert intervals == [(395, 420)]
    start, end = intervals[0]
    positions = list(range(start, end))[::-1]  # in transcript orientation, 5' first
    assert positions.index(399) == 20 and len(positions) - positions.index(399) == 5


def test_promoter_is_clipped_to_the_contig() -> None:
    spec = RegionSpec("promoter", upstream=2000, downstream=500)
    assert region_intervals(PLUS, spec, contig_length=450) == [(0, 450)]
    assert region_intervals(MINUS, spec, contig_length=1000) == [(0, 1000)]
    assert region_intervals(MINUS, spec) == [(0, 2400)]  # no length: clipped at 0 only


def test_promoter_clipped_away_is_empty() -> None:
    spec = RegionSpec("promoter", upstream=5, downstream=0)
    assert region_intervals({**PLUS, "tss": 0}, spec) == []


def test_cds_of_a_non_coding_gene_is_empty() -> None:
    assert region_intervals({**PLUS, "cds": []}, RegionSpec("cds")) == []


def test_unstranded_gene_is_rejected() -> None:
    with pytest.raises(ConfigError, match="strand must be '\\+' or '-', got '.' for gene P"):
        region_intervals({**PLUS, "strand": "."}, RegionSpec())
