"""DNABERT-2 building blocks: embeddings, ALiBi self-attention, gated-GELU MLP, encoder layer.

Attribute names equal the official checkpoint keys without the ``bert.`` prefix
(``encoder.layer.3.attention.self.Wqkv``, ``encoder.layer.3.mlp.gated_layers``...), so loading
needs no renaming table. Post-LN everywhere; no position embeddings (ALiBi carries position).

Attention kernels (an explicit setting, never picked by whether an import works):

* ``"sdpa"`` (default, ``FusedAlibiAttention``): ``torch.nn.functional.scaled_dot_product_attention``
  with an additive ALiBi bias. Rows are grouped by their span of real tokens (right- or left-padded
  rows of one length form one group) and each group attends over its real tokens only, so padding
  needs no mask at all. Keys and values are fed in reverse order; ALiBi depends only on i - j, so
  the bias is then a strided view of one (heads, 2L - 1) line: nothing of size L x L exists.
  Offsets whose bias is below ``ALIBI_CUTOFF`` (-80) get -inf: their softmax weight relative to the
  query's own key (bias 0) is below e^-80 times e^(logit spread), which leaves every fp32 sum
  unchanged unless one query's q·k/sqrt(d) logits span more than ~55 (see ``_alibi_line``); it
  spares the kernel the subnormal exponentials those far keys would otherwise produce (-25 % time
  at 2,048 tokens on CPU). Masks with holes (a zero between ones) fall back to one materialised
  (B, heads, S, S) bias in natural key order, without the cutoff.
  CPU (fp32 and bf16): PyTorch's fused flash-attention CPU kernel (blocked online softmax: no
  (S, S) scores or probabilities are materialised); the bias is float32 whatever the compute dtype
  (the kernel adds it to float32 scores), bf16 matmuls go through oneDNN with AMX / AVX-512-BF16.
  CUDA (not measured here): the bias is in the compute dtype, as PyTorch's memory-efficient kernel
  requires; a float bias rules out the flash kernel, and PyTorch may copy the strided bias into an
  aligned (heads, L, L) buffer.
* ``"eager"`` (``EagerAlibiAttention``): explicit ``softmax(q kᵀ / sqrt(d) + bias) v`` with the
  bias materialised in key order and -10000 at padded keys, as the reference does, no cutoff. For
  debugging and cross-checking only.

Memory per forward for the sdpa bias: a few KiB (heads x (2L - 1) per group). The eager kernel
holds the (B, heads, S, S) bias plus about three (B, heads, S, S) tensors per layer (~576 MiB in
fp32 for one 2,048-token window).
"""

from __future__ import annotations

import itertools
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

# ALiBi offsets with a bias below this are dropped (-inf) by the fused kernel; see ``_alibi_line``.
ALIBI_CUTOFF = -80.0


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


def _alibi_line(slopes: torch.Tensor, seq_len: int, dtype: torch.dtype, cutoff: bool) -> torch.Tensor:
    """ALiBi bias by key-query offset: float32 (heads,) slopes -> ``dtype`` (heads, 2S - 1).

    Entry [h, S - 1 + t] is -slope[h] * |t|, formed in float32 and rounded once into ``dtype``.
    With ``cutoff``, entries below ``ALIBI_CUTOFF`` are -inf. Why that changes nothing in float32:
    with logits a_j = q·k_j / sqrt(d), a query's softmax sum holds its own key's term (bias 0),
    and a dropped key's term is exp(a_j - a_own + bias) < exp(spread - 80) times it, spread being
    the query's largest minus smallest logit. With S keys the dropped weight is below
    S * exp(spread - 80) of the sum: under half an fp32 ulp (2^-24) while spread < 80 - ln S - 16.6,
    i.e. 55 at S = 2,048 (a softmax whose weights differ by a factor e^55). Each output coordinate
    moves by less than that fraction of max |v|.
    """
    offset = torch.arange(1 - seq_len, seq_len, device=slopes.device, dtype=torch.float32).abs_()  # (2S - 1,)
    line = offset[None, :] * -slopes[:, None]  # (heads, 2S - 1) float32
    if cutoff:
        line = line.masked_fill(line < ALIBI_CUTOFF, float("-inf"))
    return line.to(dtype)


def attention_bias(slopes: torch.Tensor, attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Materialised additive bias in key order: ALiBi ``-slope[h] * |i - j|`` plus -10000 at padded keys.

    slopes: float32 (heads,) on the compute device. attention_mask: (B, S), nonzero = real token.
    Returns ``dtype`` (B, heads, S, S) (the reference's tensor; no cutoff).
    """
    seq_len = attention_mask.shape[1]
    line = _alibi_line(slopes, seq_len, dtype, cutoff=False)  # (heads, 2S - 1)
    alibi = line.unfold(1, seq_len, 1).flip(1)[None]  # (1, heads, S, S), row i = line[:, S-1-i : 2S-1-i]
    key_padding = (attention_mask == 0).to(dtype) * KEY_PADDING_BIAS  # (B, S)
    return alibi + key_padding[:, None, None, :]  # (B, heads, S, S)


def reversed_key_alibi(slopes: torch.Tensor, seq_len: int, dtype: torch.dtype) -> torch.Tensor:
    """ALiBi bias for keys in reverse order, with the cutoff: a ``dtype`` (1, heads, S, S) strided view.

    Column c is key S - 1 - c, so row i is the contiguous slice [i, i + S) of the (heads, 2S - 1)
    line: the whole bias is a view of that line and needs no S x S memory.
    """
    line = _alibi_line(slopes, seq_len, dtype, cutoff=True)  # (heads, 2S - 1)
    return line.as_strided((1, line.shape[0], seq_len, seq_len), (0, 2 * seq_len - 1, 1, 1))


def token_spans(attention_mask: torch.Tensor) -> list[tuple[int, int]] | None:
    """Each row's real tokens as ``(start, end)``, or None when some row has a hole (0 between 1s).

    Right padding gives (0, length), left padding (S - length, S), an all-padding row (0, 0).
    """
    mask = attention_mask.detach().to("cpu", torch.bool)  # (B, S)
    lengths = mask.sum(1)  # (B,)
    starts = torch.where(lengths > 0, mask.to(torch.int8).argmax(1), 0)  # first real token
    positions = torch.arange(mask.shape[1])
    contiguous = (positions >= starts[:, None]) & (positions < (starts + lengths)[:, None])
    if not torch.equal(contiguous, mask):
        return None
    return [(start, start + length) for start, length in zip(starts.tolist(), lengths.tolist(), strict=True)]


class FusedAlibiAttention:
    """``scaled_dot_product_attention`` over rows grouped by their token span (module docstring).

    Built once per forward from the attention mask and shared by every layer. Call with q, k, v
    (B, heads, S, d); returns (B, S, heads, d), zeros at padded positions.
    """

    def __init__(self, slopes: torch.Tensor, attention_mask: torch.Tensor, dtype: torch.dtype) -> None:
        bias_dtype = torch.float32 if attention_mask.device.type == "cpu" else dtype
        seq_len = attention_mask.shape[1]
        spans = token_spans(attention_mask)
        self.unpadded = bool(spans) and all(span == (0, seq_len) for span in spans)
        self.dense_bias = None if spans is not None else attention_bias(slopes, attention_mask, bias_dtype)
        self.groups: list[tuple[slice, slice, torch.Tensor]] = []  # (rows, tokens, reversed-key bias)
        biases: dict[int, torch.Tensor] = {}
        row = 0
        for (start, end), run in itertools.groupby(spans or []):  # consecutive rows with one span
            rows = len(list(run))
            if end > start:
                length = end - start
                if length not in biases:
                    biases[length] = reversed_key_alibi(slopes, length, bias_dtype)
                self.groups.append((slice(row, row + rows), slice(start, end), biases[length]))
            row += rows

    def __call__(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        if self.dense_bias is not None:  # a mask with holes: natural key order, materialised bias
            return F.scaled_dot_product_attention(q, k, v, attn_mask=self.dense_bias).transpose(1, 2)
        if self.unpadded:
            ((_, _, bias),) = self.groups
            return F.scaled_dot_product_attention(q, k.flip(2), v.flip(2), attn_mask=bias).transpose(1, 2)
        out = q.new_zeros(q.shape[0], q.shape[2], q.shape[1], q.shape[3])  # (B, S, heads, d)
        for rows, tokens, bias in self.groups:
            keys, values = k[rows, :, tokens].flip(2), v[rows, :, tokens].flip(2)
            attended = F.scaled_dot_product_attention(q[rows, :, tokens], keys, values, attn_mask=bias)
            out[rows, tokens] = attended.transpose(1, 2)
        return out


class EagerAlibiAttention:
    """Reference attention: explicit softmax over the materialised bias (-10000 at padded keys).

    Call with q, k, v (B, heads, S, d); returns (B, S, heads, d).
    """

    def __init__(self, slopes: torch.Tensor, attention_mask: torch.Tensor, dtype: torch.dtype) -> None:
        self.bias = attention_bias(slopes, attention_mask, dtype)  # (B, heads, S, S)

    def __call__(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(q.shape[-1]) + self.bias  # (B, heads, S, S)
        return torch.matmul(scores.softmax(dim=-1), v).transpose(1, 2)  # (B, S, heads, d)


AlibiAttention = FusedAlibiAttention | EagerAlibiAttention


def alibi_attention(
    kernel: str, slopes: torch.Tensor, attention_mask: torch.Tensor, dtype: torch.dtype
) -> AlibiAttention:
    """The attention function of one forward pass for ``kernel`` (checked when the model was built)."""
    attention = FusedAlibiAttention if kernel == "sdpa" else EagerAlibiAttention
    return attention(slopes, attention_mask, dtype)


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


class PairedPrecisionLinear(nn.Linear):
    """``nn.Linear`` that a reduced-precision model holds as a pair of weight matrices, hi + lo.

    ``split_precision(dtype)`` keeps hi = W rounded to ``dtype`` and lo = (W - hi) rounded to ``dtype``
    and multiplies ``[x, x]`` by ``[hi, lo]ᵀ`` in one GEMM (bf16 GEMMs accumulate in float32): the
    product sees about 16 significant bits of W instead of 8, at twice this layer's FLOPs. A weight's
    rounding error is the same for every token, so unlike activation rounding it survives mean
    pooling; the attention projections (QKV and output) are the layers where it costs most per FLOP
    (``set_compute_dtype``). Until ``split_precision`` is called this is a plain ``nn.Linear``.
    """

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__(in_features, out_features)
        self.register_buffer("weight_pair", None, persistent=False)

    def split_precision(self, dtype: torch.dtype) -> None:
        """Hold the weight as a ``dtype`` (out, 2 * in) [hi, lo] pair; ``weight`` becomes its hi half."""
        full = self.weight.detach().float()  # (out, in)
        high = full.to(dtype)
        self.weight_pair = torch.cat([high, (full - high.float()).to(dtype)], dim=1)  # (out, 2 * in)
        self.weight = nn.Parameter(self.weight_pair[:, : self.in_features], requires_grad=False)  # a view
        self.bias = nn.Parameter(self.bias.detach().to(dtype), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., in) -> (..., out)."""
        if self.weight_pair is None:
            return super().forward(x)
        return F.linear(torch.cat([x, x], dim=-1), self.weight_pair, self.bias)


class AlibiSelfAttention(nn.Module):
    """Fused QKV projection and multi-head attention with an additive ALiBi bias."""

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_dim = config.head_dim
        # Output features are laid out (qkv, head, d): rows [0, H) are Q, [H, 2H) K, [2H, 3H) V.
        self.Wqkv = PairedPrecisionLinear(config.hidden_size, 3 * config.hidden_size)

    def forward(self, x: torch.Tensor, attend: AlibiAttention) -> torch.Tensor:
        """x (B, S, H) -> (B, S, H)."""
        batch, seq_len, hidden = x.shape
        qkv = self.Wqkv(x).view(batch, seq_len, 3, self.num_heads, self.head_dim)  # (B, S, 3, heads, d)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, heads, S, d), strided views
        return attend(q, k, v).reshape(batch, seq_len, hidden)  # (B, S, heads, d) -> (B, S, H)


class SelfOutput(nn.Module):
    """Attention output projection, residual, post-LayerNorm (``attention.output``)."""

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__()
        self.dense = PairedPrecisionLinear(config.hidden_size, config.hidden_size)
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

    def forward(self, x: torch.Tensor, attend: AlibiAttention) -> torch.Tensor:
        """x (B, S, H) -> (B, S, H)."""
        return self.output(self.self(x, attend), x)


class Scratch:
    """Buffers of one forward pass that every layer reuses in turn.

    The gated-MLP output is (tokens, 2 x intermediate): 48 MiB in fp32 for one 2,048-token window.
    Allocated fresh in each of the 12 layers it costs ~8 % of the fp32 forward on CPU (new pages
    faulted in and zeroed each time); written into one buffer with ``out=`` it costs nothing extra
    and gives bitwise the same numbers.
    """

    def __init__(self) -> None:
        self._buffers: dict[str, torch.Tensor] = {}

    def buffer(self, name: str, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        """An uninitialised ``shape`` tensor with ``like``'s dtype and device, the same one on every call."""
        buffer = self._buffers.get(name)
        if buffer is None or buffer.shape != shape or buffer.dtype != like.dtype or buffer.device != like.device:
            buffer = self._buffers[name] = torch.empty(shape, dtype=like.dtype, device=like.device)
        return buffer


class GatedMlp(nn.Module):
    """GEGLU MLP: GELU(first half of ``gated_layers``) * second half -> ``wo`` -> residual -> LayerNorm."""

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__()
        self.intermediate_size = config.intermediate_size
        self.gated_layers = nn.Linear(config.hidden_size, 2 * config.intermediate_size, bias=False)
        self.wo = nn.Linear(config.intermediate_size, config.hidden_size)
        self.layernorm = Float32LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, x: torch.Tensor, scratch: Scratch) -> torch.Tensor:
        """x (B, S, H) -> (B, S, H)."""
        tokens = x.reshape(-1, x.shape[-1])  # (B * S, H)
        gated = scratch.buffer("gated", (tokens.shape[0], 2 * self.intermediate_size), x)
        torch.mm(tokens, self.gated_layers.weight.t(), out=gated)  # (B * S, 2I)
        gate, value = gated.split(self.intermediate_size, dim=-1)  # each (B * S, I)
        return self.layernorm(self.wo(F.gelu(gate).mul_(value)).view_as(x) + x)


class Layer(nn.Module):
    """One encoder layer (``encoder.layer.{i}``): attention then gated MLP."""

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__()
        self.attention = Attention(config)
        self.mlp = GatedMlp(config)

    def forward(self, x: torch.Tensor, attend: AlibiAttention, scratch: Scratch) -> torch.Tensor:
        """x (B, S, H) -> (B, S, H)."""
        return self.mlp(self.attention(x, attend), scratch)


class Encoder(nn.Module):
    """The stack of encoder layers (``encoder.layer``)."""

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__()
        self.layer = nn.ModuleList(Layer(config) for _ in range(config.num_hidden_layers))

    def forward(self, x: torch.Tensor, attend: AlibiAttention, all_layers: bool) -> list[torch.Tensor]:
        """x (B, S, H) -> [last layer's output] or, with ``all_layers``, every layer's output (B, S, H)."""
        outputs = []
        scratch = Scratch()
        for layer in self.layer:
            x = layer(x, attend, scratch)
            if all_layers:
                outputs.append(x)
        return outputs if all_layers else [x]
