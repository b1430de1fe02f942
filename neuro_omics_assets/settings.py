"""Where things live by default, overridable through ``NEURO_OMICS_*`` environment variables.

Defaults point at the bundled real chrM data and the offline demo model, so a fresh clone runs
``neuro-omics demo`` and ``dagster dev`` without any configuration.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ConfigError

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


def demo_caduceus_model_dir() -> Path:
    return env_path("NEURO_OMICS_DEMO_CADUCEUS_MODEL", PROJECT_ROOT / ".cache" / "demo-caduceus-ps")


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

# The cross-species pilot: human and mouse chrM and their orthologs (deployment.demo_deployment).
DEMO_DEPLOYMENT = DATA_DIR / "deployments" / "mt_pilot.toml"

# The token-analysis demo inputs: 16 real human gene regions (Ensembl GFF3) and JASPAR 2024 vertebrates.
DEMO_REGIONS_FASTA = DATA_DIR / "real" / "gene_regions" / "combined" / "regions.fa"
DEMO_REGIONS_GFF3 = DATA_DIR / "real" / "gene_regions" / "combined" / "regions.gff3"
DEMO_JASPAR = DATA_DIR / "real" / "motifs" / "JASPAR2024_CORE_vertebrates_non-redundant_pfms_transfac.txt"


def data_roots() -> tuple[Path, ...]:
    """Directories that configured paths must lie under: ``NEURO_OMICS_DATA_ROOTS`` (``os.pathsep``-separated),
    else the project directory. A run config launched from the UI therefore cannot read files elsewhere."""
    value = os.environ.get("NEURO_OMICS_DATA_ROOTS")
    roots = [Path(p).expanduser() for p in value.split(os.pathsep) if p] if value else [PROJECT_ROOT]
    return tuple(root.resolve() for root in roots)


def confined(path: str | Path, setting: str) -> Path:
    """``path`` resolved (symlinks and ``..`` included); ConfigError when it lies outside every data root."""
    resolved, roots = Path(path).expanduser().resolve(), data_roots()
    if not any(resolved.is_relative_to(root) for root in roots):
        raise ConfigError(
            f"{setting} {path} resolves to {resolved}, outside the data roots ({', '.join(map(str, roots))}); "
            f"move it under a data root or add its directory to NEURO_OMICS_DATA_ROOTS (separated by '{os.pathsep}')"
        )
    return resolved
