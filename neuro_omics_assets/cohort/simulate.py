"""A seeded SYNTHETIC demo cohort over a bundled real reference contig (msprime coalescent).

NOT real subjects: samples are named ``SYN0001``..., the VCF carries the header line
``##source=neuro-omics-assets synthetic demo cohort (NOT real subjects)`` and the covariates file a
``synthetic`` column set to ``true``.

Model: two populations (``popA``, ``popB``) split from one ancestral population
``split_generations`` ago; half of the subjects are sampled from each. Mutations follow a
two-state model on the discrete genome; each segregating site becomes a biallelic SNV whose REF is
the real FASTA base there (so REF always matches the reference) and whose ALT is a different base
drawn with the seed. Sites where the FASTA has ``N`` (or another non-ACGT code) are skipped.

Outputs in ``out_dir``: ``synthetic_cohort.vcf.gz`` (bgzipped, phased, ``.tbi`` index) and
``synthetic_covariates.tsv`` with subject_id, population, site, batch, age, sex, diagnosis
(0/1, mildly more frequent in popB, for stratified folds), ancestry PC1..PC10 computed from the
simulated genotypes, and synthetic. Same arguments -> byte-identical files.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import msprime
import numpy as np
import pandas as pd
import pysam

from neuro_omics_assets.cohort.pca import fit_pca, transform
from neuro_omics_assets.errors import ConfigError
from neuro_omics_assets.genome.fasta import ReferenceGenome

log = logging.getLogger(__name__)

SYNTHETIC_SOURCE = "neuro-omics-assets synthetic demo cohort (NOT real subjects)"
POPULATIONS: tuple[str, str] = ("popA", "popB")
VCF_NAME = "synthetic_cohort.vcf.gz"
COVARIATES_NAME = "synthetic_covariates.tsv"
N_ANCESTRY_PCS = 10
MIN_SUBJECTS = 20  # ten per population, and enough subjects for ten ancestry PCs
_BASES = np.array(list("ACGT"))
_DIAGNOSIS_RATE = {"popA": 0.3, "popB": 0.5}  # a mild ancestry-diagnosis association (confounding demo)
_SITES, _BATCHES = ("s1", "s2", "s3", "s4"), ("b1", "b2", "b3")


@dataclass(frozen=True)
class SimulationModel:
    """Demography and rates: sizes in individuals of the given ploidy, rates per bp per generation."""

    derived_size: int
    ancestral_size: int
    split_generations: int
    mutation_rate: float
    recombination_rate: float


#: chrM: haploid and non-recombining. A small female effective size (1,000 per population) makes a
#: 2,000-generation split visible in the mtDNA tree; 3e-7/bp/generation (within the 1e-7..5e-7
#: range of mtDNA estimates) gives ~100-250 segregating sites over 16.5 kb for 240 subjects.
MITOCHONDRIAL = SimulationModel(1000, 2000, 2000, 3e-7, 0.0)
#: A diploid autosomal segment: human Ne ~10,000, mutation 1.25e-8, recombination ~1e-8 /bp/generation.
AUTOSOMAL = SimulationModel(10_000, 10_000, 2000, 1.25e-8, 1e-8)


@dataclass(frozen=True)
class CohortFiles:
    """The written SYNTHETIC cohort: bgzipped phased VCF, its tabix index, and the covariates TSV."""

    vcf: Path
    index: Path
    covariates: Path
    n_subjects: int
    n_variants: int


def simulate_cohort(
    out_dir: str | Path,
    fasta_path: str | Path,
    contig: str = "chrM",
    n_subjects: int = 240,
    seed: int = 42,
    ploidy: int = 1,
    model: SimulationModel | None = None,
) -> CohortFiles:
    """Simulate ``n_subjects`` SYNTHETIC subjects on ``contig`` of ``fasta_path`` and write the files.

    ``model`` defaults to ``MITOCHONDRIAL`` for ploidy 1 and ``AUTOSOMAL`` for ploidy 2.
    """
    if ploidy not in (1, 2):
        raise ConfigError(f"ploidy is {ploidy!r}; use 1 (chrM, haploid) or 2 (a diploid autosome).")
    if n_subjects < MIN_SUBJECTS:
        raise ConfigError(f"n_subjects is {n_subjects}; the demo cohort needs at least {MIN_SUBJECTS}.")
    model = model if model is not None else (MITOCHONDRIAL if ploidy == 1 else AUTOSOMAL)
    ancestry, mutations, order, alleles, covariate_draws = np.random.SeedSequence(seed).spawn(5)
    with ReferenceGenome(fasta_path) as reference:
        name = reference.resolve(contig)
        sequence = reference.fetch(name, 0, reference.contigs[name]).upper()
    haplotypes, positions, populations = _simulate(
        len(sequence), n_subjects, ploidy, model, ancestry, mutations
    )
    shuffle = np.random.default_rng(order).permutation(n_subjects)  # interleave the two populations
    haplotypes, populations = haplotypes[:, shuffle], populations[shuffle]
    refs = np.array([sequence[p] for p in positions], dtype="<U1")
    keep = np.isin(refs, _BASES) & _polymorphic(haplotypes)  # skips N and other non-ACGT reference bases
    haplotypes, positions, refs = haplotypes[keep], positions[keep], refs[keep]
    alts = _draw_alts(refs, np.random.default_rng(alleles))
    subjects = [f"SYN{i:0{max(4, len(str(n_subjects)))}d}" for i in range(1, n_subjects + 1)]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    header = _vcf_header(name, len(sequence), Path(fasta_path).name, seed, ploidy, model, subjects)
    vcf = _write_vcf(out_dir, header, name, positions, refs, alts, haplotypes)
    table = _covariates(subjects, populations, haplotypes.sum(axis=2), seed, covariate_draws)
    covariates = out_dir / COVARIATES_NAME
    table.to_csv(covariates, sep="\t", index=False, float_format="%.6f", lineterminator="\n")
    log.info("wrote SYNTHETIC cohort: %d subjects, %d variants on %s -> %s", n_subjects, len(refs), name, vcf)
    return CohortFiles(vcf, Path(f"{vcf}.tbi"), covariates, n_subjects, int(len(positions)))


def _msprime_seed(stream: np.random.SeedSequence) -> int:
    """msprime takes seeds in [1, 2**32 - 1]."""
    return int(stream.generate_state(1)[0]) % (2**32 - 2) + 1


def _simulate(
    length: int,
    n_subjects: int,
    ploidy: int,
    model: SimulationModel,
    ancestry: np.random.SeedSequence,
    mutations: np.random.SeedSequence,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(haplotypes int8 (sites, subjects, ploidy) of 0/1, positions int64 (sites,) 0-based,
    populations str (subjects,)); subjects in sampling order (popA first)."""
    demography = msprime.Demography()
    for population in POPULATIONS:
        demography.add_population(name=population, initial_size=model.derived_size)
    demography.add_population(name="ancestral", initial_size=model.ancestral_size)
    demography.add_population_split(
        time=model.split_generations, derived=list(POPULATIONS), ancestral="ancestral"
    )
    half = n_subjects // 2
    tree_sequence = msprime.sim_ancestry(
        samples={POPULATIONS[0]: half, POPULATIONS[1]: n_subjects - half},
        demography=demography,
        ploidy=ploidy,
        sequence_length=length,
        recombination_rate=model.recombination_rate,
        random_seed=_msprime_seed(ancestry),
    )
    tree_sequence = msprime.sim_mutations(
        tree_sequence,
        rate=model.mutation_rate,
        model=msprime.BinaryMutationModel(),  # state 0 = the reference base, 1 = the drawn ALT
        discrete_genome=True,
        random_seed=_msprime_seed(mutations),
    )
    column = np.empty(tree_sequence.num_nodes, dtype=np.int64)
    column[tree_sequence.samples()] = np.arange(tree_sequence.num_samples)
    genotypes = tree_sequence.genotype_matrix()  # (sites, sample nodes) allele indices
    haplotypes = genotypes[:, column[tree_sequence.individuals_nodes]].astype(np.int8)
    names = np.array(
        [tree_sequence.population(p).metadata["name"] for p in range(tree_sequence.num_populations)]
    )
    populations = names[tree_sequence.individuals_population]
    return haplotypes, tree_sequence.sites_position.astype(np.int64), populations


def _polymorphic(haplotypes: np.ndarray) -> np.ndarray:
    """bool (sites,): both alleles present among all haplotypes (recurrent mutation can undo a site)."""
    flat = haplotypes.reshape(len(haplotypes), -1)
    return flat.any(axis=1) & ~flat.all(axis=1)


def _draw_alts(refs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One ALT base per site, uniformly among the three bases that differ from REF."""
    ref_code = np.searchsorted(_BASES, refs)
    return _BASES[(ref_code + rng.integers(1, 4, size=len(refs))) % 4]


def _vcf_header(
    contig: str,
    length: int,
    fasta_name: str,
    seed: int,
    ploidy: int,
    model: SimulationModel,
    subjects: list[str],
) -> str:
    settings = ",".join(f"{k}={v}" for k, v in {"seed": seed, "ploidy": ploidy, **asdict(model)}.items())
    lines = [
        "##fileformat=VCFv4.2",
        f"##source={SYNTHETIC_SOURCE}",
        f"##neuro_omics_simulation=<{settings},populations={'|'.join(POPULATIONS)}>",
        f"##reference={fasta_name}",
        f"##contig=<ID={contig},length={length}>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Phased genotype of a SYNTHETIC subject">',
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *subjects]),
    ]
    return "\n".join(lines) + "\n"


def _write_vcf(
    out_dir: Path,
    header: str,
    contig: str,
    positions: np.ndarray,
    refs: np.ndarray,
    alts: np.ndarray,
    haplotypes: np.ndarray,
) -> Path:
    """Write the plain VCF, then bgzip and tabix-index it (pysam removes the plain file)."""
    plain = out_dir / VCF_NAME.removesuffix(".gz")
    calls = haplotypes.astype(str)
    genotypes = calls[:, :, 0]
    for h in range(1, haplotypes.shape[2]):
        genotypes = np.char.add(np.char.add(genotypes, "|"), calls[:, :, h])
    with open(plain, "w", encoding="ascii", newline="\n") as handle:
        handle.write(header)
        for i, position in enumerate(positions):
            # VCF POS is 1-based; msprime site positions are 0-based
            fixed = f"{contig}\t{position + 1}\t.\t{refs[i]}\t{alts[i]}\t.\tPASS\t.\tGT\t"
            handle.write(fixed + "\t".join(genotypes[i]) + "\n")
    return Path(pysam.tabix_index(str(plain), preset="vcf", force=True))


def _covariates(
    subjects: list[str],
    populations: np.ndarray,
    dosages: np.ndarray,
    seed: int,
    stream: np.random.SeedSequence,
) -> pd.DataFrame:
    """The covariates table; dosages int (sites, subjects) feed the ancestry PCs."""
    rng = np.random.default_rng(stream)
    n = len(subjects)
    diagnosis_rate = np.array([_DIAGNOSIS_RATE[p] for p in populations])
    table = pd.DataFrame(
        {
            "subject_id": subjects,
            "population": populations,
            "site": rng.choice(_SITES, size=n),
            "batch": rng.choice(_BATCHES, size=n),
            "age": rng.integers(20, 81, size=n),
            "sex": rng.choice(["F", "M"], size=n),
            "diagnosis": (rng.random(n) < diagnosis_rate).astype(np.int64),
        }
    )
    pcs = ancestry_pcs(dosages.T, N_ANCESTRY_PCS, seed)
    for j in range(N_ANCESTRY_PCS):
        table[f"PC{j + 1}"] = pcs[:, j]
    table["synthetic"] = "true"
    return table


def ancestry_pcs(dosages: np.ndarray, n_pcs: int = N_ANCESTRY_PCS, seed: int = 42) -> np.ndarray:
    """Ancestry PCs: float64 (subjects, n_pcs) scores of the PCA of standardized genotypes.

    dosages: int (subjects, sites) ALT allele counts (0/1 haploid, 0..2 diploid); monomorphic
    sites are left out (they have no variance to standardize).
    """
    dosages = np.asarray(dosages, dtype=np.float64)
    spread = dosages.std(axis=0)
    varying = dosages[:, spread > 0]
    if varying.shape[1] < n_pcs:
        raise ConfigError(
            f"only {varying.shape[1]} polymorphic sites for {n_pcs} ancestry PCs; simulate more "
            f"subjects or a longer contig, or raise the mutation rate."
        )
    standardized = (varying - varying.mean(axis=0)) / spread[spread > 0]
    basis = fit_pca(standardized, n_pcs, seed)
    if basis.n_components < n_pcs:
        raise ConfigError(
            f"ancestry PCA yields {basis.n_components} components ({basis.cap_reason}); need {n_pcs}."
        )
    return transform(basis, standardized)
