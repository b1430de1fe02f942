"""variants/haplotypes.py: personal sequences equal hand-built ones; dedup; modes; errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pysam
import pytest

from neuro_omics_assets.errors import ConfigError, RefMismatchError, VariantError
from neuro_omics_assets.genome.annotation import read_gtf, select_genes
from neuro_omics_assets.genome.extract import extract_gene_sequences
from neuro_omics_assets.genome.fasta import ReferenceGenome
from neuro_omics_assets.genome.regions import RegionSpec
from neuro_omics_assets.genome.sequence import sha256_hex
from neuro_omics_assets.variants.haplotypes import ASSIGNMENT_COLUMNS, personal_sequences
from neuro_omics_assets_tests.variants.vcfdata import (
    CHRM_1KG_VCF,
    CHRM_FASTA,
    CHRM_INDELS_VCF,
    REAL,
    TOY,
    fasta_text,
    gene,
    revcomp,
    write_fasta,
    write_vcf,
)

BODY = RegionSpec("gene_body")
EXONS = RegionSpec("exons")
# Toy genes (TOY in vcfdata.py): PLUS [5, 17) = AAGCTTGCAtgc, MINUS [20, 32) = ATCCTTAAGGCC on '-',
# MULTI exons [5, 11) = AAGCTT and [20, 26) = ATCCTT.
PLUS, MINUS, MULTI = gene("PLUS", [(5, 17)]), gene("MINUS", [(20, 32)], "-"), gene("MULTI", [(5, 11), (20, 26)])


@pytest.fixture
def toy(tmp_path: Path) -> ReferenceGenome:
    with ReferenceGenome(write_fasta(tmp_path / "toy.fa", {"chr1": TOY})) as genome:
        yield genome


def sequences(result, gene_id: str) -> dict[tuple[str, int], str]:
    """(subject, haplotype) -> sequence of one gene."""
    rows = result.assignments[result.assignments["gene_id"] == gene_id]
    return {(r.subject_id, r.haplotype): result.unique[r.sha256] for r in rows.itertuples()}


def test_snv_insertion_deletion_and_first_base_deletion(toy: ReferenceGenome, tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["REF0", "SNV", "INS", "DEL", "DEL1"], [
        ("chr1", 5, "CA", "C", "PASS", "0|0", "0|0", "0|0", "0|0", "1|1"),  # deletes 0-based 5, PLUS's first base
        ("chr1", 8, "G", "T", "PASS", "0|0", "0|1", "0|0", "0|0", "0|0"),
        ("chr1", 9, "C", "CAAA", "PASS", "0|0", "0|0", "1|0", "0|0", "0|0"),
        ("chr1", 10, "TTG", "T", "PASS", "0|0", "0|0", "0|0", "1|1", "0|0"),
    ])
    result = personal_sequences(toy, pd.DataFrame([PLUS]), BODY, vcf)
    assert sequences(result, "PLUS") == {
        ("REF0", 0): "AAGCTTGCATGC", ("REF0", 1): "AAGCTTGCATGC",
        ("SNV", 0): "AAGCTTGCATGC", ("SNV", 1): "AATCTTGCATGC",
        ("INS", 0): "AAGCAAATTGCATGC", ("INS", 1): "AAGCTTGCATGC",
        ("DEL", 0): "AAGCTCATGC", ("DEL", 1): "AAGCTCATGC",
        ("DEL1", 0): "AGCTTGCATGC", ("DEL1", 1): "AGCTTGCATGC",
    }
    assert result.assignments["n_variants"].tolist() == [0, 0, 0, 1, 1, 0, 1, 1, 1, 1]
    assert list(result.assignments.columns) == list(ASSIGNMENT_COLUMNS)
    assert result.assignments["haplotype"].tolist() == [0, 1] * 5
    assert result.n_subjects == 5 and result.n_unique == {"PLUS": 5} and len(result.unique) == 5
    assert all(sha == sha256_hex(seq) for sha, seq in result.unique.items())


@pytest.mark.parametrize("spec", [BODY, EXONS, RegionSpec("cds"), RegionSpec("promoter", upstream=3, downstream=4)])
def test_without_variants_equals_reference_extraction(toy: ReferenceGenome, tmp_path: Path, spec: RegionSpec) -> None:
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["S1"], [("chr1", 60, "G", "A", "PASS", "1|1")])  # outside every gene
    genes = pd.DataFrame([PLUS, MINUS, MULTI])
    result = personal_sequences(toy, genes, spec, vcf)
    reference = extract_gene_sequences(toy, genes, spec)
    for row in reference.itertuples():
        assert sequences(result, row.gene_id) == {("S1", 0): row.sequence, ("S1", 1): row.sequence}
    assert result.assignments["sha256"].tolist() == [sha for sha in reference["sha256"] for _ in range(2)]


def test_minus_strand_variants_are_applied_then_reverse_complemented(toy: ReferenceGenome, tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["S1"], [
        ("chr1", 22, "T", "G", "PASS", "1|0"),  # forward ATCCTTAAGGCC -> AGCCTTAAGGCC
        ("chr1", 30, "G", "GT", "PASS", "0|1"),  # forward ATCCTTAAGG + T + CC
    ])
    result = personal_sequences(toy, pd.DataFrame([MINUS]), BODY, vcf)
    assert sequences(result, "MINUS") == {("S1", 0): "GGCCTTAAGGCT", ("S1", 1): "GGACCTTAAGGAT"}


def test_multi_exon_variants_in_two_exons_and_intron_ignored(toy: ReferenceGenome, tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["S1"], [
        ("chr1", 7, "A", "G", "PASS", "1|1"),  # exon 1: AAGCTT -> AGGCTT
        ("chr1", 15, "t", "A", "PASS", "1|1"),  # intron (soft-masked base)
        ("chr1", 25, "T", "TCC", "PASS", "1|0"),  # exon 2: ATCCTT -> ATCCTCCT
    ])
    result = personal_sequences(toy, pd.DataFrame([MULTI]), EXONS, vcf)
    assert sequences(result, "MULTI") == {("S1", 0): "AGGCTTATCCTCCT", ("S1", 1): "AGGCTTATCCTT"}
    assert result.assignments["n_variants"].tolist() == [2, 1]
    assert result.gene_counts.loc[0, "n_records"] == 2


def test_variants_crossing_interval_boundaries_are_clipped(toy: ReferenceGenome, tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["OUT", "IN", "LAST", "BEFORE"], [
        ("chr1", 10, "TTGC", "T", "PASS", "1|0", "0|0", "0|0", "0|0"),  # deletes 10-12: exon 1 loses its last base
        ("chr1", 11, "T", "TGG", "PASS", "0|0", "0|0", "1|0", "0|0"),  # insertion after exon 1's last base
        ("chr1", 19, "GGAT", "G", "PASS", "0|0", "1|0", "0|0", "0|0"),  # deletes 19-21: exon 2 loses 20-21
        ("chr1", 20, "G", "GAA", "PASS", "0|0", "0|0", "0|0", "1|0"),  # anchored before exon 2: not in it
    ])
    result = personal_sequences(toy, pd.DataFrame([MULTI]), EXONS, vcf)
    got = sequences(result, "MULTI")
    assert [got[(sample, 0)] for sample in ("OUT", "IN", "LAST", "BEFORE")] == [
        "AAGCTATCCTT", "AAGCTTCCTT", "AAGCTTGGATCCTT", "AAGCTTATCCTT"]
    assert result.assignments["n_variants"].tolist() == [1, 0, 1, 0, 1, 0, 0, 0]


def test_multiallelic_star_missing_filter_and_sample_subset(toy: ReferenceGenome, tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["S1", "S2", "S3"], [
        ("chr1", 8, "G", "T,C", "PASS", "0|2", "1|1", "0|0"),
        ("chr1", 10, "TTG", "T", "PASS", "0|0", "0|0", "0|1"),
        ("chr1", 11, "T", "A,*", ".", "0|0", "0|0", "1|2"),  # '*': S3's haplotype 1 carries the deletion
        ("chr1", 13, "C", "G", "PASS", ".|1", "0|0", "./."),  # missing -> REF
        ("chr1", 14, "A", "T", "LowQual", "1|1", "1|1", "1|1"),  # dropped by FILTER
    ])
    result = personal_sequences(toy, pd.DataFrame([PLUS]), BODY, vcf, samples=["S3", "S1"])
    assert result.samples == ("S3", "S1")
    assert result.assignments["subject_id"].tolist() == ["S3", "S3", "S1", "S1"]
    assert sequences(result, "PLUS") == {
        ("S3", 0): "AAGCTAGCATGC", ("S3", 1): "AAGCTCATGC",
        ("S1", 0): "AAGCTTGCATGC", ("S1", 1): "AACCTTGGATGC",
    }
    counts = result.gene_counts.iloc[0]
    assert (counts.n_records, counts.n_filtered, counts.n_missing_calls) == (4, 1, 2)


def test_consensus_applies_every_alt_of_unphased_calls(toy: ReferenceGenome, tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["S1", "S2"], [
        ("chr1", 8, "G", "T", "PASS", "0/1", "0/0"),
        ("chr1", 13, "C", "G", "PASS", "1/1", "0/0"),
    ])
    with pytest.raises(VariantError, match=r"gene PLUS_NAME \(PLUS\): .*a.vcf.gz is unphased: sample S1 is "
                                           r"heterozygous \(0/1\) at chr1:8 .*use mode='consensus' or phase"):
        personal_sequences(toy, pd.DataFrame([PLUS]), BODY, vcf)
    result = personal_sequences(toy, pd.DataFrame([PLUS]), BODY, vcf, mode="consensus")
    assert sequences(result, "PLUS") == {("S1", 0): "AATCTTGGATGC", ("S2", 0): "AAGCTTGCATGC"}
    assert result.assignments["n_variants"].tolist() == [2, 0]
    homozygous = personal_sequences(toy, pd.DataFrame([PLUS]), BODY, vcf, samples=["S2"])  # 0/0 unphased is fine
    assert homozygous.assignments["haplotype"].tolist() == [0, 1]


def test_consensus_with_two_alts_at_one_site_is_an_error(toy: ReferenceGenome, tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["S1"], [("chr1", 8, "G", "T,C", "PASS", "1/2")])
    with pytest.raises(VariantError, match=r"sample S1 carries two different ALT alleles at chr1:8 \(T, C\)"):
        personal_sequences(toy, pd.DataFrame([PLUS]), BODY, vcf, mode="consensus")


def test_overlapping_variants_on_one_haplotype(toy: ReferenceGenome, tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["S1", "S2"], [
        ("chr1", 10, "TTG", "T", "PASS", "0|0", "0|1"),
        ("chr1", 11, "T", "TA", "PASS", "1|0", "0|1"),
    ])
    with pytest.raises(VariantError, match=r"gene PLUS_NAME \(PLUS\), sample S2, haplotype 1: variants at "
                                           r"chr1:10 \(TTG>T\) and chr1:11 \(T>TA\) \(VCF POS\) overlap"):
        personal_sequences(toy, pd.DataFrame([PLUS]), BODY, vcf)


def test_ref_mismatch_names_positions(toy: ReferenceGenome, tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["S1"], [("chr1", 8, "A", "T", "PASS", "0|1")])
    with pytest.raises(RefMismatchError, match=r"chr1:8 REF A vs FASTA G"):
        personal_sequences(toy, pd.DataFrame([PLUS]), BODY, vcf)


def test_cohort_of_1000_from_five_haplotypes_gives_five_sequences(toy: ReferenceGenome, tmp_path: Path) -> None:
    # Records on PLUS (0-based 5 A>G, 7 G>T, 11 G>C, 13 A>AT) and five haplotypes as allele vectors.
    edits = {5: "G", 7: "T", 11: "C", 13: "AT"}
    haplotypes = [(0, 0, 0, 0), (1, 0, 0, 0), (1, 1, 0, 0), (0, 0, 1, 1), (1, 0, 1, 0)]
    samples = [f"S{i:04d}" for i in range(1000)]
    pairs = [(i % 5, (3 * i + 1) % 5) for i in range(1000)]
    records = [("chr1", pos + 1, TOY[pos], alt, "PASS", *(f"{haplotypes[a][k]}|{haplotypes[b][k]}" for a, b in pairs))
               for k, (pos, alt) in enumerate(edits.items())]
    result = personal_sequences(toy, pd.DataFrame([PLUS]), BODY, write_vcf(tmp_path / "a.vcf.gz", samples, records))

    def expected(vector: tuple[int, ...]) -> str:
        bases = list(TOY[5:17].upper())
        for (pos, alt), carried in zip(edits.items(), vector, strict=True):
            bases[pos - 5] = alt if carried else bases[pos - 5]
        return "".join(bases)

    assert result.n_unique == {"PLUS": 5} and len(result.unique) == 5
    assert sorted(result.unique.values()) == sorted(expected(v) for v in haplotypes)
    want = [sha256_hex(expected(haplotypes[h])) for pair in pairs for h in pair]
    assert result.assignments["sha256"].tolist() == want
    assert result.assignments["n_variants"].tolist() == [sum(haplotypes[h]) for pair in pairs for h in pair]


def test_contig_names_differ_across_gene_table_fasta_and_vcf(tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["S1"], [("1", 8, "G", "T", "PASS", "1|1")], contigs=["1"])
    with ReferenceGenome(write_fasta(tmp_path / "ucsc.fa", {"chr1": TOY})) as genome:
        result = personal_sequences(genome, pd.DataFrame([{**PLUS, "contig": "NC_000001.11"}]), BODY, vcf)
    assert sequences(result, "PLUS") == {("S1", 0): "AATCTTGCATGC", ("S1", 1): "AATCTTGCATGC"}


def test_bad_arguments(toy: ReferenceGenome, tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["S1"], [("chr1", 8, "G", "T", "PASS", "1|1")])
    with pytest.raises(ConfigError, match=r"mode must be one of haplotypes, consensus, got 'union'"):
        personal_sequences(toy, pd.DataFrame([PLUS]), BODY, vcf, mode="union")
    with pytest.raises(ConfigError, match=r"gene table lacks columns \['exons'\]"):
        personal_sequences(toy, pd.DataFrame([PLUS]).drop(columns=["exons"]), BODY, vcf)
    empty = personal_sequences(toy, pd.DataFrame([PLUS]).iloc[:0], BODY, vcf)
    assert empty.assignments.empty and list(empty.assignments.columns) == list(ASSIGNMENT_COLUMNS)
    assert empty.unique == {} and empty.n_subjects == 1 and empty.assignments["haplotype"].dtype == "int64"


def other(base: str) -> str:
    return {"A": "G", "C": "T", "G": "A", "T": "C"}[base]


def test_haploid_chrm_calls_on_real_genes(tmp_path: Path) -> None:
    text = fasta_text(CHRM_FASTA)
    genes = select_genes(read_gtf(REAL / "chrM" / "annotation.chrMT.gtf"), ["MT-TF", "MT-ND6"])  # contig 'MT'
    tf_snv, nd6_snv, nd6_del = 599, 14199, 14299  # 0-based; MT-TF [576, 647) '+', MT-ND6 [14148, 14673) '-'
    records = [
        ("chrM", tf_snv + 1, text[tf_snv], other(text[tf_snv].upper()), "PASS", "1", "0"),
        ("chrM", nd6_snv + 1, text[nd6_snv], other(text[nd6_snv].upper()), "PASS", "1", "."),
        ("chrM", nd6_del + 1, text[nd6_del:nd6_del + 3], text[nd6_del], "PASS", "0", "1"),
    ]
    vcf = write_vcf(tmp_path / "m.vcf.gz", ["M1", "M2"], records, contigs=["chrM"])
    with ReferenceGenome(CHRM_FASTA) as genome:
        result = personal_sequences(genome, genes, BODY, vcf)
        reference = extract_gene_sequences(genome, genes, BODY).set_index("gene_name")["sequence"]
    nd6 = text[14148:14673].upper()
    assert sequences(result, "ENSG00000210049") == {
        ("M1", 0): (text[576:tf_snv] + other(text[tf_snv].upper()) + text[tf_snv + 1:647]).upper(),
        ("M2", 0): reference["MT-TF"],
    }
    assert sequences(result, "ENSG00000198695") == {
        ("M1", 0): revcomp(nd6[:nd6_snv - 14148] + other(nd6[nd6_snv - 14148]) + nd6[nd6_snv - 14147:]),
        ("M2", 0): revcomp(nd6[:nd6_del - 14147] + nd6[nd6_del - 14145:]),
    }
    assert result.assignments["haplotype"].tolist() == [0, 0, 0, 0]


def test_real_chrm_cohorts(tmp_path: Path) -> None:
    text = fasta_text(CHRM_FASTA).upper()
    dloop = pd.DataFrame([gene("DLOOP", [(0, 400)], contig="chrM")])
    with ReferenceGenome(CHRM_FASTA) as genome:
        reference = extract_gene_sequences(genome, dloop, BODY)["sequence"][0]
        all_ref = personal_sequences(genome, dloop, BODY, CHRM_1KG_VCF, pass_only=False)
        indels = personal_sequences(genome, dloop, BODY, CHRM_INDELS_VCF, pass_only=False)
    assert set(all_ref.unique.values()) == {reference}  # every call in the 1kg file is 0/0
    assert all_ref.gene_counts.loc[0, "n_records"] == 23
    # HG00131: POS 152 T>C and 263 A>G; HG00132: POS 73 A>G and 263; HG00133: POS 196 T>C (ALT 2) and 263.
    region = text[:400]
    assert sequences(indels, "DLOOP") == {
        **dict.fromkeys([("HG00131", 0), ("HG00131", 1)], region[:151] + "C" + region[152:262] + "G" + region[263:]),
        **dict.fromkeys([("HG00132", 0), ("HG00132", 1)], region[:72] + "G" + region[73:262] + "G" + region[263:]),
        **dict.fromkeys([("HG00133", 0), ("HG00133", 1)], region[:195] + "C" + region[196:262] + "G" + region[263:]),
    }
    assert indels.gene_counts.loc[0, "n_missing_calls"] == 3


@pytest.fixture(scope="module")
def chr22_genome(tmp_path_factory: pytest.TempPathFactory) -> ReferenceGenome:
    """A chr22 of N with the real VCF's REF alleles in place (no chr22 FASTA covers 10.51 Mb here)."""
    bases = bytearray(b"N" * 10_520_000)
    with pysam.VariantFile(str(REAL / "chr22" / "chr22.vcf.gz")) as vcf:
        for rec in vcf:
            bases[rec.start:rec.stop] = rec.ref.encode()
    path = write_fasta(tmp_path_factory.mktemp("chr22") / "chr22.fa", {"chr22": bases.decode()})
    with ReferenceGenome(path) as genome:
        yield genome


def test_real_chr22_unphased_cohort_consensus(chr22_genome: ReferenceGenome) -> None:
    region = pd.DataFrame([gene("REGION", [(10_510_000, 10_514_100)], contig="chr22")])
    vcf = REAL / "chr22" / "chr22.vcf.gz"
    with pytest.raises(VariantError, match=r"is unphased: sample HG\d+ is heterozygous"):
        personal_sequences(chr22_genome, region, BODY, vcf, pass_only=False)
    result = personal_sequences(chr22_genome, region, BODY, vcf, mode="consensus", pass_only=False)
    # shared/reference/peers-and-workload.md 4.1: 19 distinct all-ALT sequences, the largest shared by 54/100.
    assert result.n_subjects == 100 and result.n_unique == {"REGION": 19}
    assert result.assignments["sha256"].value_counts().iloc[0] == 54
    assert result.gene_counts.loc[0, "n_records"] == 100
