"""Baseline for ``caduceus_throughput.py``: Caduceus as the official code computes it, in eager PyTorch.

A straightforward transcription of the official forward (kuleshov-group/caduceus ``modeling_caduceus.py``
/ ``modeling_rcps.py`` with mamba_ssm v1.2.0.post1's non-fused ``Mamba.forward`` and its sequential
``selective_scan_ref``): every Mamba call runs its own ``in_proj``/``out_proj``, the reverse direction and
the RC strand are computed by flipping activations, and the scan materialises exp(delta ⊗ A) and
delta·u ⊗ B as (B, E, L, N) float32 tensors before a Python loop over L. It reads the native model's
weights (``CaduceusForMaskedLM``) so both compute the same function; it is not used by the package.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from neuro_omics_assets.models.caduceus.layers import BiMambaWrapper, Mamba, SsmBranch
from neuro_omics_assets.models.caduceus.model import CaduceusForMaskedLM


def selective_scan_ref(u, delta, A, B, C, D, delta_bias):
    """mamba_ssm's reference: u, delta (B, E, L); A (E, N); B, C (B, N, L) -> y (B, E, L)."""
    delta = F.softplus(delta + delta_bias[..., None])
    delta_a = torch.exp(torch.einsum("bdl,dn->bdln", delta, A))  # (B, E, L, N)
    delta_b_u = torch.einsum("bdl,bnl,bdl->bdln", delta, B, u)  # (B, E, L, N)
    x = A.new_zeros((u.shape[0], u.shape[1], A.shape[1]))
    ys = []
    for i in range(u.shape[2]):
        x = delta_a[:, :, i] * x + delta_b_u[:, :, i]
        ys.append(torch.einsum("bdn,bn->bd", x, C[:, :, i]))
    return torch.stack(ys, dim=2) + u * D[:, None]


def mamba(x: torch.Tensor, params: SsmBranch, proj: Mamba) -> torch.Tensor:
    """mamba_ssm ``Mamba.forward`` without causal_conv1d: x (B, L, D) -> (B, L, D)."""
    length = x.shape[1]
    xz = (x @ proj.in_proj.weight.T).transpose(1, 2)  # (B, 2E, L)
    xs, z = xz.chunk(2, dim=1)
    xs = F.silu(params.conv1d(xs)[..., :length])
    x_dbl = xs.transpose(1, 2) @ params.x_proj.weight.T  # (B, L, R + 2N)
    dt, b, c = torch.split(x_dbl, [params.dt_rank, params.d_state, params.d_state], dim=-1)
    dt = (dt @ params.dt_proj.weight.T).transpose(1, 2)  # (B, E, L)
    y = selective_scan_ref(
        xs, dt, -torch.exp(params.A_log), b.transpose(1, 2), c.transpose(1, 2), params.D, params.dt_proj.bias
    )
    return (y * F.silu(z)).transpose(1, 2) @ proj.out_proj.weight.T


def bimamba(x: torch.Tensor, mixer: BiMambaWrapper) -> torch.Tensor:
    """``BiMambaWrapper``: mamba_fwd(x) + flip(mamba_rev(flip(x))), tied projections."""
    forward = mamba(x, mixer.mamba_fwd, mixer.mamba_fwd)
    return forward + mamba(x.flip(1), mixer.mamba_rev, mixer.mamba_fwd).flip(1)


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    return x * torch.rsqrt(x.square().mean(-1, keepdim=True) + eps) * weight


def rc(x: torch.Tensor) -> torch.Tensor:
    """The RCPS "rc" of a hidden tensor: reverse length and channels."""
    return x.flip(1, 2)


def baseline_hidden_states(model: CaduceusForMaskedLM, input_ids: torch.Tensor) -> torch.Tensor:
    """The official last hidden state: (B, L, 2D) for PS, (B, L, D) for PH."""
    backbone, config = model.backbone, model.config
    d, eps = config.d_model, config.norm_epsilon
    table = backbone.embeddings.table
    if config.rcps:
        comp = backbone.embeddings.word_embeddings.complement_map
        h = torch.cat([F.embedding(input_ids, table), rc(F.embedding(comp[input_ids.flip(1)], table))], -1)
    else:
        h = F.embedding(input_ids, table)
    r = None
    for layer in backbone.layers:
        w = layer.norm.weight
        if config.rcps:  # RCPSMambaBlock, fused path: forward stream from half 2, rc stream from half 1
            a = h[..., d:] if r is None else h[..., d:] + r[..., d:]
            b = rc(h[..., :d]) if r is None else rc(h[..., :d]) + rc(r[..., :d])
            r = torch.cat([a, rc(b)], -1)
            normed = torch.cat([rms_norm(a, w, eps), rc(rms_norm(b, w, eps))], -1)
            mixer = layer.mixer.submodule
            h = torch.cat([bimamba(normed[..., :d], mixer), rc(bimamba(rc(normed[..., d:]), mixer))], -1)
        else:
            r = h if r is None else h + r
            h = bimamba(rms_norm(r, w, eps), layer.mixer)
    w = backbone.norm_f.weight
    if config.rcps:
        a, b = h[..., :d] + r[..., :d], rc(h[..., d:]) + rc(r[..., d:])
        return torch.cat([rms_norm(a, w, eps), rc(rms_norm(b, w, eps))], -1)
    return rms_norm(h + r, w, eps)
