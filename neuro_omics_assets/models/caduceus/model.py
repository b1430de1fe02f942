"""Caduceus networks: the backbone (``caduceus.backbone.*`` keys) and the tied masked-LM head (``lm_head.*``).

``CaduceusForMaskedLM`` mirrors the official state dict, minus the tensors the official model ties
(``lm_head.lm_head.weight`` / ``lm_head.weight`` and the reverse Mamba's ``in_proj``/``out_proj``).

Residual stream ("Add -> Norm -> Mixer", the fused-add-norm path of every published checkpoint):

* PH: ``r = h`` (layer 0) or ``h + r``; ``h = M(RMSNorm(r))``; output ``RMSNorm_f(h + r)``.
* PS, hidden (B, L, 2D) in halves ``[1 | 2]``: the official fused RCPS block takes its forward stream from
  half 2 and its RC stream from half 1, so each layer swaps the halves of ``h + r``:
  ``r = swap(h + r)``; ``h = [M(RMSNorm(r1)), F(M(F(RMSNorm_flip(r2))))]`` with F reversing length and
  channels and ``RMSNorm_flip`` using the channel-reversed weight (= F(RMSNorm(F(.)))). The final norm
  does not swap: ``out = [RMSNorm_f(h1 + r1), RMSNorm_f_flip(h2 + r2)]``. The result is exactly
  RC-equivariant: ``out(rc(ids)) = F(out(ids))``.

Inputs carry no padding: the official model has no attention mask (padding tokens would change every
state of the scan), so the encoder runs each real-length group of rows separately.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from neuro_omics_assets.models.caduceus.config import CaduceusConfig
from neuro_omics_assets.models.caduceus.layers import Block, Embeddings, RMSNorm
from neuro_omics_assets.models.caduceus.scan import ScanKernel

# Tokens per chunk of the mixers' L-chunked passes: 16,384 tokens hold ~64 MiB of (T, 2E) float32
# at d_model 256, while per-chunk overhead stays negligible.
DEFAULT_CHUNK_TOKENS = 16384


def _swap_halves_(r: torch.Tensor) -> torch.Tensor:
    """Swap the two channel halves of (B, L, 2D) in place (one (B, L, D) temporary)."""
    d = r.shape[-1] // 2
    first = r[..., :d].clone()
    r[..., :d] = r[..., d:]
    r[..., d:] = first
    return r


class CaduceusBackbone(nn.Module):
    """``caduceus.backbone``: embeddings, ``layers``, ``norm_f``; returns the last hidden state."""

    def __init__(self, config: CaduceusConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = Embeddings(config)
        self.layers = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.norm_f = RMSNorm(config.d_model, config.norm_epsilon)

    def _mix(self, layer: Block, r: torch.Tensor, scan: ScanKernel, chunk_tokens: int) -> torch.Tensor:
        """Normed residual -> mixer output, float32 (B, L, hidden_size)."""
        mixer, d = layer.bimamba, self.config.d_model
        if not self.config.rcps:
            return mixer(layer.norm(r), scan, chunk_tokens)
        h = torch.empty_like(r)
        h[..., :d] = mixer(layer.norm(r[..., :d]), scan, chunk_tokens)
        h[..., d:] = mixer(layer.norm(r[..., d:], flip_channels=True), scan, chunk_tokens, rc=True)
        return h

    def _final_norm(self, s: torch.Tensor) -> torch.Tensor:
        if not self.config.rcps:
            return self.norm_f(s)
        d = self.config.d_model
        return torch.cat([self.norm_f(s[..., :d]), self.norm_f(s[..., d:], flip_channels=True)], dim=-1)

    def forward(
        self,
        input_ids: torch.Tensor,
        scan: ScanKernel,
        chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
        all_layers: bool = False,
    ) -> torch.Tensor:
        """input_ids int64 (B, L), no padding -> float32 (B, L, hidden_size).

        With ``all_layers``: (n_layer + 1, B, L, hidden_size) as the official ``output_hidden_states``:
        the embedding output, the mixer output (not the residual stream) of layers 0..n_layer-2, then
        the final normed output.
        """
        h = self.embeddings(input_ids)  # (B, L, hidden)
        outputs = [h] if all_layers else []
        r = None
        for index, layer in enumerate(self.layers):
            r = h.clone() if r is None else r.add_(h)
            if self.config.rcps:
                _swap_halves_(r)
            del h
            h = self._mix(layer, r, scan, chunk_tokens)
            if all_layers and index < len(self.layers) - 1:
                outputs.append(h)
        out = self._final_norm(r.add_(h))
        if not all_layers:
            return out
        return torch.stack([*outputs, out])


class Caduceus(nn.Module):
    """``caduceus``: holds ``backbone``."""

    def __init__(self, config: CaduceusConfig) -> None:
        super().__init__()
        self.backbone = CaduceusBackbone(config)


class RCPSLMHead(nn.Module):
    """``lm_head`` of PS: tied to the embedding table; its own complement-map buffer.

    ``logits = out1 @ W.T + out2[..., ::-1] @ W[comp].T`` (channel flip only).
    """

    def __init__(self, config: CaduceusConfig) -> None:
        super().__init__()
        self.register_buffer("complement_map", torch.tensor(config.complement_map, dtype=torch.int64))

    def forward(self, hidden: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        """hidden float32 (B, L, 2D), table (V, D) -> logits float32 (B, L, V)."""
        d = table.shape[1]
        table = table.float()
        forward = F.linear(hidden[..., :d], table)
        return forward + F.linear(hidden[..., d:].flip(-1), table[self.complement_map])


class CaduceusForMaskedLM(nn.Module):
    """``caduceus`` backbone plus ``lm_head`` (PS: ``RCPSLMHead``; PH: the tied embedding, no tensors)."""

    def __init__(self, config: CaduceusConfig) -> None:
        super().__init__()
        self.config = config
        self.caduceus = Caduceus(config)
        self.lm_head = RCPSLMHead(config) if config.rcps else None

    @property
    def backbone(self) -> CaduceusBackbone:
        return self.caduceus.backbone

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Last hidden state float32 (B, L, hidden_size) -> MLM logits float32 (B, L, vocab_size)."""
        table = self.backbone.embeddings.table
        if self.lm_head is None:
            return F.linear(hidden, table.float())
        return self.lm_head(hidden, table)


def fold_rc_halves(hidden: torch.Tensor) -> torch.Tensor:
    """PS hidden (..., 2D) -> RC-invariant per-token vectors (..., D): (h1 + h2[..., ::-1]) / 2.

    Half 1 is the forward-strand state of a position, half 2 reversed along channels the RC-strand state
    of the same position, so the mean over positions of this is the official downstream pooled vector
    (``CaduceusForSequenceClassification`` mean pooling, and the repo's ``DNAEmbeddingModelCaduceus`` +
    mean-pool decoder): it is the same for a sequence and its reverse complement.
    """
    d = hidden.shape[-1] // 2
    return (hidden[..., :d] + hidden[..., d:].flip(-1)) / 2


def set_compute_dtype(model: nn.Module, device: torch.device, dtype: torch.dtype) -> nn.Module:
    """Move ``model`` to ``device``; the matmul weights (``in_proj``, ``x_proj``, ``out_proj``) become ``dtype``.

    Everything else (embedding and tied head, conv, ``dt_proj``, ``A_log``, ``D``, norms) stays float32:
    those are small, and ``dt_proj``/``A_log`` set the scan's decay, whose error compounds along L.
    """
    model.to(device=device)
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear) and name.rsplit(".", 1)[-1] in ("in_proj", "x_proj", "out_proj"):
            module.to(dtype=dtype)
    return model
