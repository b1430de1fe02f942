"""Dagster layer: wires the domain packages into assets, checks, jobs and resources (wiring only)."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from .. import settings
from ..errors import ConfigError

_FLAGS = {"true": True, "1": True, "false": False, "0": False}


def _setting(name: str, default: Path | str | None) -> str | dg.EnvVar | None:
    """``dg.EnvVar(name)`` when the variable is set (shown as such in the UI), else the default."""
    if os.environ.get(name):
        return dg.EnvVar(name)
    return None if default is None else str(default)


def _list_setting(name: str) -> list[str] | None:
    """A comma-separated ``NEURO_OMICS_*`` variable as a list, None when unset."""
    value = os.environ.get(name)
    return [item.strip() for item in value.split(",") if item.strip()] if value else None


def _flag_setting(name: str) -> bool | None:
    """A true/false ``NEURO_OMICS_*`` variable, None when unset."""
    value = os.environ.get(name, "").lower()
    if value and value not in _FLAGS:
        raise ConfigError(f"{name}={os.environ[name]!r} is not a flag; set it to true or false (or unset it).")
    return _FLAGS.get(value)


def _cohort_resource() -> dg.ConfigurableResource:
    """The cohort inputs; defaults: the SYNTHETIC chrM cohort that ``neuro-omics demo`` writes."""
    from .resources import CohortInputsResource

    optional = {
        key: value
        for key, value in {
            "mode": os.environ.get("NEURO_OMICS_VARIANT_MODE"),
            "samples": _list_setting("NEURO_OMICS_SAMPLES"),
            "pass_only": _flag_setting("NEURO_OMICS_PASS_ONLY"),
            "missing_contig": os.environ.get("NEURO_OMICS_VCF_MISSING_CONTIG"),
            "subject_column": os.environ.get("NEURO_OMICS_SUBJECT_COLUMN"),
            "covariate_columns": _list_setting("NEURO_OMICS_COVARIATE_COLUMNS"),
            "categorical_columns": _list_setting("NEURO_OMICS_CATEGORICAL_COVARIATES"),
            "missing": os.environ.get("NEURO_OMICS_COVARIATE_MISSING"),
            "label_column": os.environ.get("NEURO_OMICS_LABEL_COLUMN"),
            "group_column": os.environ.get("NEURO_OMICS_GROUP_COLUMN"),
        }.items()
        if value is not None
    }
    return CohortInputsResource(
        vcf=_setting("NEURO_OMICS_VCF", settings.demo_cohort_vcf()),
        covariates=_setting("NEURO_OMICS_COVARIATES", settings.demo_cohort_covariates()),
        **optional,
    )


def _tokens_resource(encoders: dict[str, dict[str, object]]) -> dg.ConfigurableResource:
    """The token analyses' inputs; defaults: the 16 bundled real gene regions (GFF3), JASPAR 2024 and the
    ``dnabert2`` encoder's model directory."""
    from .resources import TokenInputsResource

    genes = _list_setting("NEURO_OMICS_TOKENS_GENES")
    dnabert2 = encoders.get("dnabert2", {}).get("model_dir", str(settings.demo_model_dir()))
    return TokenInputsResource(
        model_dir=dg.EnvVar("NEURO_OMICS_TOKENS_MODEL_DIR") if os.environ.get("NEURO_OMICS_TOKENS_MODEL_DIR") else dnabert2,
        fasta=_setting("NEURO_OMICS_TOKENS_FASTA", settings.DEMO_REGIONS_FASTA),
        annotation=_setting("NEURO_OMICS_TOKENS_ANNOTATION", settings.DEMO_REGIONS_GFF3),
        jaspar=_setting("NEURO_OMICS_TOKENS_JASPAR", settings.DEMO_JASPAR),
        **({"genes": genes} if genes else {}),
    )


def _evaluation_resource() -> dg.ConfigurableResource:
    """Brain features and phenotypes; defaults: the SYNTHETIC tables that ``neuro-omics demo`` writes."""
    from .evaluation_resources import EvaluationInputsResource

    demo = settings.demo_cohort_dir()
    explicit = os.environ.get("NEURO_OMICS_BRAIN_FEATURES")
    optional = {
        key: value
        for key, value in {
            "phenotype_columns": _list_setting("NEURO_OMICS_PHENOTYPE_COLUMNS"),
            "subject_column": os.environ.get("NEURO_OMICS_EVALUATION_SUBJECT_COLUMN"),
            "missing": os.environ.get("NEURO_OMICS_EVALUATION_MISSING"),
        }.items()
        if value is not None
    }
    if not explicit and "phenotype_columns" not in optional:
        optional["phenotype_columns"] = ["cognition:continuous"]  # the demo's SYNTHETIC phenotype
    return EvaluationInputsResource(
        brain_features=_setting("NEURO_OMICS_BRAIN_FEATURES", demo / "synthetic_brain_features.tsv"),
        phenotypes=_setting("NEURO_OMICS_PHENOTYPES", None if explicit else demo / "synthetic_phenotypes.tsv"),
        **optional,
    )


def build_resources() -> dict[str, dg.ConfigurableResource]:
    """Resources configured from ``NEURO_OMICS_*`` variables (and the deployment file's encoders); defaults run
    the bundled chrM demo."""
    from ..deployment import DEPLOYMENT_VARIABLE, pilot_deployment_path
    from .encoders import EncoderName, encoder_settings
    from .resources import CrossSpeciesResource, DnaEncoderResource, GenomeInputsResource, WarehouseResource

    encoders = encoder_settings()

    optional = {
        key: value
        for key, value in {
            "gene_list": _setting("NEURO_OMICS_GENE_LIST", None),
            "gene_type": _setting("NEURO_OMICS_GENE_TYPE", None),
            "contig_aliases": _setting("NEURO_OMICS_CONTIG_ALIASES", None),
        }.items()
        if value is not None
    }
    pilot = pilot_deployment_path()
    return {
        **({"cross_species": CrossSpeciesResource(deployment=_setting(DEPLOYMENT_VARIABLE, pilot))} if pilot else {}),
        "inputs": GenomeInputsResource(
            fasta=_setting("NEURO_OMICS_FASTA", settings.DEMO_FASTA),
            gtf=_setting("NEURO_OMICS_GTF", settings.DEMO_GTF),
            region=os.environ.get("NEURO_OMICS_REGION", "gene_body"),
            **optional,
        ),
        "warehouse": WarehouseResource(root=_setting("NEURO_OMICS_WAREHOUSE", settings.warehouse_root())),
        "cohort": _cohort_resource(),
        "tokens": _tokens_resource(encoders),
        "evaluation": _evaluation_resource(),
        **{EncoderName(name).resource_key: DnaEncoderResource(**fields) for name, fields in encoders.items()},
    }


def build_definitions() -> dg.Definitions:
    """The code location: shared assets once, embedding-derived assets once per configured encoder."""
    from ..deployment import pilot_deployment_path, read_deployment
    from .assets import build_assets
    from .automation import SCHEDULES, build_sensors
    from .checks import build_checks
    from .encoders import encoder_names
    from .jobs import build_jobs

    encoders = encoder_names()
    pilot = pilot_deployment_path()
    jobs = build_jobs(encoders, cross_species=pilot is not None)
    return dg.Definitions(
        assets=build_assets(encoders, read_deployment(pilot) if pilot else None), asset_checks=build_checks(encoders), jobs=jobs, schedules=SCHEDULES,
        sensors=build_sensors(encoders, jobs), resources=build_resources(),
    )
