from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest

from neuro_omics_assets.cohort.covariates import align, design_matrix, read_covariates
from neuro_omics_assets.cohort.simulate import SYNTHETIC_SOURCE, SimulationModel, simulate_cohort
from neuro_omics_assets.errors import ConfigError, ContigNotFoundError

REAL = Path(__file__).resolve().parents[2] / "data" / "real"
CHRM = REAL / "chrM" / "chrM.fa"
CHR22 = REAL / "chr22" / "hg38_chr22_32000000_32300000.fa"


def fasta_sequence(path: Path) -> str:
    """The sequence of a single-record plain FASTA, read without pysam/pyfaidx."""
    return "".join(path.read_text().splitlines()[1:])


def read_vcf(path: Path) -> tuple[pysam.VariantHeader, list[pysam.VariantRecord]]:
    with pysam.VariantFile(str(path)) as vcf:
        return vcf.header.copy(), list(vcf)


def haploid_genotypes(records: list[pysam.VariantRecord]) -> np.ndarray:
    """int (sites, subjects) ALT counts of haploid records."""
    return np.array([[sample["GT"][0] for sample in record.samples.values()] for record in records])


@pytest.fixture(scope="module")
def chrm_cohort(tmp_path_factory):
    return simulate_cohort(tmp_path_factory.mktemp("chrM"), CHRM, contig="chrM", n_subjects=240, seed=42)


def test_vcf_is_indexed_synthetic_and_names_its_subjects(chrm_cohort):
    assert chrm_cohort.vcf.name == "synthetic_cohort.vcf.gz"
    assert chrm_cohort.index.is_file()
    header, records = read_vcf(chrm_cohort.vcf)
    assert f"##source={SYNTHETIC_SOURCE}" in str(header)
    assert "NOT real subjects" in str(header)
    assert list(header.samples) == [f"SYN{i:04d}" for i in range(1, 241)]
    assert header.contigs["chrM"].length == 16569
    assert chrm_cohort.n_variants == len(records)
    assert 50 <= len(records) <= 300
    with pysam.VariantFile(str(chrm_cohort.vcf)) as vcf:  # region queries go through the index
        assert len(list(vcf.fetch("chrM", 0, 8000))) == sum(r.pos <= 8000 for r in records)


def test_ref_matches_the_fasta_at_every_record(chrm_cohort):
    sequence = fasta_sequence(CHRM).upper()
    _, records = read_vcf(chrm_cohort.vcf)
    assert [r.ref for r in records] == [sequence[r.pos - 1] for r in records]  # POS is 1-based
    assert all(len(r.alts) == 1 and r.alts[0] in "ACGT" and r.alts[0] != r.ref for r in records)
    positions = [r.pos for r in records]
    assert positions == sorted(set(positions))


def test_haploid_genotypes_are_biallelic_and_polymorphic_with_many_singletons(chrm_cohort):
    _, records = read_vcf(chrm_cohort.vcf)
    assert all(len(s["GT"]) == 1 for r in records for s in r.samples.values())
    genotypes = haploid_genotypes(records)
    assert set(np.unique(genotypes)) == {0, 1}
    alt_counts = genotypes.sum(axis=1)
    assert ((alt_counts > 0) & (alt_counts < 240)).all()
    minor = np.minimum(alt_counts, 240 - alt_counts)
    # a neutral site frequency spectrum: singletons are the most common class
    assert np.bincount(minor).argmax() == 1


def test_allele_frequencies_differ_between_the_populations(chrm_cohort):
    _, records = read_vcf(chrm_cohort.vcf)
    covariates = pd.read_csv(chrm_cohort.covariates, sep="\t")
    genotypes = haploid_genotypes(records)
    in_b = (covariates["population"] == "popB").to_numpy()
    p_a, p_b = genotypes[:, ~in_b].mean(axis=1), genotypes[:, in_b].mean(axis=1)
    p = (p_a + p_b) / 2
    fst = ((p_a - p_b) ** 2).sum() / (4 * (p * (1 - p)).sum())  # ratio of averages, Hudson-like
    assert fst > 0.05


def test_ancestry_pcs_separate_the_populations(chrm_cohort):
    covariates = pd.read_csv(chrm_cohort.covariates, sep="\t")
    population = (covariates["population"] == "popB").to_numpy(dtype=float)
    pcs = covariates[[f"PC{i}" for i in range(1, 11)]].to_numpy()
    assert abs(np.corrcoef(pcs[:, 0], population)[0, 1]) > 0.5
    design = np.column_stack([np.ones(len(pcs)), pcs])
    fitted = design @ np.linalg.lstsq(design, population, rcond=None)[0]
    r_squared = 1 - ((population - fitted) ** 2).sum() / ((population - population.mean()) ** 2).sum()
    assert r_squared > 0.8


def test_covariates_are_marked_synthetic_and_feed_the_covariate_reader(chrm_cohort):
    table = pd.read_csv(chrm_cohort.covariates, sep="\t")
    assert list(table.columns[:7]) == ["subject_id", "population", "site", "batch", "age", "sex", "diagnosis"]
    assert (table["synthetic"] == True).all()  # noqa: E712 - pandas reads "true" as a boolean
    assert table["population"].value_counts().to_dict() == {"popA": 120, "popB": 120}
    assert table["age"].between(20, 80).all()
    assert set(table["sex"]) == {"F", "M"} and set(table["batch"]) == {"b1", "b2", "b3"}
    assert set(table["site"]) == {"s1", "s2", "s3", "s4"} and set(table["diagnosis"]) == {0, 1}
    rates = table.groupby("population")["diagnosis"].mean()
    assert rates["popB"] > rates["popA"]
    header, _ = read_vcf(chrm_cohort.vcf)
    aligned, report = align(read_covariates(chrm_cohort.covariates), list(header.samples))
    assert report.missing_covariates == () and report.not_genotyped == ()
    assert design_matrix(aligned).shape == (240, 1 + 1 + 1 + 10 + 2)  # intercept, age, sex, PCs, batch


def test_same_seed_gives_identical_files_and_another_seed_does_not(chrm_cohort, tmp_path):
    again = simulate_cohort(tmp_path / "again", CHRM, seed=42)
    for name in ("vcf", "index", "covariates"):
        assert getattr(again, name).read_bytes() == getattr(chrm_cohort, name).read_bytes()
    other = simulate_cohort(tmp_path / "other", CHRM, seed=7)
    assert other.vcf.read_bytes() != chrm_cohort.vcf.read_bytes()


def test_diploid_cohort_is_phased_and_matches_the_reference(tmp_path):
    files = simulate_cohort(tmp_path, CHR22, contig="chr22", n_subjects=30, seed=1, ploidy=2)
    header, records = read_vcf(files.vcf)
    assert len(header.samples) == 30 and len(records) > 100
    sequence = fasta_sequence(CHR22).upper()
    assert all(r.ref == sequence[r.pos - 1] for r in records)
    calls = [s for r in records for s in r.samples.values()]
    assert all(s.phased and len(s["GT"]) == 2 for s in calls)
    with pysam.BGZFile(str(files.vcf)) as handle:
        first = next(line for line in handle.read().decode().splitlines() if not line.startswith("#"))
    assert set(first.split("\t")[9:]) <= {"0|0", "0|1", "1|0", "1|1"}


def test_positions_where_the_fasta_has_n_are_skipped(tmp_path):
    rng = np.random.default_rng(0)
    bases = rng.choice(list("ACGT"), size=5000)
    bases[1000:3000] = "N"
    fasta = tmp_path / "toy.fa"
    fasta.write_text(">toy\n" + "\n".join("".join(bases[i : i + 60]) for i in range(0, 5000, 60)) + "\n")
    dense = SimulationModel(1000, 2000, 2000, 3e-6, 0.0)  # ~10x the chrM rate: many sites on 5 kb
    files = simulate_cohort(tmp_path / "out", fasta, contig="toy", n_subjects=40, model=dense)
    _, records = read_vcf(files.vcf)
    positions = np.array([r.pos - 1 for r in records])
    assert len(positions) > 20
    assert not ((positions >= 1000) & (positions < 3000)).any()
    assert all(r.ref == bases[r.pos - 1] for r in records)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"ploidy": 3}, ConfigError, "ploidy is 3"),
        ({"n_subjects": 5}, ConfigError, "at least 20"),
        ({"contig": "chr17"}, ContigNotFoundError, "chr17"),
    ],
)
def test_bad_simulation_settings_raise(tmp_path, kwargs, error, message):
    with pytest.raises(error, match=message):
        simulate_cohort(tmp_path, CHRM, **kwargs)
