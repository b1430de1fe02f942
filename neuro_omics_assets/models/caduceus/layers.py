"""Caduceus building blocks: RMSNorm, the bidirectional weight-tied Mamba mixer, the RCPS embedding.

Attribute names equal the official checkpoint keys without the ``caduceus.backbone.`` prefix
(``layers.3.mixer.submodule.mamba_fwd.in_proj`` for PS, ``layers.3.mixer.mamba_fwd.in_proj`` for PH), so
loading needs no renaming table. ``mamba_rev`` holds no ``in_proj``/``out_proj``: the official model ties
them to ``mamba_fwd``'s, and the checkpoints store them once.

One bidirectional mixer M (``BiMambaWrapper``, strategy "add") on x (B, L, d_model)::

    x_in, z = in_proj(x)                                   # (B, L, E) each, row-wise
    s_fwd = ssm_fwd(silu(causal_conv_fwd(x_in)))           # scan left to right, incl. the D skip
    s_rev = ssm_rev(silu(anticausal_conv_rev(x_in)))       # the official flip -> Mamba -> flip, unflipped
    M(x) = out_proj((s_fwd + s_rev) ⊙ silu(z))

The official code runs ``mamba_fwd(x) + flip(mamba_rev(flip(x)))``; with the tied, row-wise ``in_proj``
and linear ``out_proj`` that equals the line above, which computes each projection once instead of twice.
The RC strand of a PS layer computes F(M(F(x))) (F reverses length and channels) without flipping any
activation: F on the input is ``in_proj`` with its columns reversed, F on the output is ``out_proj`` with
its rows reversed, and the length flip swaps which parameters scan causally (``rc=True``).

Long inputs are processed in chunks of ``chunk_tokens`` along L (the scan state and the conv context are
carried across chunks), so activations beyond a few (L, E) tensors are never materialised.
Matmuls run in the weights' dtype; the conv, softplus, scan, gate and norms run in float32.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from neuro_omics_assets.models.caduceus.config import CaduceusConfig
from neuro_omics_assets.models.caduceus.scan import ScanKernel


def linear(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """float32 (..., in) @ weight (out, in).T in the weight's dtype -> float32 (..., out)."""
    return F.linear(x.to(weight.dtype), weight).float()


class RMSNorm(nn.Module):
    """``x * rsqrt(mean(x², -1) + eps) * weight`` in float32, no bias (mamba_ssm ``rms_norm_ref``)."""

    def __init__(self, size: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(size))

    def forward(self, x: torch.Tensor, flip_channels: bool = False) -> torch.Tensor:
        """float32 (..., size) -> (..., size); ``flip_channels`` uses the reversed weight (F(norm(F(x))))."""
        weight = self.weight.flip(0) if flip_channels else self.weight
        rstd = torch.rsqrt(x.square().mean(dim=-1, keepdim=True) + self.eps)
        return (x * rstd) * weight.float()


class SsmBranch(nn.Module):
    """Per-direction Mamba parameters: ``conv1d``, ``x_proj``, ``dt_proj``, ``A_log``, ``D``."""

    def __init__(self, config: CaduceusConfig) -> None:
        super().__init__()
        e, n, r = config.d_inner, config.d_state, config.dt_rank_value
        self.d_state, self.dt_rank = n, r
        self.conv1d = nn.Conv1d(e, e, config.d_conv, groups=e, padding=config.d_conv - 1, bias=True)
        self.x_proj = nn.Linear(e, r + 2 * n, bias=False)
        self.dt_proj = nn.Linear(r, e, bias=True)
        self.A_log = nn.Parameter(torch.zeros(e, n))
        self.D = nn.Parameter(torch.ones(e))

    def scan_inputs(self, kernel: ScanKernel, x_in: torch.Tensor, pad: int, anticausal: bool) -> tuple:
        """x_in float32 (B, T + K - 1 - pad, E): a chunk with its conv context, ``pad`` edge positions missing.

        Returns u, dt float32 (B, T, E) (dt before bias and softplus) and B, C float32 (B, T, N), contiguous.
        A causal conv reads the K - 1 positions before each token, an anticausal one those after it.
        """
        u = kernel.conv_silu(
            x_in, self.conv1d.weight[:, 0].float(), self.conv1d.bias.float(), pad, anticausal
        )
        x_dbl = linear(u, self.x_proj.weight)  # (B, T, R + 2N)
        dt, b, c = torch.split(x_dbl, [self.dt_rank, self.d_state, self.d_state], dim=-1)
        dt = F.linear(dt, self.dt_proj.weight.float())  # (B, T, E)
        return u, dt, b.contiguous(), c.contiguous()

    def run_scan(
        self, kernel: ScanKernel, chunk: tuple, z: torch.Tensor | None, state: torch.Tensor, out: torch.Tensor
    ) -> None:
        """Scan ``chunk`` from ``state`` into ``out``: the causal pass (z None) writes it, the anticausal
        pass (given the gate z (B, T, E)) scans in reverse, adds, and applies silu(z)."""
        u, dt, b, c = chunk
        a = -torch.exp(self.A_log.float())  # (E, N)
        reverse = z is not None
        kernel.scan(
            u,
            dt,
            a,
            b,
            c,
            self.D.float(),
            z,
            self.dt_proj.bias.float(),
            state,
            out,
            accumulate=reverse,
            reverse=reverse,
        )


class Mamba(SsmBranch):
    """``mamba_fwd``: one direction's parameters plus the shared ``in_proj``/``out_proj`` (no biases)."""

    def __init__(self, config: CaduceusConfig) -> None:
        super().__init__(config)
        self.in_proj = nn.Linear(config.d_model, 2 * config.d_inner, bias=False)
        self.out_proj = nn.Linear(config.d_inner, config.d_model, bias=False)


class BiMambaWrapper(nn.Module):
    """``mixer`` (PH) / ``mixer.submodule`` (PS): ``mamba_fwd`` + ``mamba_rev`` with tied projections."""

    def __init__(self, config: CaduceusConfig) -> None:
        super().__init__()
        self.d_conv = config.d_conv
        self.mamba_fwd = Mamba(config)
        self.mamba_rev = SsmBranch(config)

    def forward(
        self, x: torch.Tensor, kernel: ScanKernel, chunk_tokens: int, rc: bool = False
    ) -> torch.Tensor:
        """float32 (B, L, d_model) -> M(x), or F(M(F(x))) with ``rc``; float32 (B, L, d_model)."""
        w_in, w_out = self.mamba_fwd.in_proj.weight, self.mamba_fwd.out_proj.weight
        causal, anticausal = self.mamba_fwd, self.mamba_rev
        if rc:
            w_in, w_out = w_in.flip(1), w_out.flip(0)
            causal, anticausal = anticausal, causal
        e = w_in.shape[0] // 2
        w_x, w_z = w_in[:e], w_in[e:]
        rows, length, _ = x.shape
        step = chunk_tokens if kernel.carries_state else length
        bounds = [(start, min(start + step, length)) for start in range(0, length, step)]
        ctx = self.d_conv - 1
        scanned = torch.empty(rows, length, e, dtype=torch.float32, device=x.device)  # s_fwd, then gated sum
        state = torch.zeros(rows, e, causal.d_state, dtype=torch.float32, device=x.device)
        x_in = None
        for start, stop in bounds:
            lo = max(0, start - ctx)
            x_in = linear(x[:, lo:stop], w_x)  # (B, T + context, E)
            chunk = causal.scan_inputs(kernel, x_in, pad=ctx - (start - lo), anticausal=False)
            causal.run_scan(kernel, chunk, None, state, scanned[:, start:stop])
        state.zero_()
        out = torch.empty(rows, length, w_out.shape[0], dtype=torch.float32, device=x.device)
        for start, stop in reversed(bounds):
            hi = min(length, stop + ctx)
            if len(bounds) > 1:  # one chunk: reuse the causal pass's projection
                x_in = linear(x[:, start:hi], w_x)
            chunk = anticausal.scan_inputs(kernel, x_in, pad=ctx - (hi - stop), anticausal=True)
            z = linear(x[:, start:stop], w_z)  # (B, T, E)
            anticausal.run_scan(kernel, chunk, z, state, scanned[:, start:stop])  # now gated
            out[:, start:stop] = linear(scanned[:, start:stop], w_out)
        return out


class RCPSWrapper(nn.Module):
    """``mixer`` of a PS layer: the one ``submodule`` applied to both strands."""

    def __init__(self, config: CaduceusConfig) -> None:
        super().__init__()
        self.submodule = BiMambaWrapper(config)


class Block(nn.Module):
    """``layers.{i}``: ``norm`` (RMSNorm) and ``mixer``; the residual adds live in the backbone."""

    def __init__(self, config: CaduceusConfig) -> None:
        super().__init__()
        self.norm = RMSNorm(config.d_model, config.norm_epsilon)
        self.mixer = RCPSWrapper(config) if config.rcps else BiMambaWrapper(config)

    @property
    def bimamba(self) -> BiMambaWrapper:
        return self.mixer.submodule if isinstance(self.mixer, RCPSWrapper) else self.mixer


class RCPSEmbedding(nn.Module):
    """``word_embeddings`` of PS: one table and the complement map (an int64 buffer in the checkpoint)."""

    def __init__(self, config: CaduceusConfig) -> None:
        super().__init__()
        self.embedding = nn.Embedding(config.vocab_size, config.d_model)
        self.register_buffer("complement_map", torch.tensor(config.complement_map, dtype=torch.int64))

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """int64 (B, L) -> float32 (B, L, 2 d_model): [W[ids], W[comp[ids]] with channels reversed]."""
        weight = self.embedding.weight.float()
        forward = F.embedding(input_ids, weight)
        rc = F.embedding(self.complement_map[input_ids], weight).flip(-1)
        return torch.cat([forward, rc], dim=-1)


class Embeddings(nn.Module):
    """``embeddings``: holds ``word_embeddings`` (``RCPSEmbedding`` for PS, ``nn.Embedding`` for PH)."""

    def __init__(self, config: CaduceusConfig) -> None:
        super().__init__()
        self.word_embeddings = (
            RCPSEmbedding(config) if config.rcps else nn.Embedding(config.vocab_size, config.d_model)
        )

    @property
    def table(self) -> torch.Tensor:
        """The (vocab, d_model) embedding matrix (also the tied MLM decoder)."""
        words = self.word_embeddings
        return words.embedding.weight if isinstance(words, RCPSEmbedding) else words.weight

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """int64 (B, L) -> float32 (B, L, hidden_size)."""
        if isinstance(self.word_embeddings, RCPSEmbedding):
            return self.word_embeddings(input_ids)
        return F.embedding(input_ids, self.word_embeddings.weight.float())
