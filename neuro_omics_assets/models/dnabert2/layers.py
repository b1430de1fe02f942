"""DNABERT-2 building blocks: embeddings, ALiBi self-attention, gated-GELU MLP, encoder layer.

Attribute names equal the official checkpoint keys without the ``bert.`` prefix
(``encoder.layer.3.attention.self.Wqkv``, ``encoder.layer.3.mlp.gated_layers``...), so loading
needs no renaming table. Post-LN everywhere; no position embeddings (ALiBi carries position).

Attention kernels (an explicit setting, never picked by whether an import works):

* ``"sdpa"`` (default): ``torch.nn.functional.scaled_dot_product_attention`` with an additive bias
  in the compute dtype, built once per forward and shared by all layers. Keys and values are fed in
  reverse order; ALiBi depends only on i - j, so the bias is then a strided view of one
  (heads, 2S - 1) line and nothing of size S x S exists unless the batch has padding.
  CPU (fp32 and bf16): PyTorch's fused flash-attention CPU kernel (blocked online softmax: no
  (S, S) scores or probabilities are materialised); bf16 matmuls go through oneDNN, which uses
  AMX / AVX-512-BF16 where the CPU has them. CUDA (not measured here): a float bias rules out the
  flash kernel, so PyTorch runs its memory-efficient (or cuDNN) kernel, which reads the bias
  block-wise; it may first copy the bias into an aligned buffer.
* ``"eager"``: explicit ``softmax(q kᵀ / sqrt(d) + bias) v`` with the bias materialised in key
  order, as the reference does. For debugging and cross-checking only.

Memory per forward for the bias: a few KiB (heads x (2S - 1)) when no position is padded; with
padding (B, heads, S, S) in the compute dtype, i.e. 96 MiB per 2,048-token row in bf16 and 192 MiB
in fp32 for 12 heads. The eager kernel additionally holds about three (B, heads, S, S) tensors per
layer (~576 MiB in fp32 for one 2,048-token window).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from neuro_omics_assets.errors import ConfigError
from neuro_omics_assets.models.dnabert2.config import Dnabert2Config

ATTENTION_KERNELS = ("sdpa", "eager")

# Additive bias of a padded key: the reference's value (not -inf), so a row whose keys are all
# padding still gets a defined (uniform) softmax instead of NaN. Its output row is zeroed anyway.
KEY_PADDING_BIAS = -10000.0


def check_attention_kernel(name: str) -> None:
    """ConfigError unless ``name`` is one of ``ATTENTION_KERNELS``."""
    if name not in ATTENTION_KERNELS:
        raise ConfigError(f"attention={name!r} is not a kernel; choose one of {ATTENTION_KERNELS}.")


def alibi_slopes(num_heads: int) -> list[float]:
    """Per-head ALiBi slopes in the reference's order.

    A power of two n gives ``2^(-8(i+1)/n)``. Otherwise, with c the largest power of two below n:
    the c slopes of c heads, then every other slope of 2c heads, the first n - c of them
    (appended, not sorted): 6 heads -> [1/4, 1/16, 1/64, 1/256, 1/2, 1/8].
    """
    closest = 2 ** math.floor(math.log2(num_heads))
    if closest == num_heads:
        start = 2.0 ** (-8.0 / num_heads)
        return [start ** (i + 1) for i in range(num_heads)]
    return alibi_slopes(closest) + alibi_slopes(2 * closest)[0::2][: num_heads - closest]


def _alibi_line(slopes: torch.Tensor, seq_len: int, dtype: torch.dtype) -> torch.Tensor:
    """ALiBi bias by key-query offset: float32 (heads,) slopes -> ``dtype`` (heads, 2S - 1).

    Entry [h, S - 1 + t] is -slope[h] * |t|; formed in float32 and rounded once into ``dtype``.
    """
    offset = torch.arange(1 - seq_len, seq_len, device=slopes.device, dtype=torch.float32).abs_()  # (2S - 1,)
    return (offset[None, :] * -slopes[:, None]).to(dtype)  # (heads, 2S - 1)


def attention_bias(
    slopes: torch.Tensor, attention_mask: torch.Tensor, dtype: torch.dtype, keys_reversed: bool
) -> torch.Tensor:
    """Additive attention bias: ALiBi ``-slope[h] * |i - j|`` plus -10000 at padded keys.

    slopes: float32 (heads,) on the compute device. attention_mask: (B, S), nonzero = real token.
    Returns ``dtype`` (1, heads, S, S) when no position is padded, else (B, heads, S, S).

    ``keys_reversed=False``: column j is key j; the tensor is materialised (the eager kernel).
    ``keys_reversed=True``: column c is key S - 1 - c, for attention run on keys in reverse order.
    ALiBi depends on i - j only, so then row i is the contiguous slice [i, i + S) of the
    (heads, 2S - 1) line and the whole bias is a strided view of it: no S x S memory unless
    padding has to be added.
    """
    seq_len = attention_mask.shape[1]
    line = _alibi_line(slopes, seq_len, dtype)  # (heads, 2S - 1)
    if keys_reversed:
        bias = line.as_strided((1, line.shape[0], seq_len, seq_len), (0, 2 * seq_len - 1, 1, 1))
    else:
        bias = line.unfold(1, seq_len, 1).flip(1)[None]  # (1, heads, S, S), row i = line[:, S-1-i : 2S-1-i]
    if bool(attention_mask.all()):
        return bias
    key_padding = (attention_mask == 0).to(dtype) * KEY_PADDING_BIAS  # (B, S)
    if keys_reversed:
        key_padding = key_padding.flip(1)
    return bias + key_padding[:, None, None, :]  # (B, heads, S, S)


def eager_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Reference attention: q, k, v (B, heads, S, d); bias (B or 1, heads, S, S) -> (B, heads, S, d)."""
    scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(q.shape[-1]) + bias  # (B, heads, S, S)
    return torch.matmul(scores.softmax(dim=-1), v)  # (B, heads, S, d)


class Float32LayerNorm(nn.LayerNorm):
    """LayerNorm computed in float32 with float32 parameters; returns the input's dtype.

    Its parameters stay float32 in a bf16 model (see ``model.set_compute_dtype``): rounding the
    gains to bf16 is a per-channel error that mean pooling does not average away.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., H) -> (..., H) in ``x.dtype``."""
        return F.layer_norm(x.float(), self.normalized_shape, self.weight, self.bias, self.eps).to(x.dtype)


class Embeddings(nn.Module):
    """Word + token-type embeddings, then LayerNorm. No position embeddings."""

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = Float32LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """input_ids int64 (B, S) -> (B, S, H). Single sequences have token type 0 everywhere."""
        x = self.word_embeddings(input_ids) + self.token_type_embeddings.weight[0]  # (B, S, H)
        return self.LayerNorm(x)


class AlibiSelfAttention(nn.Module):
    """Fused QKV projection and multi-head attention with an additive ALiBi bias."""

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_dim = config.head_dim
        # Output features are laid out (qkv, head, d): rows [0, H) are Q, [H, 2H) K, [2H, 3H) V.
        self.Wqkv = nn.Linear(config.hidden_size, 3 * config.hidden_size)

    def forward(self, x: torch.Tensor, bias: torch.Tensor, kernel: str) -> torch.Tensor:
        """x (B, S, H), bias (B or 1, heads, S, S) -> (B, S, H)."""
        batch, seq_len, hidden = x.shape
        qkv = self.Wqkv(x).view(batch, seq_len, 3, self.num_heads, self.head_dim)  # (B, S, 3, heads, d)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, heads, S, d), strided views
        if kernel == "sdpa":  # keys in reverse order, matching attention_bias(keys_reversed=True)
            out = F.scaled_dot_product_attention(q, k.flip(2), v.flip(2), attn_mask=bias)  # (B, heads, S, d)
        else:
            out = eager_attention(q, k, v, bias)  # (B, heads, S, d)
        return out.transpose(1, 2).reshape(batch, seq_len, hidden)  # (B, S, H)


class SelfOutput(nn.Module):
    """Attention output projection, residual, post-LayerNorm (``attention.output``)."""

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = Float32LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, attended: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        """attended, residual (B, S, H) -> (B, S, H)."""
        return self.LayerNorm(self.dense(attended) + residual)


class Attention(nn.Module):
    """``attention.self`` (ALiBi attention) followed by ``attention.output``."""

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__()
        self.self = AlibiSelfAttention(config)
        self.output = SelfOutput(config)

    def forward(self, x: torch.Tensor, bias: torch.Tensor, kernel: str) -> torch.Tensor:
        """x (B, S, H) -> (B, S, H)."""
        return self.output(self.self(x, bias, kernel), x)


class GatedMlp(nn.Module):
    """GEGLU MLP: GELU(first half of ``gated_layers``) * second half -> ``wo`` -> residual -> LayerNorm."""

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__()
        self.intermediate_size = config.intermediate_size
        self.gated_layers = nn.Linear(config.hidden_size, 2 * config.intermediate_size, bias=False)
        self.wo = nn.Linear(config.intermediate_size, config.hidden_size)
        self.layernorm = Float32LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, S, H) -> (B, S, H)."""
        gate, value = self.gated_layers(x).split(self.intermediate_size, dim=-1)  # each (B, S, I)
        return self.layernorm(self.wo(F.gelu(gate).mul_(value)) + x)


class Layer(nn.Module):
    """One encoder layer (``encoder.layer.{i}``): attention then gated MLP."""

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__()
        self.attention = Attention(config)
        self.mlp = GatedMlp(config)

    def forward(self, x: torch.Tensor, bias: torch.Tensor, kernel: str) -> torch.Tensor:
        """x (B, S, H) -> (B, S, H)."""
        return self.mlp(self.attention(x, bias, kernel))


class Encoder(nn.Module):
    """The stack of encoder layers (``encoder.layer``)."""

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__()
        self.layer = nn.ModuleList(Layer(config) for _ in range(config.num_hidden_layers))

    def forward(
        self, x: torch.Tensor, bias: torch.Tensor, kernel: str, all_layers: bool
    ) -> list[torch.Tensor]:
        """x (B, S, H) -> [last layer's output] or, with ``all_layers``, every layer's output (B, S, H)."""
        outputs = []
        for layer in self.layer:
            x = layer(x, bias, kernel)
            if all_layers:
                outputs.append(x)
        return outputs if all_layers else [x]
