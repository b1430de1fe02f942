"""Load an official DNABERT-2 model directory into ``Dnabert2ForMaskedLM``.

A directory holds ``config.json``, ``tokenizer.json`` and the weights: ``model.safetensors`` if
present, else ``pytorch_model.bin`` (read with ``torch.load(weights_only=True)``, no pickled code).
Keys may carry the ``bert.`` prefix or not. ``cls.predictions.*`` (MLM head) is loaded when present;
its ``decoder.weight`` is tied to the word embeddings and may be absent. A pooler is ignored (the
official checkpoint has none). Anything else missing, unexpected or mis-shaped is an error.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from neuro_omics_assets.errors import ModelLoadError
from neuro_omics_assets.models import loading
from neuro_omics_assets.models.dnabert2.config import Dnabert2Config
from neuro_omics_assets.models.dnabert2.model import Dnabert2ForMaskedLM

log = logging.getLogger(__name__)

HOW_TO_GET_A_MODEL = (
    "download zhihan1996/DNABERT-2-117M (e.g. `huggingface-cli download zhihan1996/DNABERT-2-117M "
    "--local-dir DIR`) or write a random demo model with `neuro-omics demo-model --out DIR`"
)
TIED_DECODER_KEY = "cls.predictions.decoder.weight"
WORD_EMBEDDINGS_KEY = "bert.embeddings.word_embeddings.weight"
_IGNORED_PREFIXES = ("bert.pooler.",)


def required_file(model_dir: Path, name: str) -> Path:
    """``model_dir / name``, or ModelLoadError naming the missing file and how to get the model."""
    return loading.required_file(model_dir, name, HOW_TO_GET_A_MODEL)


def find_weights_file(model_dir: Path) -> Path:
    """``model.safetensors`` if present, else ``pytorch_model.bin``."""
    return loading.find_weights_file(model_dir, HOW_TO_GET_A_MODEL)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """All tensors of a weights file, on CPU, keyed as stored."""
    return loading.read_state_dict(path, "DNABERT-2")


def canonical_keys(state: dict[str, torch.Tensor], path: Path) -> dict[str, torch.Tensor]:
    """Give encoder keys the ``bert.`` prefix; drop pooler keys; keep ``cls.*`` as they are."""
    canonical: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        name = key if key.startswith(("bert.", "cls.")) else f"bert.{key}"
        if name in canonical:
            raise ModelLoadError(
                f"{path} holds {name} twice (with and without the 'bert.' prefix); re-export it."
            )
        if name.startswith(_IGNORED_PREFIXES):
            log.info("ignoring %s from %s (DNABERT-2 inference uses no pooler)", key, path.name)
            continue
        canonical[name] = tensor
    return canonical



def check_fits(
    state: dict[str, torch.Tensor], model: torch.nn.Module, path: Path, config: Dnabert2Config
) -> None:
    """ModelLoadError naming missing, unexpected and mis-shaped tensors, if any."""
    problems = loading.state_dict_problems(state, model)
    if problems:
        raise ModelLoadError(
            f"{path} does not fit its config.json (hidden {config.hidden_size}, {config.num_hidden_layers} layers, "
            f"{config.num_attention_heads} heads, intermediate {config.intermediate_size}, vocab {config.vocab_size}): "
            + "; ".join(problems)
            + ". Weights and config.json must come from the same model; re-download both together."
        )


def _drop_tied_decoder(state: dict[str, torch.Tensor], path: Path) -> None:
    """Remove ``cls.predictions.decoder.weight``; the decoder reuses the word embeddings."""
    decoder = state.pop(TIED_DECODER_KEY, None)
    embeddings = state.get(WORD_EMBEDDINGS_KEY)
    if decoder is None or embeddings is None:
        return
    if decoder.shape != embeddings.shape:
        raise ModelLoadError(
            f"{path}: {TIED_DECODER_KEY} {list(decoder.shape)} differs in shape from {WORD_EMBEDDINGS_KEY} "
            f"{list(embeddings.shape)}; DNABERT-2 ties them. Use the official weights file."
        )
    if not torch.equal(decoder, embeddings):
        log.warning(
            "%s: %s differs from the word embeddings; using the word embeddings (tied, as the reference)",
            path.name,
            TIED_DECODER_KEY,
        )


def load_checkpoint(
    model_dir: Path, config: Dnabert2Config, attention: str
) -> tuple[Dnabert2ForMaskedLM, Path]:
    """Build the network for ``config`` and fill it from the directory's weights file.

    Returns the float32 CPU model (train mode; the caller moves it and sets eval) and the weights path.
    """
    path = find_weights_file(model_dir)
    state = canonical_keys(read_state_dict(path), path)
    _drop_tied_decoder(state, path)
    with_head = any(name.startswith("cls.") for name in state)
    with torch.device("meta"):  # no random init of ~117M parameters that are overwritten next
        model = Dnabert2ForMaskedLM(config, attention=attention, with_mlm_head=with_head)
    check_fits(state, model, path, config)
    # Own copies: a memory-mapped file rewritten while the model is in use would change or crash it.
    state = {name: tensor.to(torch.float32, copy=True) for name, tensor in state.items()}
    model.load_state_dict(state, strict=True, assign=True)
    log.info("loaded %d tensors from %s (MLM head: %s)", len(state), path, "yes" if with_head else "no")
    return model, path
