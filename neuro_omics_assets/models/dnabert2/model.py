"""DNABERT-2 networks: the encoder (``bert.*`` keys) and the masked-LM head (``cls.predictions.*``).

``Dnabert2ForMaskedLM`` mirrors the official ``BertForMaskedLM`` state dict exactly, so a checkpoint
loads by key. The checkpoint has no pooler, and none is built: pool the token states yourself.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from neuro_omics_assets.errors import ModelLoadError
from neuro_omics_assets.models.dnabert2.config import Dnabert2Config
from neuro_omics_assets.models.dnabert2.layers import (
    Embeddings,
    Encoder,
    Float32LayerNorm,
    PairedPrecisionLinear,
    alibi_attention,
    alibi_slopes,
    check_attention_kernel,
)

# The reference builds its MLM-head LayerNorm with eps 1e-12 whatever config.json says.
MLM_HEAD_LAYER_NORM_EPS = 1e-12


class Dnabert2Model(nn.Module):
    """Embeddings + encoder layers; returns the last hidden state, padded rows exactly 0."""

    def __init__(self, config: Dnabert2Config, attention: str = "sdpa") -> None:
        super().__init__()
        check_attention_kernel(attention)
        self.config = config
        self.attention_kernel = attention
        self.slopes = alibi_slopes(config.num_attention_heads)
        self.embeddings = Embeddings(config)
        self.encoder = Encoder(config)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, all_layers: bool = False
    ) -> torch.Tensor:
        """input_ids int64 (B, S), attention_mask (B, S) with 1 = real token.

        Returns (B, S, H), or with ``all_layers`` (L + 1, B, S, H): the embedding output then
        each layer's output. Rows at padded positions are exactly 0.
        """
        x = self.embeddings(input_ids)  # (B, S, H)
        slopes = torch.tensor(self.slopes, dtype=torch.float32, device=x.device)  # (heads,)
        attend = alibi_attention(self.attention_kernel, slopes, attention_mask, x.dtype)
        outputs = self.encoder(x, attend, all_layers)
        if all_layers:
            outputs = [x, *outputs]
        is_padding = (attention_mask == 0)[..., None]  # (B, S, 1)
        zeroed = [out.masked_fill(is_padding, 0.0) for out in outputs]
        return torch.stack(zeroed) if all_layers else zeroed[0]


class PredictionHeadTransform(nn.Module):
    """``cls.predictions.transform``: dense -> exact GELU -> LayerNorm."""

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = Float32LayerNorm(config.hidden_size, eps=MLM_HEAD_LAYER_NORM_EPS)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """(B, S, H) -> (B, S, H)."""
        return self.LayerNorm(F.gelu(self.dense(hidden)))


class TiedDecoder(nn.Module):
    """``cls.predictions.decoder``: its weight is the word-embedding matrix, only the bias is its own."""

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, hidden: torch.Tensor, word_embeddings: torch.Tensor) -> torch.Tensor:
        """hidden (B, S, H), word_embeddings (vocab, H) -> logits (B, S, vocab)."""
        return F.linear(hidden, word_embeddings, self.bias)


class PredictionHead(nn.Module):
    """``cls.predictions``: transform then tied decoder."""

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__()
        self.transform = PredictionHeadTransform(config)
        self.decoder = TiedDecoder(config)

    def forward(self, hidden: torch.Tensor, word_embeddings: torch.Tensor) -> torch.Tensor:
        """(B, S, H) -> (B, S, vocab)."""
        return self.decoder(self.transform(hidden), word_embeddings)


class MlmHead(nn.Module):
    """``cls``: holds ``predictions``."""

    def __init__(self, config: Dnabert2Config) -> None:
        super().__init__()
        self.predictions = PredictionHead(config)


class Dnabert2ForMaskedLM(nn.Module):
    """``bert`` encoder plus an optional ``cls`` MLM head (None when the checkpoint has no head)."""

    def __init__(self, config: Dnabert2Config, attention: str = "sdpa", with_mlm_head: bool = True) -> None:
        super().__init__()
        self.bert = Dnabert2Model(config, attention)
        self.cls = MlmHead(config) if with_mlm_head else None

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """input_ids int64 (B, S), attention_mask (B, S) -> MLM logits (B, S, vocab)."""
        if self.cls is None:
            raise ModelLoadError(
                "this checkpoint has no cls.predictions.* tensors, so there is no MLM head; "
                "load the full DNABERT-2 checkpoint (zhihan1996/DNABERT-2-117M) for MLM logits."
            )
        hidden = self.bert(input_ids, attention_mask)  # (B, S, H)
        return self.cls.predictions(hidden, self.bert.embeddings.word_embeddings.weight)


def set_compute_dtype(model: nn.Module, device: torch.device, dtype: torch.dtype) -> nn.Module:
    """Move ``model`` to ``device``; matmul parameters (Linear, Embedding, decoder bias) become ``dtype``.

    Below float32, the attention projections (``Wqkv``, ``attention.output.dense``) are held as hi + lo
    weight pairs (``PairedPrecisionLinear``): on a 117M-shaped random model at 2,048 tokens, rounding
    their weights costs as much pooled-vector accuracy as rounding the 3x larger MLP weights (cosine of
    bf16 vs fp32 mean-pooled vectors 0.99989 with every weight rounded, 0.99994 with these paired), for
    about 14 % more bf16 time. LayerNorm parameters stay float32: rounding them alone gave 0.99982.
    They are 1-D, so this costs no measurable time.
    """
    model.to(device=device)
    for module in model.modules():
        if isinstance(module, PairedPrecisionLinear) and dtype != torch.float32:
            module.split_precision(dtype)
        elif isinstance(module, nn.Linear | nn.Embedding | TiedDecoder):
            module.to(dtype=dtype)
    return model
