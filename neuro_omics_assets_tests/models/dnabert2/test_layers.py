"""ALiBi slopes and bias, and a 6-head model (not a power of two) against a plain-loop reference."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from neuro_omics_assets.models.dnabert2 import Dnabert2Encoder, load_dnabert2, write_demo_model
from neuro_omics_assets.models.dnabert2.layers import alibi_slopes, attention_bias

# Slopes from the reference's recursive rule (reference/dnabert2.md §2), written out by hand.
SLOPES_12 = [2**-1, 2**-2, 2**-3, 2**-4, 2**-5, 2**-6, 2**-7, 2**-8, 2**-0.5, 2**-1.5, 2**-2.5, 2**-3.5]
SLOPES_6 = [0.25, 0.0625, 0.015625, 0.00390625, 0.5, 0.125]
SIX_HEADS = {"hidden_size": 48, "num_layers": 2, "num_heads": 6, "intermediate_size": 80}
ALIBI_STARTING_SIZE = 16  # every test sequence below is longer


@pytest.mark.parametrize(
    ("heads", "slopes"),
    [(4, [0.25, 0.0625, 0.015625, 0.00390625]), (6, SLOPES_6), (12, SLOPES_12), (1, [2**-8])],
)
def test_alibi_slopes(heads: int, slopes: list[float]) -> None:
    assert alibi_slopes(heads) == pytest.approx(slopes, rel=1e-15, abs=0)


def test_alibi_slopes_for_five_heads_follow_the_recursive_rule() -> None:
    # c = 4: the 4-head slopes, then every other 8-head slope, first one of them
    assert alibi_slopes(5) == pytest.approx([0.25, 0.0625, 0.015625, 0.00390625, 0.5], rel=1e-15)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_bias_values_with_and_without_reversed_keys(dtype: torch.dtype) -> None:
    slopes = torch.tensor(SLOPES_6)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    natural = attention_bias(slopes, mask, dtype, keys_reversed=False).float()
    reversed_keys = attention_bias(slopes, mask, dtype, keys_reversed=True).float()
    assert natural.shape == reversed_keys.shape == (2, 6, 5, 5)
    torch.testing.assert_close(reversed_keys, natural.flip(-1), rtol=0, atol=0)
    # head 4 (slope 1/2), query 0 of the padded row: -|0 - j| / 2, then -10000 at keys 3 and 4
    atol = 0.0 if dtype == torch.float32 else 64.0  # bf16 values near 1e4 are 64 apart
    torch.testing.assert_close(
        natural[1, 4, 0], torch.tensor([0.0, -0.5, -1.0, -1.5 - 10000, -2.0 - 10000]), rtol=0, atol=atol
    )
    assert natural[0, 0, 4, 0] == -1.0  # slope 1/4, distance 4


def test_unpadded_bias_is_a_view_of_one_line() -> None:
    mask = torch.ones(3, 2048, dtype=torch.int64)
    bias = attention_bias(torch.tensor(SLOPES_12), mask, torch.bfloat16, keys_reversed=True)
    assert bias.shape == (1, 12, 2048, 2048)
    assert bias.untyped_storage().nbytes() == 12 * (2 * 2048 - 1) * 2  # not 12 * 2048², ~96 KiB


# --- an independent float64 reference written from reference/dnabert2.md §2, loops and explicit softmax


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


_erf = np.vectorize(math.erf)


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def _attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray, heads: int) -> np.ndarray:
    seq_len, hidden = q.shape
    d = hidden // heads
    out = np.zeros_like(q)
    for h in range(heads):
        cols = slice(h * d, (h + 1) * d)
        for i in range(seq_len):
            scores = np.empty(seq_len)
            for j in range(seq_len):
                alibi = -SLOPES_6[h] * abs(i - j)
                padding = 0.0 if mask[j] else -10000.0
                scores[j] = q[i, cols] @ k[j, cols] / math.sqrt(d) + alibi + padding
            probs = np.exp(scores - scores.max())
            out[i, cols] = (probs / probs.sum()) @ v[:, cols]
    return out


def _reference_hidden(state: dict[str, np.ndarray], ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """One sequence: ids (S,), mask (S,) -> float64 (S, H), padded rows 0."""
    w = {key.removeprefix("bert."): value.astype(np.float64) for key, value in state.items()}
    hidden = w["embeddings.word_embeddings.weight"].shape[1]
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.token_type_embeddings.weight"][0]
    x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    for layer in range(SIX_HEADS["num_layers"]):
        p = f"encoder.layer.{layer}."
        qkv = x @ w[p + "attention.self.Wqkv.weight"].T + w[p + "attention.self.Wqkv.bias"]
        attended = _attention(qkv[:, :hidden], qkv[:, hidden : 2 * hidden], qkv[:, 2 * hidden :], mask, 6)
        dense = attended @ w[p + "attention.output.dense.weight"].T + w[p + "attention.output.dense.bias"]
        x = _layer_norm(
            dense + x, w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"]
        )
        gated = x @ w[p + "mlp.gated_layers.weight"].T
        inter = gated.shape[1] // 2
        mlp = (_gelu(gated[:, :inter]) * gated[:, inter:]) @ w[p + "mlp.wo.weight"].T + w[p + "mlp.wo.bias"]
        x = _layer_norm(mlp + x, w[p + "mlp.layernorm.weight"], w[p + "mlp.layernorm.bias"])
    return x * mask[:, None]


@pytest.fixture(scope="module")
def six_head_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model_dir = write_demo_model(tmp_path_factory.mktemp("six-heads"), seed=7, **SIX_HEADS)
    config_path = model_dir / "config.json"
    config = json.loads(config_path.read_text())
    config["alibi_starting_size"] = ALIBI_STARTING_SIZE  # hand-made: the reference would grow its ALiBi cache
    config_path.write_text(json.dumps(config))
    return model_dir


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_six_heads_long_padded_batch_matches_the_loop_reference(six_head_dir: Path, attention: str) -> None:
    rng = random.Random(11)
    sequences = ["".join(rng.choice("ACGT") for _ in range(n)) for n in (190, 120)]
    encoder: Dnabert2Encoder = load_dnabert2(six_head_dir, attention=attention)
    batch = encoder.tokenize(sequences)
    ids, mask = batch["input_ids"].numpy(), batch["attention_mask"].numpy()
    assert ids.shape[1] > ALIBI_STARTING_SIZE and mask[1].sum() < ids.shape[1]  # long, second row padded
    hidden = encoder.hidden_states(batch["input_ids"], batch["attention_mask"]).numpy()
    state = load_file(six_head_dir / "model.safetensors")
    for row in range(2):
        reference = _reference_hidden(state, ids[row], mask[row])
        np.testing.assert_allclose(hidden[row], reference, rtol=0, atol=1e-5)
    assert np.all(hidden[1][mask[1] == 0] == 0.0)
