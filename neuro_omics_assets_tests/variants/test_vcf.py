"""variants/vcf.py: region reads through the index, REF checks, FILTER, alleles, genotypes, bad input."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pysam
import pytest

from neuro_omics_assets.errors import (
    ConfigError,
    ContigNotFoundError,
    InputFileError,
    RefMismatchError,
    VariantError,
)
from neuro_omics_assets.genome.contigs import ContigAliases
from neuro_omics_assets.genome.fasta import ReferenceGenome
from neuro_omics_assets.variants.vcf import NO_ALLELE, VariantRecord, VcfReader, read_variants
from neuro_omics_assets_tests.variants.vcfdata import (
    CHRM_1KG_VCF,
    CHRM_FASTA,
    CHRM_INDELS_VCF,
    CHRMT_FASTA,
    TOY,
    fasta_text,
    write_fasta,
    write_vcf,
)


@pytest.fixture
def toy(tmp_path: Path) -> ReferenceGenome:
    with ReferenceGenome(write_fasta(tmp_path / "toy.fa", {"chr1": TOY, "chr2": "ACGT" * 10})) as genome:
        yield genome


@pytest.mark.parametrize("vcf, n_records", [(CHRM_1KG_VCF, 23), (CHRM_INDELS_VCF, 155)])
def test_real_chrm_records_match_the_fasta(vcf: Path, n_records: int) -> None:
    text = fasta_text(CHRM_FASTA).upper()
    with ReferenceGenome(CHRM_FASTA) as genome:
        block = read_variants(vcf, "chrM", 0, 16569, genome, pass_only=False)
    assert block.counts.n_records == n_records
    assert [r.pos for r in block.records][:3] == [25, 34, 39]  # VCF POS 26, 35, 40
    assert all(text[r.pos:r.end] == r.ref for r in block.records)
    assert block.ploidy.tolist() == [2, 2, 2]  # the 1000 Genomes chrM calls are coded diploid (0/0)
    assert block.alleles.shape == (n_records, 3, 2)


def test_real_chrm_ensembl_fasta_through_aliases_and_sample_subset() -> None:
    with ReferenceGenome(CHRMT_FASTA) as genome:  # FASTA 'MT', VCF 'chrM'
        block = read_variants(CHRM_INDELS_VCF, "chrM", 0, 16569, genome, samples=["HG00133", "HG00131"],
                              pass_only=False)
    assert block.contig == "MT"
    assert block.samples == ("HG00133", "HG00131")
    carried = {r.label: block.alleles[i].tolist() for i, r in enumerate(block.records) if block.alleles[i].any()}
    # POS 152 T>C is 1/1 in HG00131; POS 196 T>TCC,C is 2/2 in HG00133; POS 263 A>G is 1/1 in all.
    assert carried == {"MT:152": [[0, 0], [1, 1]], "MT:196": [[2, 2], [0, 0]], "MT:263": [[1, 1], [1, 1]]}
    assert block.counts.n_missing_calls == 2  # POS 309 is ./. in every sample


def test_real_chrm_records_are_all_filtered_by_default() -> None:
    with ReferenceGenome(CHRM_FASTA) as genome:
        block = read_variants(CHRM_INDELS_VCF, "chrM", 0, 16569, genome)
    assert (block.counts.n_records, block.counts.n_filtered) == (0, 155)  # all VQSRTranche*, none PASS


def test_region_positions_and_index_reads(toy: ReferenceGenome, tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["S1"], [
        ("chr1", 6, "A", "T", "PASS", "0|1"),  # 0-based 5
        ("chr1", 8, "GCT", "G", "PASS", "1|0"),  # deletion, REF 0-based [7, 10)
        ("chr1", 21, "A", "AT", "PASS", "1|1"),  # insertion after 0-based 20
    ])
    block = read_variants(vcf, "chr1", 9, 20, toy)  # overlaps only the deletion's last base
    assert block.records == (VariantRecord("chr1", 7, "GCT", ("G",)),)
    assert read_variants(vcf, "chr1", 10, 20, toy).records == ()  # half-open: REF ends at 10
    block = read_variants(vcf, "chr1", 0, 60, toy)
    assert [(r.pos, r.end) for r in block.records] == [(5, 6), (7, 10), (20, 21)]
    assert block.alleles[:, 0].tolist() == [[0, 1], [1, 0], [1, 1]]
    assert block.phased.tolist() == [[True], [True], [True]]


def test_intervals_of_one_gene_return_each_record_once(toy: ReferenceGenome, tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["S1"], [
        ("chr1", 10, "TTGCATGCAGGA", "T", "PASS", "0|1"),  # 0-based [9, 21): overlaps both exons
        ("chr1", 30, "G", "A", "PASS", "1|1"),
        ("chr1", 45, "C", "T", "PASS", "1|1"),  # between the exons of interest: not read
    ])
    with VcfReader(vcf, toy) as reader:
        block = reader.fetch("chr1", [(25, 35), (5, 12), (18, 22)])
    assert block.intervals == ((5, 12), (18, 22), (25, 35))
    assert [r.pos for r in block.records] == [9, 29]


def test_multiallelic_star_and_missing_calls(toy: ReferenceGenome, tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["S1", "S2", "S3"], [
        ("chr1", 9, "C", "A,G", "PASS", "0|2", "1|2", "2/2"),
        ("chr1", 10, "T", "A,*", "PASS", "2|1", ".|1", "./."),
        ("chr1", 12, "G", "C", "PASS", ".", "0|.", "1/1"),
    ])
    block = read_variants(vcf, "chr1", 0, 60, toy)
    assert block.records[0].alts == ("A", "G")
    assert block.alleles[0].tolist() == [[0, 2], [1, 2], [2, 2]]
    assert block.alleles[1].tolist() == [[0, 1], [0, 1], [0, 0]]  # '*' and '.' read as REF
    assert block.alleles[2].tolist() == [[0, 0], [0, 0], [1, 1]]  # haploid-coded '.' in a diploid sample
    assert (block.counts.n_star_calls, block.counts.n_missing_calls) == (1, 4)
    assert block.phased.tolist() == [[True, True, False], [True, True, False], [True, True, False]]


def test_filter_pass_and_dot_kept_others_dropped(toy: ReferenceGenome, tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["S1"], [
        ("chr1", 7, "A", "C", "PASS", "1|1"),
        ("chr1", 8, "G", "T", ".", "1|1"),
        ("chr1", 9, "C", "T", "LowQual", "1|1"),
    ])
    kept = read_variants(vcf, "chr1", 0, 60, toy)
    assert [r.pos for r in kept.records] == [6, 7]
    assert (kept.counts.n_records, kept.counts.n_filtered) == (2, 1)
    every = read_variants(vcf, "chr1", 0, 60, toy, pass_only=False)
    assert [r.pos for r in every.records] == [6, 7, 8]


def test_haploid_calls_have_ploidy_one(toy: ReferenceGenome, tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["M1", "F1", "D1"], [
        ("chr1", 7, "A", "C", "PASS", "1", "0/1", "."),
        ("chr1", 8, "G", "T", "PASS", ".", "1|1", "0|1"),
        ("chr1", 9, "C", "T", "PASS", ".", "./.", "."),
    ])
    block = read_variants(vcf, "chr1", 0, 60, toy)
    assert block.ploidy.tolist() == [1, 2, 2]
    assert block.alleles[:, 0].tolist() == [[1, NO_ALLELE], [0, NO_ALLELE], [0, NO_ALLELE]]
    assert block.alleles[:, 1].tolist() == [[0, 1], [1, 1], [0, 0]]
    assert block.alleles[:, 2].tolist() == [[0, 0], [0, 1], [0, 0]]  # '.' in a diploid sample: REF, REF
    # Without a non-missing call in the read, a sample takes the length of its first non-missing
    # call on the contig (D1: 0|1 at POS 8, not the '.' at POS 7).
    assert read_variants(vcf, "chr1", 8, 9, toy).ploidy.tolist() == [1, 2, 2]
    assert read_variants(vcf, "chr1", 50, 60, toy).ploidy.tolist() == [1, 2, 2]


def test_mixed_ploidy_in_one_region_is_an_error(toy: ReferenceGenome, tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["S1"], [
        ("chr1", 7, "A", "C", "PASS", "0|1"),
        ("chr1", 8, "G", "T", "PASS", "1"),
    ])
    with pytest.raises(VariantError, match=r"sample S1 has a haploid call at chr1:8 and diploid calls"):
        read_variants(vcf, "chr1", 0, 60, toy)


def test_ref_mismatch_lists_first_five_positions(toy: ReferenceGenome, tmp_path: Path) -> None:
    wrong = [("chr1", pos, "T" if TOY[pos - 1].upper() != "T" else "A", "G", "PASS", "0|1") for pos in range(1, 8)]
    ok = ("chr1", 15, "t", "C", "PASS", "0|1")  # lower-case REF and soft-masked FASTA base: a match
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["S1"], [*wrong, ok])
    with pytest.raises(RefMismatchError) as caught:
        read_variants(vcf, "chr1", 0, 60, toy)
    message = str(caught.value)
    assert message.startswith("7 of 8 REF alleles in ")
    assert "chr1:1 REF T vs FASTA C; chr1:2 REF T vs FASTA C; chr1:3 REF T vs FASTA C; chr1:4 REF T vs FASTA C; " \
           "chr1:5 REF T vs FASTA C ..." in message
    assert "chr1:6" not in message and "bcftools norm -c x -f" in message
    assert read_variants(vcf, "chr1", 14, 15, toy).records == (VariantRecord("chr1", 14, "T", ("C",)),)


def test_ref_past_the_contig_end_is_a_mismatch(toy: ReferenceGenome, tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["S1"], [("chr2", 40, "TAC", "T", "PASS", "0|1")], contigs=["chr2"])
    with pytest.raises(RefMismatchError, match=r"chr2:40 REF TAC vs FASTA \(past the end\)"):
        read_variants(vcf, "chr2", 0, 40, toy)


def test_contig_aliases_map_vcf_names_to_the_fasta(tmp_path: Path) -> None:
    fasta = write_fasta(tmp_path / "ens.fa", {"1": TOY, "MT": "ACGT" * 5})
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["S1"], [("chr1", 7, "A", "C", "PASS", "1|1")], contigs=["chr1", "chrM"])
    with ReferenceGenome(fasta, aliases=ContigAliases.hg38()) as genome:
        block = read_variants(vcf, "chr1", 0, 60, genome)  # gene named 'chr1', FASTA '1', VCF 'chr1'
        assert (block.contig, [r.label for r in block.records]) == ("1", ["1:7"])
        assert read_variants(vcf, "MT", 0, 20, genome).records == ()  # in the header, no records
    with ReferenceGenome(write_fasta(tmp_path / "x.fa", {"1": TOY, "2": "ACGT"})) as genome:
        with pytest.raises(ContigNotFoundError, match=r"a.vcf.gz does not name contig 2 \(nor an alias of it\) in "
                                                      r"its header or index \(it has chr1, chrM\)"):
            read_variants(vcf, "2", 0, 4, genome)  # not in the VCF at all: its variants are unknown, not absent


def test_vcf_contigs_matching_no_fasta_contig(toy: ReferenceGenome, tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["S1"], [("scaffold_1", 6, "C", "A", "PASS", "1|1")],
                    contigs=["scaffold_1", "scaffold_2"])
    with pytest.raises(ContigNotFoundError, match=r"no contig of .*a.vcf.gz \(scaffold_1, scaffold_2\) is in "
                                                  r".*toy.fa \(chr1, chr2\), even through contig aliases"):
        VcfReader(vcf, toy)


def test_sample_selection_errors(toy: ReferenceGenome, tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["S1", "S2"], [("chr1", 7, "A", "C", "PASS", "1|1", "0|0")])
    with pytest.raises(ConfigError, match=r"2 names are not in it: \['X9', 'Y'\]. It has 2 samples \(S1, S2\)"):
        read_variants(vcf, "chr1", 0, 60, toy, samples=["S1", "X9", "Y"])
    with pytest.raises(ConfigError, match=r"names are repeated: \['S2'\]"):
        read_variants(vcf, "chr1", 0, 60, toy, samples=["S2", "S2"])
    assert read_variants(vcf, "chr1", 0, 60, toy, samples=["S2"]).alleles.tolist() == [[[0, 0]]]


def test_duplicate_sample_in_header(toy: ReferenceGenome, tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["S1", "S2", "S1"], [("chr1", 6, "C", "A", "PASS", "1|1", "0|0", "0|1")])
    with pytest.raises(VariantError, match=r"names samples \['S1'\] more than once"):
        read_variants(vcf, "chr1", 0, 60, toy)


def test_unindexed_and_uncompressed_files(toy: ReferenceGenome, tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["S1"], [("chr1", 6, "C", "A", "PASS", "1|1")], index=False)
    with pytest.raises(InputFileError, match=r"has no index .* run `tabix -p vcf .*a.vcf.gz` .* `bcftools index"):
        read_variants(vcf, "chr1", 0, 60, toy)
    with pytest.raises(InputFileError, match=r"a.vcf is not bgzip-compressed.* `bgzip "):
        read_variants(tmp_path / "a.vcf", "chr1", 0, 60, toy)
    with pytest.raises(InputFileError, match=r"VCF/BCF file not found: .*missing.vcf.gz"):
        read_variants(tmp_path / "missing.vcf.gz", "chr1", 0, 60, toy)
    broken = tmp_path / "broken.vcf.gz"
    with gzip.open(broken, "wt") as handle:
        handle.write("not a vcf\n")
    with pytest.raises(InputFileError, match=r"cannot read .*broken.vcf.gz as VCF/BCF"):
        read_variants(broken, "chr1", 0, 60, toy)


def test_bcf_with_csi_index(toy: ReferenceGenome, tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["S1", "S2"], [("chr1", 7, "A", "C", "PASS", "1|0", "0/0")])
    bcf = tmp_path / "a.bcf"
    with pysam.VariantFile(str(vcf)) as source, pysam.VariantFile(str(bcf), "wb", header=source.header) as sink:
        for record in source:
            sink.write(record)
    pysam.tabix_index(str(bcf), preset="bcf", force=True)
    block = read_variants(bcf, "chr1", 0, 60, toy)
    assert block.alleles.tolist() == [[[1, 0], [0, 0]]]
    assert block.phased.tolist() == [[True, False]]


def test_symbolic_alleles_error_or_skip(toy: ReferenceGenome, tmp_path: Path) -> None:
    records = [("chr1", 7, "A", "C,<DEL>", "PASS", "0|1", "0|0"), ("chr1", 8, "G", "<NON_REF>", "PASS", "0|1", "1|1")]
    vcf = write_vcf(tmp_path / "a.vcf.gz", ["S1", "S2"], records)
    with pytest.raises(VariantError, match=r"chr1:8: sample S1 carries a symbolic or breakend allele"):
        read_variants(vcf, "chr1", 0, 60, toy)
    assert read_variants(vcf, "chr1", 0, 7, toy).alleles.tolist() == [[[0, 1], [0, 0]]]  # <DEL> carried by none
    block = read_variants(vcf, "chr1", 0, 60, toy, skip_symbolic=True)
    assert block.alleles[1].tolist() == [[0, 0], [0, 0]]
    assert block.counts.n_symbolic_calls == 2


def test_malformed_genotypes(toy: ReferenceGenome, tmp_path: Path) -> None:
    cases = {"0/1/1": r"genotype '0/1/1' is not a haploid or diploid GT", "0|3": r"sample S1 has genotype '0\|3' but"}
    for gt, message in cases.items():
        vcf = write_vcf(tmp_path / "a.vcf.gz", ["S1"], [("chr1", 7, "A", "C", "PASS", gt)])
        with pytest.raises(VariantError, match=message):
            read_variants(vcf, "chr1", 0, 60, toy)


def test_csi_index_and_overlap_by_ref_span(tmp_path: Path) -> None:
    """A copy with only its .csi reads; a record is in a region when its REF span overlaps it."""
    copy = tmp_path / "chrM.vcf.gz"
    shutil.copy(CHRM_INDELS_VCF, copy)
    shutil.copy(f"{CHRM_INDELS_VCF}.csi", f"{copy}.csi")
    with ReferenceGenome(CHRM_FASTA) as genome:
        block = read_variants(copy, "chrM", 149, 151, genome, pass_only=False)
    # POS 149 TCC spans 0-based [148, 151); POS 152 T starts at 151, outside.
    assert [r.label for r in block.records] == ["chrM:149", "chrM:150", "chrM:151"]
    assert block.records[0] == VariantRecord("chrM", 148, "TCC", ("T",))
    assert np.array_equal(block.ploidy, [2, 2, 2])
