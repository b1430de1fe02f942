"""Write a random DNABERT-2-shaped model directory in the official format (demos, tests, benchmarks).

The weights are seeded random numbers, not DNABERT-2: embeddings from such a model mean nothing.
The tokenizer files are the official ones, shipped as package data and checked by sha256.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import save_file

from neuro_omics_assets.checksums import file_sha256
from neuro_omics_assets.errors import TokenizerError
from neuro_omics_assets.models.dnabert2.checkpoint import TIED_DECODER_KEY, WORD_EMBEDDINGS_KEY
from neuro_omics_assets.models.dnabert2.config import Dnabert2Config
from neuro_omics_assets.models.dnabert2.model import Dnabert2ForMaskedLM
from neuro_omics_assets.models.dnabert2.tokenizer import OFFICIAL_TOKENIZER_SHA256

PACKAGED_TOKENIZER_DIR = Path(__file__).with_name("tokenizer")
# sha256 of the official tokenizer_config.json (HF revision d064dec, git blob 66232173, 158 bytes).
OFFICIAL_TOKENIZER_CONFIG_SHA256 = "f9d18c81f4dd9dd7db02e9f27cc1203228147d890bfce9167c3af6465ff5b769"
OFFICIAL_VOCAB_SIZE = 4096

_README = """# Random demo model — NOT DNABERT-2 weights

Written by `neuro_omics_assets.models.dnabert2.write_demo_model` (hidden {hidden}, {layers} layers,
{heads} heads, intermediate {intermediate}, seed {seed}). It has the official DNABERT-2 file layout
(`config.json`, `model.safetensors` with `bert.*` + `cls.predictions.*` keys, `tokenizer.json`,
`tokenizer_config.json`) and the official tokenizer, but its weights are seeded random numbers:
embeddings computed with it carry no biological meaning. For real embeddings download
`zhihan1996/DNABERT-2-117M`.
"""


def _random_tensor(name: str, shape: torch.Size, generator: torch.Generator) -> torch.Tensor:
    """Init that keeps hidden states and attention logits O(1) (no trivial 0/1 parameters)."""
    noise = torch.randn(shape, generator=generator, dtype=torch.float32)
    if name.endswith(("LayerNorm.weight", "layernorm.weight")):
        return 1.0 + 0.1 * noise
    if name.endswith(".bias"):
        return 0.1 * noise
    if name.endswith("embeddings.weight"):
        return noise
    return noise / shape[1] ** 0.5  # Linear weight (out, in): variance 1 / fan_in


def demo_state_dict(config: Dnabert2Config, seed: int) -> dict[str, torch.Tensor]:
    """Seeded float32 tensors under the official ``BertForMaskedLM`` keys (tied decoder stored as a copy)."""
    with torch.device("meta"):  # shapes only
        shapes = {name: t.shape for name, t in Dnabert2ForMaskedLM(config).state_dict().items()}
    generator = torch.Generator().manual_seed(seed)
    state = {name: _random_tensor(name, shape, generator) for name, shape in shapes.items()}
    state[TIED_DECODER_KEY] = state[WORD_EMBEDDINGS_KEY].clone()
    return state


def _copy_packaged_tokenizer(out_dir: Path) -> None:
    for name, expected in (
        ("tokenizer.json", OFFICIAL_TOKENIZER_SHA256),
        ("tokenizer_config.json", OFFICIAL_TOKENIZER_CONFIG_SHA256),
    ):
        source = PACKAGED_TOKENIZER_DIR / name
        if not source.is_file() or file_sha256(source) != expected:
            raise TokenizerError(
                f"packaged {source} is missing or altered (expected sha256 {expected}); reinstall neuro-omics-assets."
            )
        shutil.copyfile(source, out_dir / name)


def write_demo_model(
    out_dir: str | Path,
    *,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    intermediate_size: int = 128,
    seed: int = 0,
) -> Path:
    """Write config.json, model.safetensors, tokenizer files and a README into ``out_dir``.

    Deterministic: the same arguments give a byte-identical model.safetensors. Returns ``out_dir``.
    """
    config = Dnabert2Config.from_dict(
        {
            "hidden_size": hidden_size,
            "num_hidden_layers": num_layers,
            "num_attention_heads": num_heads,
            "intermediate_size": intermediate_size,
            "vocab_size": OFFICIAL_VOCAB_SIZE,
        },
        source="write_demo_model arguments",
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _copy_packaged_tokenizer(out_dir)
    official = config.to_official_dict(name_or_path=f"neuro-omics-random-demo-seed{seed}")
    (out_dir / "config.json").write_text(json.dumps(official, indent=2) + "\n")
    save_file(demo_state_dict(config, seed), out_dir / "model.safetensors", metadata={"format": "pt"})
    (out_dir / "README.md").write_text(
        _README.format(
            hidden=hidden_size, layers=num_layers, heads=num_heads, intermediate=intermediate_size, seed=seed
        )
    )
    return out_dir
