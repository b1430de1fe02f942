"""Write a random Caduceus-shaped model directory in the official format (demos, tests, benchmarks).

The weights are seeded random numbers, not Caduceus: embeddings from such a model mean nothing. The
files are those of a ``kuleshov-group/caduceus-*`` checkpoint without its remote-code ``.py`` files:
``config.json``, ``model.safetensors`` (tied tensors stored once, as ``save_pretrained`` writes them),
``tokenizer_config.json`` and ``special_tokens_map.json`` with the official tokenizer's fields.
``rcps=False`` gives a Caduceus-PH directory (the PH key layout), used by the tests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from neuro_omics_assets.models.caduceus.config import CaduceusConfig
from neuro_omics_assets.models.caduceus.model import CaduceusForMaskedLM
from neuro_omics_assets.models.caduceus.tokenizer import (
    COMPLEMENT,
    DEFAULT_MODEL_MAX_LENGTH,
    SPECIAL_TOKENS,
    VOCAB,
)

# The official model pads the tokenizer's 12 ids to a multiple of 8.
DEMO_VOCAB_SIZE = 16
_SPECIAL = {"bos_token": "[BOS]", "cls_token": "[CLS]", "eos_token": "[SEP]", "mask_token": "[MASK]",
            "pad_token": "[PAD]", "sep_token": "[SEP]", "unk_token": "[UNK]"}  # fmt: skip

_README = """# Random demo model — NOT Caduceus weights

Written by `neuro_omics_assets.models.caduceus.write_demo_model` (Caduceus-{variant}, d_model {d_model},
{n_layer} layers, d_state {d_state}, seed {seed}). It has the official Caduceus file layout (`config.json`,
`model.safetensors` with `caduceus.backbone.*` keys, `tokenizer_config.json`, `special_tokens_map.json`),
but its weights are seeded random numbers: embeddings computed with it carry no biological meaning. For
real embeddings download `kuleshov-group/caduceus-ps_seqlen-131k_d_model-256_n_layer-16`.
"""


def _random_tensor(name: str, shape: torch.Size, generator: torch.Generator) -> torch.Tensor:
    """Init that keeps the residual stream O(1) and the scan's decay in a trained-like range."""
    uniform = torch.rand(shape, generator=generator, dtype=torch.float32)
    normal = torch.randn(shape, generator=generator, dtype=torch.float32)
    if name.endswith("A_log"):
        return -0.5 + 2.0 * uniform  # A = -exp(A_log) in [-4.5, -0.6]
    if name.endswith(".D"):
        return 0.5 + uniform
    if name.endswith("dt_proj.bias"):
        return -4.0 + 3.0 * uniform  # softplus -> delta in [0.018, 0.31]
    if name.endswith("norm.weight") or name.endswith("norm_f.weight"):
        return 1.0 + 0.2 * normal
    if "word_embeddings" in name:
        return 0.5 * normal
    if name.endswith("conv1d.weight") or name.endswith("conv1d.bias"):
        return 0.2 * normal
    return normal / shape[1] ** 0.5  # Linear weight (out, in): variance 1 / fan_in


def demo_state_dict(config: CaduceusConfig, seed: int) -> dict[str, torch.Tensor]:
    """Seeded tensors under the official keys (tied tensors absent, PS complement maps as int64 buffers)."""
    with torch.device("meta"):  # shapes only
        model_state = CaduceusForMaskedLM(config).state_dict()
    generator = torch.Generator().manual_seed(seed)
    complement = torch.tensor(config.complement_map, dtype=torch.int64)
    return {
        name: complement.clone()
        if name.endswith("complement_map")
        else _random_tensor(name, t.shape, generator)
        for name, t in sorted(model_state.items())
    }


def tokenizer_config(model_max_length: int) -> dict[str, Any]:
    """The fields ``CaduceusTokenizer.save_pretrained`` writes (plus the hub's ``auto_map``)."""
    flags = {"lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": True}
    return {
        "add_prefix_space": False,
        "added_tokens_decoder": {
            str(VOCAB[token]): {"content": token, **flags}
            for token in SPECIAL_TOKENS
            if token != "[RESERVED]"
        },
        "auto_map": {"AutoTokenizer": ["tokenization_caduceus.CaduceusTokenizer", None]},
        "bos_token": "[BOS]",
        "clean_up_tokenization_spaces": True,
        "cls_token": "[CLS]",
        "eos_token": "[SEP]",
        "mask_token": "[MASK]",
        "model_max_length": model_max_length,
        "pad_token": "[PAD]",
        "padding_side": "left",
        "sep_token": "[SEP]",
        "tokenizer_class": "CaduceusTokenizer",
        "unk_token": "[UNK]",
    }


def write_demo_model(
    out_dir: str | Path,
    *,
    rcps: bool = True,
    d_model: int = 32,
    n_layer: int = 2,
    d_state: int = 8,
    model_max_length: int = DEFAULT_MODEL_MAX_LENGTH,
    seed: int = 0,
) -> Path:
    """Write config.json, model.safetensors, tokenizer files and a README into ``out_dir``.

    Deterministic: the same arguments give a byte-identical model.safetensors. Returns ``out_dir``.
    """
    complement = {VOCAB[base]: VOCAB[comp] for base, comp in COMPLEMENT.items()}
    config = CaduceusConfig.from_dict(
        {
            "d_model": d_model,
            "n_layer": n_layer,
            "vocab_size": DEMO_VOCAB_SIZE,
            "rcps": rcps,
            "ssm_cfg": {"d_state": d_state},
            "complement_map": {str(i): complement.get(i, i) for i in range(DEMO_VOCAB_SIZE)},
        },
        source="write_demo_model arguments",
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.json").write_text(json.dumps(config.to_official_dict(), indent=2) + "\n")
    save_file(demo_state_dict(config, seed), out_dir / "model.safetensors", metadata={"format": "pt"})
    (out_dir / "tokenizer_config.json").write_text(
        json.dumps(tokenizer_config(model_max_length), indent=2) + "\n"
    )
    (out_dir / "special_tokens_map.json").write_text(json.dumps(_SPECIAL, indent=2) + "\n")
    (out_dir / "README.md").write_text(
        _README.format(
            variant="PS" if rcps else "PH", d_model=d_model, n_layer=n_layer, d_state=d_state, seed=seed
        )
    )
    return out_dir
