"""SYNTHETIC brain features and a phenotype for the demo cohort, with a planted gene–brain effect of known size.

NOT real measurements: the tables carry a ``synthetic`` column set to ``true``; the truth is written
beside them (``synthetic_brain_truth.json``).

Model, per subject i:

* every common distinct haplotype (>= 5 % of copies) of each planted gene (the alleles of the cohort VCF
  inside the gene) gets a seeded N(0, 1) effect, rarer ones 0; a subject's gene effect is the mean over its haplotype copies (as
  ``cohort.matrix`` combines them), and its latent score s_i is the sum over the planted genes;
* s is residualized on the covariate design (the recipe's covariates, as the cohort assets use them)
  and standardized, so the planted effect is the part the covariates do not explain;
* brain features b_i = s_i * a + C_i B + e_i with loadings a of squared norm ``effect``, covariate
  effects B and e_i ~ N(0, I): the population first canonical correlation between s and b is
  sqrt(effect / (1 + effect)), every later one 0;
* phenotype ``cognition`` = beta * s_i + C_i g + N(0, 1): population R² of s (beyond covariates)
  beta² / (1 + beta²).

Because a subject's gene embedding is the mean of its haplotypes' vectors, s is a linear function of
the subject matrix, so the gene–brain CCA can find it when enough gene components are kept.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pysam

from neuro_omics_assets.cohort.covariates import CovariateSpec, design_matrix, read_covariates
from neuro_omics_assets.errors import ConfigError
from neuro_omics_assets.genome.annotation import read_gtf

log = logging.getLogger(__name__)

#: a haplotype carried by fewer copies has no effect: a handful of carriers cannot be learned from anyway
MIN_FREQUENCY = 0.05
BRAIN_NAME, PHENOTYPES_NAME, TRUTH_NAME = "synthetic_brain_features.tsv", "synthetic_phenotypes.tsv", "synthetic_brain_truth.json"


@dataclass(frozen=True)
class PlantedEffect:
    """What is planted: genes, brain loadings' squared norm, phenotype slope, widths and the seed."""

    genes: tuple[str, ...] = ("MT-ND1", "MT-CO1", "MT-ND5")  # the chrM genes with the most distinct haplotypes
    effect: float = 3.0  # |a|²: first canonical correlation sqrt(3/4) = 0.866 in the population
    beta: float = 0.8  # phenotype R² from the planted score 0.64 / 1.64 = 0.39
    n_features: int = 64  # "brain-FM" dimensions
    seed: int = 42

    @property
    def canonical_correlation(self) -> float:
        return float(np.sqrt(self.effect / (1.0 + self.effect)))

    @property
    def phenotype_r2(self) -> float:
        return float(self.beta**2 / (1.0 + self.beta**2))


def simulate_brain_features(
    vcf: str | Path, gtf: str | Path, covariates: str | Path, out_dir: str | Path,
    planted: PlantedEffect | None = None,
) -> dict[str, Path]:
    """Write the SYNTHETIC brain features, phenotype and truth for the cohort of ``vcf``; return their paths."""
    planted = planted if planted is not None else PlantedEffect()
    subjects, score = planted_score(vcf, gtf, planted.genes, planted.seed)
    cov = read_covariates(covariates, CovariateSpec())
    missing = [s for s in subjects if s not in cov.table.index]
    if missing:
        raise ConfigError(f"{len(missing)} VCF samples have no covariates in {covariates} ({missing[:5]}); "
                          f"simulate the brain features for the cohort the covariates describe.")
    design = design_matrix(type(cov)(cov.table.loc[subjects], cov.spec, cov.source))
    score = score - design @ np.linalg.lstsq(design, score, rcond=None)[0]
    score /= score.std()
    rng = np.random.default_rng(np.random.SeedSequence(planted.seed).spawn(2)[1])
    loadings = rng.normal(size=planted.n_features)
    loadings *= np.sqrt(planted.effect) / np.linalg.norm(loadings)
    covariate_effects = rng.normal(scale=0.3, size=(design.shape[1], planted.n_features))
    brain = score[:, None] * loadings + design @ covariate_effects + rng.normal(size=(len(subjects), planted.n_features))
    cognition = planted.beta * score + design @ rng.normal(scale=0.3, size=design.shape[1]) + rng.normal(size=len(subjects))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"brain_features": out / BRAIN_NAME, "phenotypes": out / PHENOTYPES_NAME, "truth": out / TRUTH_NAME}
    width = len(str(planted.n_features - 1))
    frame = pd.DataFrame(brain, columns=[f"bfm_{j:0{width}d}" for j in range(planted.n_features)])
    frame.insert(0, "subject_id", subjects)
    frame.assign(synthetic="true").to_csv(paths["brain_features"], sep="\t", index=False, float_format="%.6f")
    pd.DataFrame({"subject_id": subjects, "cognition": cognition, "synthetic": "true"}).to_csv(
        paths["phenotypes"], sep="\t", index=False, float_format="%.6f")
    truth = {**asdict(planted), "canonical_correlation": planted.canonical_correlation,
             "phenotype_r2": planted.phenotype_r2, "note": "SYNTHETIC (NOT real subjects)"}
    paths["truth"].write_text(json.dumps(truth, indent=2) + "\n")
    log.info("wrote SYNTHETIC brain features (%d subjects x %d) to %s", len(subjects), planted.n_features, out)
    return paths


def planted_score(vcf: str | Path, gtf: str | Path, genes: Sequence[str], seed: int) -> tuple[list[str], np.ndarray]:
    """(VCF samples, float64 (n,) sum over ``genes`` of each subject's mean haplotype effect)."""
    table = read_gtf(gtf)
    unknown = [g for g in genes if g not in set(table["gene_name"])]
    if unknown:
        raise ConfigError(f"planted genes {unknown} are not in {gtf}; pick gene names of that annotation.")
    with pysam.VariantFile(str(vcf)) as handle:
        samples = list(handle.header.samples)
        records = [(r.pos - 1, [r.samples[s]["GT"] for s in samples]) for r in handle]  # VCF POS is 1-based
    positions = np.array([p for p, _ in records], dtype=np.int64)
    calls = np.array([c for _, c in records], dtype=np.int8)  # (sites, subjects, ploidy)
    rng = np.random.default_rng(seed)
    score = np.zeros(len(samples))
    for gene in genes:
        row = table[table["gene_name"] == gene].iloc[0]
        inside = calls[(positions >= row["start"]) & (positions < row["end"])]  # (sites in gene, subjects, ploidy)
        keys = ["".join(map(str, inside[:, i, c])) for i in range(len(samples)) for c in range(inside.shape[2])]
        distinct, counts = np.unique(keys, return_counts=True)
        # rare haplotypes (below MIN_FREQUENCY of the copies) are the baseline: 0, like the reference
        draws = np.where(counts >= MIN_FREQUENCY * len(keys), rng.normal(size=len(distinct)), 0.0)
        effects = dict(zip(distinct.tolist(), draws, strict=True))
        score += np.array([effects[k] for k in keys]).reshape(len(samples), -1).mean(axis=1)
    return samples, score
