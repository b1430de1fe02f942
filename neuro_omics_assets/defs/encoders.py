"""The deployment's encoders: each has a name and the settings of its ``DnaEncoderResource``.

An encoder's name is the asset key prefix of every asset computed with it (``dnabert2/gene_vectors``), the
DuckDB schema of its tables (``dnabert2.gene_vectors``), the partition of its rows in the cross-encoder
result tables, and the key of its resource (``encoder_dnabert2``). Encoders are named in the deployment
file (``NEURO_OMICS_DEPLOYMENT``, TOML, one ``[encoders.<name>]`` table each); without one, the
single-model variables configure ``dnabert2`` (``NEURO_OMICS_MODEL_DIR``, default the demo model) and
``caduceus_ps`` (``NEURO_OMICS_CADUCEUS_MODEL_DIR``; the demo's Caduceus-PS model when neither model
variable is set, so a user's own DNABERT-2 is never compared with a demo model by default).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import dagster as dg

from .. import settings
from ..deployment import check_encoder_name, load_deployment
from . import _flag_setting, _setting


@dataclass(frozen=True)
class EncoderName:
    """One configured encoder's name and the names derived from it."""

    name: str

    def __post_init__(self) -> None:
        check_encoder_name(self.name, "encoder")

    @property
    def resource_key(self) -> str:
        """The key of the encoder's ``DnaEncoderResource``."""
        return f"encoder_{self.name}"

    def key(self, asset: str) -> dg.AssetKey:
        """The asset key of ``asset`` computed with this encoder: ``[name, asset]``."""
        return dg.AssetKey([self.name, asset])

    def asset(self, asset: str) -> str:
        """The asset key as a string (``dnabert2/gene_vectors``): the lineage table's ``asset_key``."""
        return self.key(asset).to_user_string()

    def table(self, table: str) -> str:
        """The warehouse table of ``table`` made with this encoder: ``name.table`` (a DuckDB schema per encoder)."""
        return f"{self.name}.{table}"


def _default_settings() -> dict[str, dict[str, object]]:
    """``dnabert2`` (and ``caduceus_ps``) from the single-model variables; see the module docstring."""
    shared = {
        key: value
        for key, value in {
            "device": os.environ.get("NEURO_OMICS_DEVICE"),
            "dtype": os.environ.get("NEURO_OMICS_DTYPE"),
            "pooling": os.environ.get("NEURO_OMICS_POOLING"),
            "rc_average": _flag_setting("NEURO_OMICS_RC_AVERAGE"),
            "cache_dir": _setting("NEURO_OMICS_CACHE_DIR", settings.embedding_cache_dir()),
        }.items()
        if value is not None
    }
    attention = os.environ.get("NEURO_OMICS_ATTENTION")
    scan = os.environ.get("NEURO_OMICS_SCAN")
    encoders: dict[str, dict[str, object]] = {
        "dnabert2": {"model_dir": _setting("NEURO_OMICS_MODEL_DIR", settings.demo_model_dir()), **shared,
                     **({"attention": attention} if attention else {})},
    }
    caduceus = os.environ.get("NEURO_OMICS_CADUCEUS_MODEL_DIR")
    if caduceus or not os.environ.get("NEURO_OMICS_MODEL_DIR"):
        encoders["caduceus_ps"] = {"model_dir": _setting("NEURO_OMICS_CADUCEUS_MODEL_DIR",
                                                        settings.demo_caduceus_model_dir()),
                                   **shared, **({"scan": scan} if scan else {})}
    return encoders


def encoder_settings() -> dict[str, dict[str, object]]:
    """Encoder name → ``DnaEncoderResource`` fields: the deployment file's ``[encoders]`` when it has them, else the
    defaults (see the module docstring)."""
    return load_deployment().encoders or _default_settings()


def encoder_names() -> list[EncoderName]:
    """The configured encoders, in configuration order (the first is the leaderboard's reference)."""
    return [EncoderName(name) for name in encoder_settings()]
