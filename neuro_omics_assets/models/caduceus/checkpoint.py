"""Load an official Caduceus model directory (``CaduceusForMaskedLM``) into the native network.

A directory holds ``config.json``, ``tokenizer_config.json`` and the weights: ``model.safetensors`` if
present, else ``pytorch_model.bin`` (read with ``torch.load(weights_only=True)``, no pickled code).
Tied tensors are re-tied: ``lm_head.lm_head.weight`` (PS) / ``lm_head.weight`` (PH) and the reverse
Mamba's ``in_proj``/``out_proj`` are dropped after checking them against the tensors they alias (the
safetensors file leaves them out; ``pytorch_model.bin`` keeps them). The int64 ``complement_map`` buffers
of PS must equal config.json's map. Anything else missing, unexpected or mis-shaped is an error.

PS and PH differ in key layout: PS has ``word_embeddings.embedding.weight``,
``layers.{i}.mixer.submodule.mamba_*`` and the two ``complement_map`` buffers; PH has
``word_embeddings.weight`` and ``layers.{i}.mixer.mamba_*``. A file of the other kind fails with the
missing/unexpected keys named and a hint that ``rcps`` in config.json does not match the weights.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from neuro_omics_assets.errors import ModelLoadError
from neuro_omics_assets.models import loading
from neuro_omics_assets.models.caduceus.config import CaduceusConfig
from neuro_omics_assets.models.caduceus.model import CaduceusForMaskedLM

log = logging.getLogger(__name__)

HOW_TO_GET_A_MODEL = (
    "download kuleshov-group/caduceus-ps_seqlen-131k_d_model-256_n_layer-16 (e.g. `huggingface-cli download "
    "kuleshov-group/caduceus-ps_seqlen-131k_d_model-256_n_layer-16 --local-dir DIR`) or write a random demo "
    "model with neuro_omics_assets.models.caduceus.write_demo_model"
)
BACKBONE = "caduceus.backbone."
_MIXER = {True: "mixer.submodule.", False: "mixer."}
_WORDS = {True: "embeddings.word_embeddings.embedding.weight", False: "embeddings.word_embeddings.weight"}
_LM_HEAD_ALIAS = {True: "lm_head.lm_head.weight", False: "lm_head.weight"}
_BUFFERS = (f"{BACKBONE}embeddings.word_embeddings.complement_map", "lm_head.complement_map")


def required_file(model_dir: Path, name: str) -> Path:
    """``model_dir / name``, or ModelLoadError naming the missing file and how to get the model."""
    return loading.required_file(model_dir, name, HOW_TO_GET_A_MODEL)


def find_weights_file(model_dir: Path) -> Path:
    """``model.safetensors`` if present, else ``pytorch_model.bin``."""
    return loading.find_weights_file(model_dir, HOW_TO_GET_A_MODEL)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """All tensors of a weights file, on CPU, keyed as stored."""
    return loading.read_state_dict(path, "Caduceus")


def tied_aliases(config: CaduceusConfig) -> dict[str, str]:
    """Tied key -> the key whose tensor it aliases, for this config's layout."""
    words = BACKBONE + _WORDS[config.rcps]
    aliases = {_LM_HEAD_ALIAS[config.rcps]: words}
    for i in range(config.n_layer):
        mixer = f"{BACKBONE}layers.{i}.{_MIXER[config.rcps]}"
        for proj in ("in_proj", "out_proj"):
            aliases[f"{mixer}mamba_rev.{proj}.weight"] = f"{mixer}mamba_fwd.{proj}.weight"
    return aliases


def _drop_tied(state: dict[str, torch.Tensor], config: CaduceusConfig, path: Path) -> None:
    """Remove tied aliases; the native model reads the tensor they alias."""
    for alias, target in tied_aliases(config).items():
        tensor = state.pop(alias, None)
        if tensor is None or target not in state:
            continue
        if tensor.shape != state[target].shape:
            raise ModelLoadError(
                f"{path}: {alias} {list(tensor.shape)} differs in shape from {target} {list(state[target].shape)}; "
                "Caduceus ties them. Use the official weights file."
            )
        if not torch.equal(tensor, state[target]):
            log.warning(
                "%s: %s differs from %s; using %s (tied, as the official model)",
                path.name,
                alias,
                target,
                target,
            )



def _layout_hint(state: dict[str, torch.Tensor], config: CaduceusConfig) -> str:
    """A sentence when the file has the other variant's key layout (PS vs PH), else ''."""
    file_is_ps = any(".mixer.submodule." in key for key in state)
    file_is_ph = any(".mixer.mamba_" in key for key in state)
    if (file_is_ph and not file_is_ps) if config.rcps else file_is_ps:
        return (
            f" The file has the Caduceus-{'PH' if config.rcps else 'PS'} key layout but config.json says "
            f"rcps={str(config.rcps).lower()}; config.json and weights come from different models."
        )
    return ""


def check_fits(
    state: dict[str, torch.Tensor], model: torch.nn.Module, path: Path, config: CaduceusConfig
) -> None:
    """ModelLoadError naming missing, unexpected and mis-shaped tensors, if any."""
    problems = loading.state_dict_problems(state, model)
    if problems:
        raise ModelLoadError(
            f"{path} does not fit its config.json (Caduceus-{'PS' if config.rcps else 'PH'}, d_model {config.d_model}, "
            f"{config.n_layer} layers, d_state {config.d_state}, vocab {config.vocab_size}): "
            + "; ".join(problems)
            + "."
            + _layout_hint(state, config)
            + " Weights and config.json must come from the same model; re-download both together."
        )


def _check_buffers(state: dict[str, torch.Tensor], config: CaduceusConfig, path: Path) -> None:
    """PS: the stored complement maps must equal config.json's (the official model would use the stored one)."""
    expected = torch.tensor(config.complement_map, dtype=torch.int64)
    for key in _BUFFERS:
        if key in state and not torch.equal(state[key].to(torch.int64), expected):
            raise ModelLoadError(
                f"{path}: {key} {state[key].tolist()} differs from config.json's complement_map "
                f"{list(config.complement_map)}; re-download config.json and the weights together."
            )


def load_checkpoint(model_dir: Path, config: CaduceusConfig) -> tuple[CaduceusForMaskedLM, Path]:
    """Build the network for ``config`` and fill it from the directory's weights file.

    Returns the float32 CPU model (train mode; the caller moves it and sets eval) and the weights path.
    """
    path = find_weights_file(model_dir)
    state = read_state_dict(path)
    _drop_tied(state, config, path)
    with torch.device("meta"):  # shapes only; every tensor is overwritten next
        model = CaduceusForMaskedLM(config)
    check_fits(state, model, path, config)
    _check_buffers(state, config, path)
    # Own copies: a memory-mapped file rewritten while the model is in use would change or crash it.
    state = {
        name: tensor.to(torch.int64 if name.endswith("complement_map") else torch.float32, copy=True)
        for name, tensor in state.items()
    }
    model.load_state_dict(state, strict=True, assign=True)
    log.info("loaded %d tensors from %s", len(state), path)
    return model, path
