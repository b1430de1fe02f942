"""tokens/regions.py: region classes per transcript equal the annotation's own UTR features."""

from __future__ import annotations

from pathlib import Path

import pytest

from neuro_omics_assets.genome.fasta import ReferenceGenome
from neuro_omics_assets.genome.gff3 import read_gff3
from neuro_omics_assets.tokens.regions import class_blocks, region_sequences
from neuro_omics_assets_tests.genome.realdata import REAL, fasta_text, revcomp

REGIONS = REAL / "gene_regions"


def annotated_utrs(gff3: Path, transcript_id: str) -> dict[str, list[tuple[int, int]]]:
    """five_prime_UTR / three_prime_UTR features of one transcript, 0-based half-open, read by hand."""
    out: dict[str, list[tuple[int, int]]] = {"five_prime_utr": [], "three_prime_utr": []}
    for line in gff3.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) == 9 and fields[2] in ("five_prime_UTR", "three_prime_UTR") and transcript_id in fields[8]:
            out[fields[2].lower()].append((int(fields[3]) - 1, int(fields[4])))
    return {name: sorted(blocks) for name, blocks in out.items()}


# Genes whose GFF3 annotates UTRs (the bcftools test files dropped them from some transcripts).
@pytest.mark.parametrize(
    "gene", ["FGF6", "MKNK1", "NDNF", "NTNG1", "PABPC1", "RCC1", "SAMD11", "SEMA4D", "SMAD5", "SOX30", "XDH"]
)
def test_derived_utrs_equal_the_gff3_utr_features(gene):
    gff3 = next((REGIONS / gene).glob("*.gff"))
    row = read_gff3(gff3).iloc[0]
    blocks = class_blocks(row)
    annotated = {name: utr for name, utr in annotated_utrs(gff3, row["transcript_id"]).items() if utr}
    assert annotated
    for name, utr in annotated.items():
        assert [b for piece in blocks[name] for b in piece] == utr, name


def test_minus_strand_classes_read_5_to_3_and_tile_the_transcript():
    fasta, gff3 = next((REGIONS / "NDNF").glob("*.fa")), next((REGIONS / "NDNF").glob("*.gff"))
    genes = read_gff3(gff3)
    with ReferenceGenome(fasta) as genome:
        regions = region_sequences(genome, genes, upstream=100, downstream=10)
    text = fasta_text(fasta).upper()
    row = genes.iloc[0]
    start, end = row["exons"][0][0], row["exons"][-1][1]
    body = regions[regions["region_class"] == "gene_body"]["sequence"].iat[0]
    assert body == revcomp(text[start:end])  # minus strand: the reverse complement of the span
    by_class = regions.groupby("region_class")["length"].sum()
    exonic = sum(e - s for s, e in row["exons"])
    assert by_class["five_prime_utr"] + by_class["cds"] + by_class["three_prime_utr"] == exonic
    assert exonic + by_class["intron"] == end - start
    promoter = regions[regions["region_class"] == "promoter"]["sequence"].iat[0]
    assert promoter == revcomp(text[end - 10 : end + 100])  # TSS = last base on the minus strand


def test_transcript_without_exon_lines_gets_no_utr_or_intron_classes(caplog):
    gff3 = next((REGIONS / "GTF2I").glob("*.gff"))  # mRNA with two CDS parts and no exon lines
    row = read_gff3(gff3).iloc[0]
    assert row["exons"] == [(99, 49960)] and len(row["cds"]) == 2
    blocks = class_blocks(row)
    assert blocks["cds"] == [row["cds"]] and blocks["intron"] == blocks["five_prime_utr"] == []
    with ReferenceGenome(next((REGIONS / "GTF2I").glob("*.fa"))) as genome:
        regions = region_sequences(genome, read_gff3(gff3))
    assert set(regions["region_class"]) == {"promoter", "cds", "gene_body"}
    assert "CDS parts share an exon" in caplog.text
