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
from neuro_omics_assets.models.dnabert2.layers import (
    ALIBI_CUTOFF,
    PairedPrecisionLinear,
    alibi_slopes,
    attention_bias,
    reversed_key_alibi,
    token_spans,
)

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
def test_materialised_bias_values(dtype: torch.dtype) -> None:
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    bias = attention_bias(torch.tensor(SLOPES_6), mask, dtype).float()
    assert bias.shape == (2, 6, 5, 5)
    # head 4 (slope 1/2), query 0 of the padded row: -|0 - j| / 2, then -10000 at keys 3 and 4
    atol = 0.0 if dtype == torch.float32 else 64.0  # bf16 values near 1e4 are 64 apart
    torch.testing.assert_close(
        bias[1, 4, 0], torch.tensor([0.0, -0.5, -1.0, -1.5 - 10000, -2.0 - 10000]), rtol=0, atol=atol
    )
    assert bias[0, 0, 4, 0] == -1.0  # slope 1/4, distance 4


def test_reversed_key_alibi_is_the_bias_with_keys_flipped() -> None:
    unpadded = attention_bias(torch.tensor(SLOPES_6), torch.ones(1, 7, dtype=torch.int64), torch.float32)
    reversed_keys = reversed_key_alibi(torch.tensor(SLOPES_6), 7, torch.float32)
    torch.testing.assert_close(reversed_keys, unpadded.flip(-1), rtol=0, atol=0)  # 0.5 * 6 > -80: no cutoff


def test_reversed_key_alibi_is_a_view_of_one_line_cut_at_minus_80() -> None:
    bias = reversed_key_alibi(torch.tensor(SLOPES_12), 2048, torch.float32)
    assert bias.shape == (1, 12, 2048, 2048)
    assert bias.untyped_storage().nbytes() == 12 * (2 * 2048 - 1) * 4  # not 12 * 2048², ~192 KiB
    query, keys = 1000, torch.arange(2047, -1, -1)  # column c is key 2047 - c
    for head, slope in enumerate(torch.tensor(SLOPES_12)):  # float32, as the reference multiplies
        exact = slope * -(query - keys).abs().float()
        row = bias[0, head, query]
        kept = exact >= ALIBI_CUTOFF
        assert torch.equal(row[kept], exact[kept])
        assert torch.all(row[~kept] == float("-inf"))
    assert torch.all(torch.isfinite(bias[0, 7]))  # slope 1/256: 2047 / 256 = 8 > -80, nothing cut


@pytest.mark.parametrize(
    ("mask", "spans"),
    [
        ([[1, 1, 1], [1, 1, 0]], [(0, 3), (0, 2)]),  # right padding
        ([[0, 1, 1], [0, 0, 0]], [(1, 3), (0, 0)]),  # left padding, an all-padding row
        ([[1, 0, 1]], None),  # a hole
    ],
)
def test_token_spans(mask: list[list[int]], spans: list[tuple[int, int]] | None) -> None:
    assert token_spans(torch.tensor(mask)) == spans


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
    keys = np.arange(seq_len)
    padding = np.where(mask == 1, 0.0, -10000.0)  # (S,)
    out = np.zeros_like(q)
    for h in range(heads):
        cols = slice(h * d, (h + 1) * d)
        for i in range(seq_len):
            scores = k[:, cols] @ q[i, cols] / math.sqrt(d) - SLOPES_6[h] * np.abs(i - keys) + padding  # (S,)
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
    sequences = ["".join(rng.choice("ACGT") for _ in range(n)) for n in (900, 400)]
    encoder: Dnabert2Encoder = load_dnabert2(six_head_dir, attention=attention)
    batch = encoder.tokenize(sequences)
    ids, mask = batch["input_ids"].numpy(), batch["attention_mask"].numpy()
    assert ids.shape[1] > ALIBI_STARTING_SIZE and mask[1].sum() < ids.shape[1]  # long, second row padded
    assert 0.5 * (ids.shape[1] - 1) > -ALIBI_CUTOFF  # slope-1/2 head: the sdpa cutoff drops far keys
    hidden = encoder.hidden_states(batch["input_ids"], batch["attention_mask"]).numpy()
    state = load_file(six_head_dir / "model.safetensors")
    for row in range(2):
        reference = _reference_hidden(state, ids[row], mask[row])
        np.testing.assert_allclose(hidden[row], reference, rtol=0, atol=1e-5)
    assert np.all(hidden[1][mask[1] == 0] == 0.0)


def test_fused_kernel_with_padding_holes_and_unsorted_lengths_equals_eager(six_head_dir: Path) -> None:
    rng = random.Random(5)
    ids = torch.randint(5, 4096, (5, 60), generator=torch.Generator().manual_seed(5))
    mask = torch.ones_like(ids)
    mask[1, 40:] = 0  # right padding
    mask[2, :25] = 0  # left padding
    mask[4, 30:] = 0  # rows 1 and 4 share a span, rows 0 and 3 too, in no particular order
    holes = mask.clone()
    holes[0, rng.randrange(10, 50)] = 0  # a zero between ones: the materialised-bias fallback
    for attention_mask in (mask, holes):
        fused = load_dnabert2(six_head_dir, attention="sdpa").hidden_states(ids, attention_mask)
        eager = load_dnabert2(six_head_dir, attention="eager").hidden_states(ids, attention_mask)
        torch.testing.assert_close(fused, eager, rtol=0, atol=1e-5)
        assert torch.all(fused[attention_mask == 0] == 0.0)


def test_paired_precision_linear_keeps_about_16_bits_of_the_weight() -> None:
    generator = torch.Generator().manual_seed(3)
    layer = PairedPrecisionLinear(64, 48)
    torch.nn.init.normal_(layer.weight, generator=generator)
    full_weight, full_bias = layer.weight.detach().double(), layer.bias.detach().double()
    x = torch.randn(32, 64, generator=generator).bfloat16()  # inputs exactly representable in bf16
    exact = x.double() @ full_weight.T + full_bias
    plain = torch.nn.functional.linear(x, layer.weight.detach().bfloat16(), layer.bias.detach().bfloat16())
    layer.split_precision(torch.bfloat16)
    paired = layer(x)
    assert paired.dtype == layer.weight.dtype == torch.bfloat16 and layer.weight.shape == (48, 64)
    assert layer.weight.untyped_storage().data_ptr() == layer.weight_pair.untyped_storage().data_ptr()
    assert set(layer.state_dict()) == {"weight", "bias"}  # the pair is not a checkpoint tensor
    # the output is rounded to bf16 either way; the weight error behind it shrinks ~256-fold
    weight_error = (layer.weight_pair[:, :64].double() + layer.weight_pair[:, 64:].double() - full_weight).abs()
    assert weight_error.max() <= full_weight.abs().max() * 2.0**-16
    plain_error = (plain.double() - exact).abs().mean()
    paired_error = (paired.double() - exact).abs().mean()
    assert paired_error < plain_error
