"""Dagster layer: wires the domain packages into assets, checks, jobs and resources (wiring only)."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from .. import settings


def _setting(name: str, default: Path | str | None) -> str | dg.EnvVar | None:
    """``dg.EnvVar(name)`` when the variable is set (shown as such in the UI), else the default."""
    if os.environ.get(name):
        return dg.EnvVar(name)
    return None if default is None else str(default)


def build_resources() -> dict[str, dg.ConfigurableResource]:
    """Resources configured from ``NEURO_OMICS_*`` variables; defaults run the bundled chrM demo."""
    from .resources import DnaEncoderResource, GenomeInputsResource, WarehouseResource

    optional = {
        key: value
        for key, value in {
            "gene_list": _setting("NEURO_OMICS_GENE_LIST", None),
            "gene_type": _setting("NEURO_OMICS_GENE_TYPE", None),
            "contig_aliases": _setting("NEURO_OMICS_CONTIG_ALIASES", None),
        }.items()
        if value is not None
    }
    return {
        "inputs": GenomeInputsResource(
            fasta=_setting("NEURO_OMICS_FASTA", settings.DEMO_FASTA),
            gtf=_setting("NEURO_OMICS_GTF", settings.DEMO_GTF),
            region=os.environ.get("NEURO_OMICS_REGION", "gene_body"),
            **optional,
        ),
        "warehouse": WarehouseResource(root=_setting("NEURO_OMICS_WAREHOUSE", settings.warehouse_root())),
        "encoder": DnaEncoderResource(
            model_dir=_setting("NEURO_OMICS_MODEL_DIR", settings.demo_model_dir()),
            device=os.environ.get("NEURO_OMICS_DEVICE", "auto"),
            dtype=os.environ.get("NEURO_OMICS_DTYPE", "auto"),
            cache_dir=_setting("NEURO_OMICS_CACHE_DIR", settings.embedding_cache_dir()),
        ),
    }


def build_definitions() -> dg.Definitions:
    from .assets import ASSETS
    from .checks import CHECKS
    from .jobs import JOBS

    return dg.Definitions(assets=ASSETS, asset_checks=CHECKS, jobs=JOBS, resources=build_resources())
