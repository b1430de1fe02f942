"""Eager baseline: DNABERT-2 computed the straightforward way, as the official PyTorch path does.

float32 only. It keeps a persistent float32 ALiBi tensor (1, heads, S, S) that grows with the longest
batch seen, adds the key-padding term to it on every forward (a fresh float32 (B, heads, S, S)),
and runs explicit ``softmax(q kᵀ / sqrt(d) + bias) v``. The official code additionally unpads and
re-pads tokens around every layer, which this baseline skips (so the official code is, if anything,
slower). It shares no model code with ``neuro_omics_assets.models.dnabert2`` (only the file reader),
so it is also an independent cross-check of the native model's numbers.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F

from neuro_omics_assets.models.dnabert2.checkpoint import canonical_keys, find_weights_file, read_state_dict
from neuro_omics_assets.models.dnabert2.config import Dnabert2Config


def _slopes(heads: int) -> list[float]:
    """ALiBi paper rule, including the non-power-of-two case."""
    closest = 2 ** math.floor(math.log2(heads))
    base = [2.0 ** (-8.0 * (i + 1) / closest) for i in range(closest)]
    extra = [2.0 ** (-8.0 * (i + 1) / (2 * closest)) for i in range(2 * closest)][0::2]
    return base + extra[: heads - closest]


class EagerDnabert2:
    """Last hidden state (B, S, H) float32 from an official-format model directory, eager style."""

    def __init__(self, model_dir: Path) -> None:
        self.config = Dnabert2Config.from_json(Path(model_dir) / "config.json")
        path = find_weights_file(Path(model_dir))
        state = canonical_keys(read_state_dict(path), path)
        self.w = {
            key.removeprefix("bert."): t.to(torch.float32, copy=True)
            for key, t in state.items()
            if key.startswith("bert.")
        }
        self.slopes = torch.tensor(_slopes(self.config.num_attention_heads))
        self.alibi = self._build_alibi(self.config.alibi_starting_size)

    def _build_alibi(self, size: int) -> torch.Tensor:
        position = torch.arange(size)
        distance = (position[None, :] - position[:, None]).abs()  # (S, S)
        return (self.slopes[:, None, None] * -distance)[None]  # (1, heads, S, S) float32

    def _layer_norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        eps = self.config.layer_norm_eps
        return F.layer_norm(x, x.shape[-1:], self.w[f"{name}.weight"], self.w[f"{name}.bias"], eps)

    def _attention(self, x: torch.Tensor, bias: torch.Tensor, p: str) -> torch.Tensor:
        batch, seq_len, hidden = x.shape
        heads = self.config.num_attention_heads
        qkv = F.linear(x, self.w[p + "attention.self.Wqkv.weight"], self.w[p + "attention.self.Wqkv.bias"])
        qkv = qkv.view(batch, seq_len, 3, heads, hidden // heads)  # (B, S, 3, heads, d)
        q = qkv[:, :, 0].permute(0, 2, 1, 3)  # (B, heads, S, d)
        k = qkv[:, :, 1].permute(0, 2, 3, 1)  # (B, heads, d, S)
        v = qkv[:, :, 2].permute(0, 2, 1, 3)  # (B, heads, S, d)
        scores = torch.matmul(q, k) / math.sqrt(hidden // heads) + bias  # (B, heads, S, S)
        probs = F.softmax(scores, dim=-1)
        attended = torch.matmul(probs, v).permute(0, 2, 1, 3).reshape(batch, seq_len, hidden)  # (B, S, H)
        dense = F.linear(
            attended, self.w[p + "attention.output.dense.weight"], self.w[p + "attention.output.dense.bias"]
        )
        return self._layer_norm(dense + x, p + "attention.output.LayerNorm")

    def _mlp(self, x: torch.Tensor, p: str) -> torch.Tensor:
        gated = F.linear(x, self.w[p + "mlp.gated_layers.weight"])  # (B, S, 2I)
        inter = self.config.intermediate_size
        out = F.linear(
            F.gelu(gated[..., :inter]) * gated[..., inter:],
            self.w[p + "mlp.wo.weight"],
            self.w[p + "mlp.wo.bias"],
        )
        return self._layer_norm(out + x, p + "mlp.layernorm")

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """input_ids int64 (B, S), attention_mask (B, S) -> float32 (B, S, H), padded rows 0."""
        seq_len = input_ids.shape[1]
        if seq_len > self.alibi.shape[-1]:
            self.alibi = self._build_alibi(seq_len)  # grown and kept, as the reference does
        with torch.inference_mode():
            mask_bias = (1.0 - attention_mask[:, None, None, :].float()) * -10000.0  # (B, 1, 1, S)
            bias = self.alibi[:, :, :seq_len, :seq_len] + mask_bias  # (B, heads, S, S) float32
            x = (
                self.w["embeddings.word_embeddings.weight"][input_ids]
                + self.w["embeddings.token_type_embeddings.weight"][0]
            )
            x = self._layer_norm(x, "embeddings.LayerNorm")
            for layer in range(self.config.num_hidden_layers):
                p = f"encoder.layer.{layer}."
                x = self._mlp(self._attention(x, bias, p), p)
            return x * attention_mask[..., None].float()
