"""Where things live by default, overridable through ``NEURO_OMICS_*`` environment variables.

Defaults point at the bundled real chrM data and the offline demo model, so a fresh clone runs
``neuro-omics demo`` and ``dagster dev`` without any configuration.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = PROJECT_ROOT / "data"


def env_path(name: str, default: Path) -> Path:
    """``$name`` as a path, else ``default``."""
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


def dagster_home() -> Path:
    return env_path("DAGSTER_HOME", PROJECT_ROOT / ".dagster_home")


def warehouse_root() -> Path:
    return env_path("NEURO_OMICS_WAREHOUSE", PROJECT_ROOT / "warehouse")


def demo_model_dir() -> Path:
    return env_path("NEURO_OMICS_DEMO_MODEL", PROJECT_ROOT / ".cache" / "demo-model")


def embedding_cache_dir() -> Path:
    return env_path("NEURO_OMICS_CACHE_DIR", warehouse_root() / "embedding_cache")


def demo_cohort_dir() -> Path:
    """Where ``neuro-omics demo`` writes the SYNTHETIC cohort (VCF and covariates) once."""
    return env_path("NEURO_OMICS_DEMO_COHORT", PROJECT_ROOT / ".cache" / "demo-cohort")


def demo_cohort_vcf() -> Path:
    return demo_cohort_dir() / "synthetic_cohort.vcf.gz"  # cohort.simulate.VCF_NAME


def demo_cohort_covariates() -> Path:
    return demo_cohort_dir() / "synthetic_covariates.tsv"  # cohort.simulate.COVARIATES_NAME


# The demo inputs: real hg38 chrM (FASTA named chrM, Ensembl GTF naming it MT — aliases bridge them).
DEMO_FASTA = DATA_DIR / "real" / "chrM" / "chrM.fa"
DEMO_GTF = DATA_DIR / "real" / "chrM" / "annotation.chrMT.gtf"
