from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest

from neuro_omics_assets.cohort.covariates import CovariateSpec, design_matrix, read_covariates
from neuro_omics_assets.cohort.simulate import simulate_cohort
from neuro_omics_assets.cohort.simulate_brain import (
    MIN_FREQUENCY,
    PlantedEffect,
    planted_score,
    simulate_brain_features,
)
from neuro_omics_assets.errors import ConfigError
from neuro_omics_assets.genome.annotation import read_gtf

REAL = Path(__file__).resolve().parents[2] / "data" / "real" / "chrM"
CHRM, GTF = REAL / "chrM.fa", REAL / "annotation.chrMT.gtf"


@pytest.fixture(scope="module")
def brain(tmp_path_factory):
    root = tmp_path_factory.mktemp("brain")
    cohort = simulate_cohort(root, CHRM, contig="chrM", n_subjects=240, seed=42)
    return cohort, simulate_brain_features(cohort.vcf, GTF, cohort.covariates, root)


def test_tables_are_marked_synthetic_and_the_truth_is_written(brain):
    _, paths = brain
    features = pd.read_csv(paths["brain_features"], sep="\t")
    assert features.shape == (240, 1 + 64 + 1) and (features["synthetic"]).all()
    truth = json.loads(paths["truth"].read_text())
    assert truth["genes"] == list(PlantedEffect().genes) and "SYNTHETIC" in truth["note"]
    assert truth["canonical_correlation"] == pytest.approx(np.sqrt(3 / 4))


def test_score_is_a_function_of_the_planted_genes_common_haplotypes(brain):
    cohort, _ = brain
    subjects, score = planted_score(cohort.vcf, GTF, ("MT-CO1",), seed=5)
    genes = read_gtf(GTF).set_index("gene_name")
    with pysam.VariantFile(str(cohort.vcf)) as vcf:
        rows = [[r.samples[s]["GT"][0] for s in subjects] for r in vcf
                if genes.loc["MT-CO1", "start"] <= r.pos - 1 < genes.loc["MT-CO1", "end"]]
    haplotypes = pd.Series(["".join(map(str, column)) for column in np.array(rows).T])
    frequency = haplotypes.map(haplotypes.value_counts(normalize=True))
    for _, same in pd.Series(score).groupby(haplotypes):  # one value per haplotype
        assert same.nunique() == 1
    assert (score[(frequency < MIN_FREQUENCY).to_numpy()] == 0).all()  # rare haplotypes are the baseline
    assert pd.Series(score).groupby(haplotypes).first().nunique() >= 3


def test_planted_canonical_correlation_is_close_to_its_population_value(brain):
    cohort, paths = brain
    features = pd.read_csv(paths["brain_features"], sep="\t").set_index("subject_id").drop(columns="synthetic")
    subjects, score = planted_score(cohort.vcf, GTF, PlantedEffect().genes, PlantedEffect().seed)
    cov = read_covariates(cohort.covariates, CovariateSpec())
    design = design_matrix(type(cov)(cov.table.loc[subjects], cov.spec, cov.source))
    score = score - design @ np.linalg.lstsq(design, score, rcond=None)[0]
    residual = features.loc[subjects].to_numpy()
    residual = residual - design @ np.linalg.lstsq(design, residual, rcond=None)[0]
    # the best linear combination of the 64 features: R of regressing the score on them (in-sample, 64 dims)
    fitted = residual @ np.linalg.lstsq(residual, score, rcond=None)[0]
    r = np.corrcoef(fitted, score)[0, 1]
    assert 0.83 < r < 0.95  # population 0.866; the in-sample fit of 64 dims on 240 subjects adds a little


def test_unknown_gene_is_refused(brain):
    cohort, _ = brain
    with pytest.raises(ConfigError, match="planted genes \\['NOPE'\\] are not in"):
        planted_score(cohort.vcf, GTF, ("NOPE",), seed=0)
