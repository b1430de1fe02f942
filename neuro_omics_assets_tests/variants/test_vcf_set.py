"""variants/vcf_set.py: one VCF per chromosome read as one cohort; settings, routing, errors, identity."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from neuro_omics_assets.errors import ConfigError, InputFileError, MissingContigError, VariantError
from neuro_omics_assets.genome.fasta import ReferenceGenome
from neuro_omics_assets.genome.regions import RegionSpec
from neuro_omics_assets.variants.haplotypes import personal_sequences
from neuro_omics_assets.variants.vcf_set import VcfSet, vcf_paths, vcf_set_identity, vcf_set_sha256
from neuro_omics_assets_tests.variants.vcfdata import TOY, gene, revcomp, write_fasta, write_vcf

BODY = RegionSpec("gene_body")
CHR2, CHR3 = "ACGT" * 10, "GGCCAATT" * 5
# G1 [5, 17) '+' on chr1 = AAGCTTGCATGC; G2 [4, 20) '-' on chr2; G3 [0, 16) '+' on chr3.
G1, G2, G3 = gene("G1", [(5, 17)]), gene("G2", [(4, 20)], "-", contig="chr2"), gene("G3", [(0, 16)], contig="chr3")
CHR1_RECORDS = [("chr1", 7, "A", "C", "PASS", "0|1", "0|0")]  # 0-based 6: S1's second haplotype
CHR2_RECORDS = [("chr2", 9, "A", "T", "PASS", "0|0", "1|1")]  # 0-based 8: both haplotypes of S2


@pytest.fixture
def genome(tmp_path: Path) -> ReferenceGenome:
    with ReferenceGenome(write_fasta(tmp_path / "toy.fa", {"chr1": TOY, "chr2": CHR2, "chr3": CHR3})) as genome:
        yield genome


@pytest.fixture
def per_chromosome(tmp_path: Path) -> list[Path]:
    """chr1 and chr2 in one bgzipped, tabix-indexed VCF each, samples S1 and S2."""
    (tmp_path / "vcf").mkdir()
    return [write_vcf(tmp_path / "vcf" / "chr1.vcf.gz", ["S1", "S2"], CHR1_RECORDS, contigs=["chr1"]),
            write_vcf(tmp_path / "vcf" / "chr2.vcf.gz", ["S1", "S2"], CHR2_RECORDS, contigs=["chr2"])]


def sequences(result, gene_id: str) -> dict[tuple[str, int], str]:
    """(subject, haplotype) -> sequence of one gene."""
    rows = result.assignments[result.assignments["gene_id"] == gene_id]
    return {(r.subject_id, r.haplotype): result.unique[r.sha256] for r in rows.itertuples()}


def test_a_per_chromosome_set_gives_personal_sequences_on_both_contigs(
    genome: ReferenceGenome, per_chromosome: list[Path], tmp_path: Path
) -> None:
    result = personal_sequences(genome, pd.DataFrame([G1, G2]), BODY, per_chromosome)
    g1, g2_ref = "AAGCTTGCATGC", CHR2[4:20]
    g2_alt = revcomp(CHR2[4:8] + "T" + CHR2[9:20])
    assert sequences(result, "G1") == {("S1", 0): g1, ("S1", 1): "AC" + g1[2:], ("S2", 0): g1, ("S2", 1): g1}
    assert sequences(result, "G2") == {("S1", 0): revcomp(g2_ref), ("S1", 1): revcomp(g2_ref),
                                       ("S2", 0): g2_alt, ("S2", 1): g2_alt}
    assert not result.assignments["reference_only"].any() and result.reference_only == []
    assert result.gene_counts["n_records"].tolist() == [1, 1]
    # The same calls in one whole-genome file give the same table.
    merged = write_vcf(tmp_path / "all.vcf.gz", ["S1", "S2"], CHR1_RECORDS + CHR2_RECORDS, contigs=["chr1", "chr2"])
    pd.testing.assert_frame_equal(personal_sequences(genome, pd.DataFrame([G1, G2]), BODY, merged).assignments,
                                  result.assignments)


def test_a_gene_on_a_contig_no_vcf_covers_is_an_error_naming_it(
    genome: ReferenceGenome, per_chromosome: list[Path]
) -> None:
    with pytest.raises(MissingContigError, match=r"no VCF covers the contig of 1 selected genes: G3_NAME \(G3\) "
                                                 r"\(chr3\)\. The VCFs cover chr1, chr2 \(files: chr1.vcf.gz, "
                                                 r"chr2.vcf.gz\)\. .*missing_contig='reference'"):
        personal_sequences(genome, pd.DataFrame([G1, G3, G2]), BODY, per_chromosome)
    with VcfSet(per_chromosome, genome) as vcfs, pytest.raises(MissingContigError, match=r"region on chr3 \(chr3\)"):
        vcfs.fetch("chr3", [(0, 4)])


def test_with_the_reference_policy_such_genes_keep_the_reference_and_are_flagged(
    genome: ReferenceGenome, per_chromosome: list[Path]
) -> None:
    genes = pd.DataFrame([G1, G3, G2])
    result = personal_sequences(genome, genes, BODY, per_chromosome, missing_contig="reference")
    assert sequences(result, "G3") == {(s, h): CHR3[:16] for s in ("S1", "S2") for h in (0, 1)}
    flagged = result.assignments.groupby("gene_id")["reference_only"].agg(["all", "any"])
    assert flagged.to_dict("index") == {"G1": {"all": False, "any": False}, "G2": {"all": False, "any": False},
                                        "G3": {"all": True, "any": True}}
    assert result.reference_only == ["G3"] and result.gene_counts["reference_only"].tolist() == [False, True, False]
    strict = personal_sequences(genome, pd.DataFrame([G1, G2]), BODY, per_chromosome)
    assert sequences(strict, "G1") == sequences(result, "G1")  # covered genes are unaffected by the policy


def test_glob_comma_list_and_list_forms_name_the_same_files(per_chromosome: list[Path], tmp_path: Path) -> None:
    chr1, chr2 = per_chromosome
    assert vcf_paths(str(tmp_path / "vcf" / "chr*.vcf.gz")) == (chr1, chr2)
    assert vcf_paths(str(tmp_path / "vcf" / "chr*.gz*")) == (chr1, chr2)  # the .tbi files are skipped
    assert vcf_paths(f"{chr2}, {chr1}") == (chr2, chr1)  # a list keeps its order
    assert vcf_paths([chr1, str(chr2)]) == vcf_paths(str(chr1) + "," + str(chr2)) == (chr1, chr2)
    assert vcf_paths(str(chr1)) == (chr1,)
    with pytest.raises(InputFileError, match=r"VCF glob .*chrX\*.vcf.gz' matches no file"):
        vcf_paths(str(tmp_path / "vcf" / "chrX*.vcf.gz"))
    with pytest.raises(ConfigError, match=r"more than once"):
        vcf_paths(f"{chr1},{tmp_path / 'vcf' / 'chr*.vcf.gz'}")
    with pytest.raises(ConfigError, match=r"names no file"):
        vcf_paths(" , ")


def test_glob_and_comma_settings_give_the_same_personal_sequences(
    genome: ReferenceGenome, per_chromosome: list[Path], tmp_path: Path
) -> None:
    genes = pd.DataFrame([G1, G2])
    by_glob = personal_sequences(genome, genes, BODY, str(tmp_path / "vcf" / "chr?.vcf.gz"))
    by_comma = personal_sequences(genome, genes, BODY, ",".join(map(str, per_chromosome)))
    pd.testing.assert_frame_equal(by_glob.assignments, by_comma.assignments)
    assert sequences(by_glob, "G2")[("S2", 0)] == revcomp(CHR2[4:8] + "T" + CHR2[9:20])


@pytest.mark.parametrize("other, problem", [
    (["S2", "S1"], r"the same samples in another order"),  # same names, other order
    (["S1", "S3"], r"1 samples only in the first \(\['S2'\]\), 1 only in this one \(\['S3'\]\)"),
])
def test_files_with_other_samples_are_refused(
    genome: ReferenceGenome, per_chromosome: list[Path], tmp_path: Path, other: list[str], problem: str
) -> None:
    chr2 = write_vcf(tmp_path / "other.vcf.gz", other, CHR2_RECORDS, contigs=["chr2"])
    with pytest.raises(VariantError, match=rf"other.vcf.gz and .*chr1.vcf.gz name different samples: {problem}"):
        VcfSet([per_chromosome[0], chr2], genome)


def test_a_contig_with_records_in_two_files_is_refused(
    genome: ReferenceGenome, per_chromosome: list[Path], tmp_path: Path
) -> None:
    merged = write_vcf(tmp_path / "all.vcf.gz", ["S1", "S2"], CHR1_RECORDS + CHR2_RECORDS, contigs=["chr1", "chr2"])
    with pytest.raises(VariantError, match=r"2 contigs have records in more than one VCF, e.g. chr1 in "
                                           r".*chr1.vcf.gz, .*all.vcf.gz"):
        VcfSet([*per_chromosome, merged], genome)


def test_contigs_are_routed_by_records_then_by_a_single_declaring_header(genome: ReferenceGenome, tmp_path: Path) -> None:
    every = ["chr1", "chr2", "chr3"]  # 1000 Genomes style: every file's header declares every contig
    files = [write_vcf(tmp_path / "a.vcf.gz", ["S1", "S2"], CHR1_RECORDS, contigs=every),
             write_vcf(tmp_path / "b.vcf.gz", ["S1", "S2"], CHR2_RECORDS, contigs=every)]
    with VcfSet(files, genome, missing_contig="reference") as vcfs:
        assert [vcfs.reader(c).path.name for c in ("chr1", "chr2")] == ["a.vcf.gz", "b.vcf.gz"]
        assert vcfs.reader("chr3") is None and vcfs.covered == ("chr1", "chr2")  # declared twice, no records
        assert vcfs.uncovered({"x": "chr1", "y": "chr3"}) == ["y"]
    # A single file declaring chr3 without records covers it: no variants there, not reference_only.
    single = write_vcf(tmp_path / "one.vcf.gz", ["S1", "S2"], CHR1_RECORDS, contigs=every)
    result = personal_sequences(genome, pd.DataFrame([G3]), BODY, single)
    assert result.reference_only == [] and set(sequences(result, "G3").values()) == {CHR3[:16]}


def test_identity_names_files_and_index_checksums_and_changes_when_a_file_is_replaced(
    per_chromosome: list[Path], tmp_path: Path
) -> None:
    chr1, chr2 = per_chromosome
    identity = vcf_set_identity([chr2, chr1])
    assert [(row["file"], row["bytes"]) for row in identity] == [(p.name, p.stat().st_size) for p in (chr1, chr2)]
    assert all(len(row["index_sha256"]) == 64 for row in identity)
    moved = tmp_path / "moved"
    moved.mkdir()
    for path in per_chromosome:
        shutil.copy(path, moved / path.name)
        shutil.copy(f"{path}.tbi", moved / f"{path.name}.tbi")
    copies = [moved / "chr1.vcf.gz", moved / "chr2.vcf.gz"]
    assert vcf_set_sha256(vcf_set_identity(copies)) == vcf_set_sha256(identity)  # names, not directories
    write_vcf(chr2, ["S1", "S2"], [*CHR2_RECORDS, ("chr2", 30, "G", "A", "PASS", "0|1", "0|0")], contigs=["chr2"])
    replaced = vcf_set_identity(per_chromosome)
    assert replaced[0] == identity[0] and replaced[1]["index_sha256"] != identity[1]["index_sha256"]
    assert vcf_set_sha256(replaced) != vcf_set_sha256(identity)
    (moved / "chr1.vcf.gz.tbi").unlink()
    with pytest.raises(InputFileError, match=r"chr1.vcf.gz has no .tbi/.csi index"):
        vcf_set_identity([moved / "chr1.vcf.gz"])
