"""Mamba-1 kernels (depthwise conv + SiLU, selective scan), chosen by an explicit setting, never by whether an
import works. The setting's name is recorded in lineage.

Selective scan of one direction, with h_{-1} = ``state`` (zeros at the sequence start), over t = 0..T-1
(or T-1..0 when ``reverse``), as the official ``selective_scan_fn(..., delta_bias, delta_softplus=True)``::

    delta_t = softplus(dt_t + dt_bias)                             # (E,)
    h_t = exp(delta_t ⊗ A) ⊙ h_{t-1} + (delta_t · u_t) ⊗ B_t       # (E, N)
    y_t = h_t · C_t + D ⊙ u_t                                       # (E,)
    then y_t += out_t if ``accumulate``; y_t *= silu(z_t) if z is given; out_t = y_t

All in float32, (B, T, E) layout: u, dt, z float32 (B, T, E); A float32 (E, N) (already ``-exp(A_log)``);
B, C float32 (B, T, N); D, dt_bias float32 (E,); state float32 (B, E, N), updated in place to h after the
last step (so a long sequence can be fed in chunks); out float32 (B, T, E), may be a strided view.

Conv: ``conv_silu(x, weight, bias, pad, anticausal)``: x float32 (B, T + K - 1 - pad, E) a chunk with its
K - 1 context positions (``pad`` of them missing at the sequence edge, taken as zeros), weight (E, K), bias
(E,) -> silu(conv) float32 (B, T, E). Causal: token t reads x[t - K + 1 .. t] (context on the left);
anticausal (the official flip -> causal conv -> flip, written without flipping): x[t .. t + K - 1]
with the kernel reversed.

* ``"reference"``: plain PyTorch. The scan is the official sequential recurrence (``selective_scan_ref``
  of mamba_ssm v1.2.0.post1); the official code materialises exp(delta ⊗ A) and delta·u ⊗ B as
  (B, E, L, N) tensors (4.3 GB each per call at L = 131,072), here they exist for ``REFERENCE_BLOCK``
  steps at a time. The conv is ``torch.nn.functional.conv1d``.
* ``"numba"``: both compiled by numba on CPU (``kernels_numba.py``), parallel over rows and channel
  blocks, softplus and gate fused into the scan; equal to the reference within float32 rounding.
* ``"mamba_ssm"``: the official CUDA ``selective_scan_fn`` when the optional package is installed (conv
  as the reference). It cannot start from a given state, so the caller passes whole sequences
  (``carries_state`` False).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from neuro_omics_assets.errors import ConfigError, DeviceError
from neuro_omics_assets.models.caduceus import kernels_numba

log = logging.getLogger(__name__)

SCAN_KERNELS = ("reference", "numba", "mamba_ssm")
# Steps whose (B, T, E, N) decay and input terms the reference materialises at once: 8 MiB at
# E 512, N 16, B 1, small next to the model's activations.
REFERENCE_BLOCK = 256


def _finish(y: torch.Tensor, out: torch.Tensor, z: torch.Tensor | None, accumulate: bool) -> None:
    """out = (y [+ out]) [* silu(z)]."""
    if accumulate:
        y = y + out
    if z is not None:
        y = y * F.silu(z)
    out.copy_(y)


def reference_scan(
    u: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor,
    z: torch.Tensor | None,
    dt_bias: torch.Tensor,
    state: torch.Tensor,
    out: torch.Tensor,
    *,
    accumulate: bool = False,
    reverse: bool = False,
) -> None:
    """The sequential recurrence in PyTorch, ``REFERENCE_BLOCK`` steps of precomputed terms at a time."""
    steps = u.shape[1]
    starts = range(0, steps, REFERENCE_BLOCK)
    for start in reversed(starts) if reverse else starts:
        stop = min(start + REFERENCE_BLOCK, steps)
        delta = F.softplus(dt[:, start:stop] + dt_bias)  # (B, T, E)
        decay = torch.exp(delta[..., None] * A)  # (B, T, E, N)
        drive = (delta * u[:, start:stop])[..., None] * B[:, start:stop, None, :]  # (B, T, E, N)
        y = torch.empty_like(delta)  # (B, T, E)
        for t in reversed(range(stop - start)) if reverse else range(stop - start):
            state.mul_(decay[:, t]).add_(drive[:, t])
            y[:, t] = torch.einsum("ben,bn->be", state, C[:, start + t])
        y.addcmul_(u[:, start:stop], D)
        _finish(y, out[:, start:stop], None if z is None else z[:, start:stop], accumulate)


def reference_conv_silu(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, pad: int, anticausal: bool
) -> torch.Tensor:
    """Depthwise conv + SiLU with ``torch.nn.functional.conv1d`` (see the module docstring)."""
    if anticausal:
        weight = weight.flip(-1)
    padded = F.pad(x.transpose(1, 2), (0, pad) if anticausal else (pad, 0))  # (B, E, T + K - 1)
    u = F.silu(F.conv1d(padded, weight[:, None, :], bias, groups=weight.shape[0]))  # (B, E, T)
    return u.transpose(1, 2).contiguous()  # (B, T, E)


def mamba_ssm_scan(
    u: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor,
    z: torch.Tensor | None,
    dt_bias: torch.Tensor,
    state: torch.Tensor,
    out: torch.Tensor,
    *,
    accumulate: bool = False,
    reverse: bool = False,
) -> None:
    """mamba_ssm's CUDA ``selective_scan_fn`` on a whole sequence (``state`` must be zeros on entry)."""
    from mamba_ssm.ops.selective_scan_interface import selective_scan_fn  # checked by check_scan_kernel

    def official(t: torch.Tensor) -> torch.Tensor:  # (B, T, X) -> (B, X, T), flipped in T if reverse
        return (t.flip(1) if reverse else t).transpose(1, 2).contiguous()

    y, last = selective_scan_fn(
        official(u), official(dt), A, official(B), official(C), D,
        delta_bias=dt_bias, delta_softplus=True, return_last_state=True,
    )  # fmt: skip
    y = y.transpose(1, 2)  # (B, T, E)
    state.copy_(last)
    _finish(y.flip(1) if reverse else y, out, z, accumulate)


@dataclass(frozen=True)
class ScanKernel:
    """A kernel set: its name (recorded in lineage), scan and conv functions, whether the scan resumes from a state."""

    name: str
    scan: Callable[..., None]
    conv_silu: Callable[..., torch.Tensor]
    carries_state: bool


def check_scan_kernel(name: str, device: torch.device) -> ScanKernel:
    """The kernel set called ``name`` for ``device``; ConfigError / DeviceError if it cannot run there."""
    if name not in SCAN_KERNELS:
        raise ConfigError(f"scan={name!r} is not a selective-scan kernel; choose one of {SCAN_KERNELS}.")
    if name == "numba" and device.type != "cpu":
        raise ConfigError(
            f"scan='numba' runs on CPU only, but the model is on {device}; use scan='mamba_ssm' "
            "(CUDA, needs the mamba-ssm package) or scan='reference'."
        )
    if name == "mamba_ssm":
        if device.type != "cuda":
            raise ConfigError(
                f"scan='mamba_ssm' runs on CUDA only, but the model is on {device}; use scan='numba'."
            )
        try:
            import mamba_ssm.ops.selective_scan_interface  # noqa: F401
        except ImportError as err:
            raise DeviceError(
                f"scan='mamba_ssm' needs the mamba-ssm package with its CUDA extension ({err}); "
                "install mamba-ssm==1.2.0.post1 for this torch/CUDA, or use scan='reference'."
            ) from err
    if name == "numba":
        return ScanKernel(name, kernels_numba.scan, kernels_numba.conv_silu, carries_state=True)
    scan = reference_scan if name == "reference" else mamba_ssm_scan
    return ScanKernel(name, scan, reference_conv_silu, carries_state=name == "reference")


def resolve_scan_kernel(name: str, device: torch.device) -> ScanKernel:
    """``"auto"`` -> ``"numba"`` on CPU, ``"reference"`` on CUDA (logged); otherwise ``check_scan_kernel``.

    ``mamba_ssm`` is never chosen by ``"auto"``: it is an optional install, asked for by name.
    """
    if name == "auto":
        name = "numba" if device.type == "cpu" else "reference"
        log.info("scan='auto' chose %r for %s", name, device)
    return check_scan_kernel(name, device)
