"""Which model family an official directory holds, and loading or describing it through one call.

``model_family`` reads ``config.json``: Caduceus configs say ``"model_type": "caduceus"`` (written by the
official ``CaduceusConfig``); DNABERT-2 configs say ``"model_type": "bert"`` in older hub revisions and
nothing in the current one, whose ``auto_map`` names ``configuration_bert.BertConfig`` (reference/dnabert2.md).
Settings of the other family are ignored: ``attention`` matters to DNABERT-2 only, ``scan`` to Caduceus only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import torch

from neuro_omics_assets.errors import ConfigError, ModelLoadError
from neuro_omics_assets.models import Encoder, ModelDescription
from neuro_omics_assets.models.loading import read_config_json

Family = Literal["dnabert2", "caduceus"]
_DNABERT2_AUTO_CONFIG = "configuration_bert.BertConfig"
# Fields every DNABERT-2 config.json has (models.dnabert2.config); a config without model_type and
# auto_map is taken as DNABERT-2 only when it has all of them.
_DNABERT2_FIELDS = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "vocab_size")
_HOW_TO_FIX = (
    "point model_dir at an official zhihan1996/DNABERT-2-117M or kuleshov-group/caduceus-* directory "
    "(or a demo model written by neuro-omics demo-model)"
)


def model_family(model_dir: str | Path) -> Family:
    """``"dnabert2"`` or ``"caduceus"``, from ``model_dir/config.json``; ConfigError naming the file and what it
    found when it is neither (ModelLoadError when the directory or config.json is missing)."""
    path = Path(model_dir) / "config.json"
    if not path.is_file():
        raise ModelLoadError(f"{path} does not exist; {_HOW_TO_FIX}.")
    raw = read_config_json(path)
    model_type = raw.get("model_type")
    auto_config = (raw.get("auto_map") or {}).get("AutoConfig") if isinstance(raw.get("auto_map"), dict) else None
    if model_type == "caduceus":
        return "caduceus"
    if model_type == "bert" or (model_type is None and auto_config == _DNABERT2_AUTO_CONFIG):
        return "dnabert2"
    if model_type is None and auto_config is None and all(name in raw for name in _DNABERT2_FIELDS):
        return "dnabert2"
    raise ConfigError(
        f"{path} is neither a DNABERT-2 nor a Caduceus config: model_type={model_type!r}, "
        f"auto_map.AutoConfig={auto_config!r} (expected model_type 'caduceus', or 'bert' / "
        f"AutoConfig {_DNABERT2_AUTO_CONFIG!r} for DNABERT-2); {_HOW_TO_FIX}."
    )


def load_encoder(
    model_dir: str | Path,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype = "auto",
    *,
    attention: str = "sdpa",
    scan: str = "auto",
) -> Encoder:
    """Load the encoder in ``model_dir`` (either family) on ``device`` and ``dtype``."""
    return _family_call(model_dir, device, dtype, attention, scan, describe=False)


def describe_model(
    model_dir: str | Path,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype = "auto",
    *,
    attention: str = "sdpa",
    scan: str = "auto",
) -> ModelDescription:
    """What ``load_encoder`` with these arguments would load (``describe`` of it), without loading the weights."""
    return _family_call(model_dir, device, dtype, attention, scan, describe=True)


def _family_call(
    model_dir: str | Path, device: str | torch.device, dtype: str | torch.dtype, attention: str, scan: str, *,
    describe: bool,
) -> Any:
    """The family's loader (or describer) with the settings that family takes (subpackages imported here only)."""
    if model_family(model_dir) == "caduceus":
        from neuro_omics_assets.models.caduceus import describe_caduceus, load_caduceus

        return (describe_caduceus if describe else load_caduceus)(model_dir, device=device, dtype=dtype, scan=scan)
    from neuro_omics_assets.models.dnabert2 import describe_dnabert2, load_dnabert2

    return (describe_dnabert2 if describe else load_dnabert2)(model_dir, device=device, dtype=dtype, attention=attention)
