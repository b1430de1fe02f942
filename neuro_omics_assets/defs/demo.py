"""``neuro-omics demo``: the whole pipeline on bundled real data, through Dagster, into a persistent instance.

The genome and annotation are real (hg38 chrM); the cohort is SYNTHETIC (simulated once, seeded).
Runs land in the project's DAGSTER_HOME, so ``make ui`` shows them afterwards.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..errors import ConfigError
from ..settings import (
    DEMO_FASTA,
    DEMO_GTF,
    demo_caduceus_model_dir,
    demo_cohort_covariates,
    demo_cohort_dir,
    demo_cohort_vcf,
    demo_model_dir,
    warehouse_root,
)
from .instance import prepare_dagster_home

log = logging.getLogger(__name__)


def ensure_demo_model() -> Path:
    """The offline demo model directory, written once (seeded, deterministic) when absent."""
    from ..models.dnabert2 import write_demo_model

    model_dir = demo_model_dir()
    if not (model_dir / "config.json").exists():
        log.info("writing the offline demo model to %s", model_dir)
        write_demo_model(model_dir)
    return model_dir


def ensure_demo_caduceus_model() -> Path:
    """The offline Caduceus-PS demo model directory (seeded, deterministic), written once when absent."""
    from ..models.caduceus import write_demo_model

    model_dir = demo_caduceus_model_dir()
    if not (model_dir / "config.json").exists():
        log.info("writing the offline Caduceus-PS demo model to %s", model_dir)
        write_demo_model(model_dir, rcps=True)
    return model_dir


def ensure_demo_cohort() -> Path:
    """The SYNTHETIC demo cohort (240 haploid chrM subjects, seed 42), simulated once when absent."""
    if not (demo_cohort_vcf().exists() and demo_cohort_covariates().exists()):
        try:
            from ..cohort.simulate import simulate_cohort
        except ModuleNotFoundError as exc:
            raise ConfigError(
                f"the demo cohort is simulated with msprime ({exc}); install the cohort extra "
                "(pip install -e '.[cohort]', as `make demo` does) or set NEURO_OMICS_VCF and NEURO_OMICS_COVARIATES."
            ) from exc
        log.info("simulating the SYNTHETIC demo cohort into %s", demo_cohort_dir())
        simulate_cohort(demo_cohort_dir(), DEMO_FASTA, contig="chrM", n_subjects=240, seed=42, ploidy=1)
    return demo_cohort_dir()


#: The demo's evaluation widths: its 240 subjects (192 per training fold) keep CCA well-posed with 20 gene
#: and 8 brain components; permutations stay at the default 1,000 (the whole evaluation job takes seconds).
DEMO_GENE_COMPONENTS, DEMO_BRAIN_COMPONENTS = 20, 8


def evaluation_run_config(encoders: list[str], n_gene_components: int = DEMO_GENE_COMPONENTS) -> dict:
    """The demo's run config of ``evaluation_job`` for the ``encoders`` (op names: ``<encoder>__<asset>``)."""
    genes = {"config": {"n_gene_components": n_gene_components}}
    per_encoder = {f"{name}__{asset}": genes for name in encoders for asset in ("gene_brain_cca", "phenotype_prediction")}
    return {"ops": {"brain_features": {"config": {"brain_components": DEMO_BRAIN_COMPONENTS}}, **per_encoder}}


def _run_config(job_name: str, encoders: list[str]) -> dict | None:
    """Only evaluation_job has a demo run config; its gene width fits the components the folds store."""
    if job_name != "evaluation_job":
        return None
    return evaluation_run_config(encoders, min(DEMO_GENE_COMPONENTS, _stored_gene_components(encoders)))


def _stored_gene_components(encoders: list[str]) -> int:
    """The fewest residualized components any fold of any encoder holds (a short gene list can leave fewer than 20)."""
    from ..warehouse import UNPARTITIONED, Catalog

    catalog = Catalog(warehouse_root())
    return min(int(min(catalog.read_partition(f"{name}.pca_basis", UNPARTITIONED)["n_components"].to_pylist()))
               for name in encoders)


def ensure_demo_brain_features() -> Path:
    """SYNTHETIC brain features and phenotype of the demo cohort (planted effect), written once when absent."""
    from ..cohort.simulate_brain import BRAIN_NAME, PHENOTYPES_NAME, simulate_brain_features

    cohort = demo_cohort_dir()
    if not ((cohort / BRAIN_NAME).exists() and (cohort / PHENOTYPES_NAME).exists()):
        log.info("simulating SYNTHETIC brain features into %s", cohort)
        simulate_brain_features(demo_cohort_vcf(), DEMO_GTF, demo_cohort_covariates(), cohort)
    return cohort


def run_demo() -> Path:
    """Materialize every job of the code location in order; return the DuckDB catalog path."""
    import dagster as dg

    prepare_dagster_home()
    if not os.environ.get("NEURO_OMICS_MODEL_DIR") and not os.environ.get("NEURO_OMICS_DEPLOYMENT"):
        # both demo encoders, so the demo shows every asset per encoder and their comparison
        os.environ["NEURO_OMICS_MODEL_DIR"] = str(ensure_demo_model())
        os.environ.setdefault("NEURO_OMICS_CADUCEUS_MODEL_DIR", str(ensure_demo_caduceus_model()))
    own_cohort = bool(os.environ.get("NEURO_OMICS_VCF") and os.environ.get("NEURO_OMICS_COVARIATES"))
    if not own_cohort:
        ensure_demo_cohort()
    if not os.environ.get("NEURO_OMICS_BRAIN_FEATURES") and not own_cohort:
        ensure_demo_brain_features()
    from . import build_definitions
    from .encoders import encoder_names
    from .jobs import PIPELINE_JOBS, partition_range_tags

    defs = build_definitions()
    encoders = [enc.name for enc in encoder_names()]
    with dg.DagsterInstance.get() as instance:
        for name in PIPELINE_JOBS:
            if name == "evaluation_job" and own_cohort and not os.environ.get("NEURO_OMICS_BRAIN_FEATURES"):
                log.info("skipping evaluation_job: your cohort has no NEURO_OMICS_BRAIN_FEATURES")
                continue
            if name not in {job.name for job in defs.jobs}:  # the cross-species jobs exist only with orthologs
                continue
            job_def = defs.resolve_job_def(name)
            partitions = job_def.partitions_def.get_partition_keys() if job_def.partitions_def else None
            tags = partition_range_tags(partitions[0], partitions[-1]) if partitions else None
            log.info("running %s (encoders: %s)", name, ", ".join(encoders))
            job_def.execute_in_process(instance=instance, tags=tags, run_config=_run_config(name, encoders))
    return warehouse_root() / "neuro_omics.duckdb"
