"""The Mamba-1 selective scan, three kernels chosen by an explicit setting (never by whether an import works).

For one direction, with h_{-1} = ``state`` (zeros at the sequence start), over t = 0..T-1 (or T-1..0 when
``reverse``)::

    h_t = exp(delta_t ⊗ A) ⊙ h_{t-1} + (delta_t · u_t) ⊗ B_t       # (E, N)
    y_t = h_t · C_t + D ⊙ u_t                                       # (E,)

All kernels compute in float32 and take the same arguments, in (B, T, E) layout:
u, delta float32 (B, T, E); A float32 (E, N) (already ``-exp(A_log)``); B, C float32 (B, T, N); D float32
(E,); state float32 (B, E, N), updated in place to h after the last step (so a long sequence can be fed
in chunks); out float32 (B, T, E), overwritten with y or, with ``accumulate``, y added to it.

* ``"reference"``: the official sequential recurrence (``selective_scan_ref`` of mamba_ssm v1.2.0.post1) in
  plain PyTorch. The official code materialises exp(delta ⊗ A) and delta·u ⊗ B as (B, E, L, N) tensors
  (4.3 GB each per call at L = 131,072); here they exist for ``REFERENCE_BLOCK`` steps at a time.
* ``"numba"``: the same recurrence compiled by numba on CPU, parallel over (row, block of channels), the
  (channels, N) state kept in registers/L1. Equal to the reference within float32 rounding.
* ``"mamba_ssm"``: the official CUDA kernel (``selective_scan_fn``), when the optional package is
  installed. It cannot start from a given state, so the caller must pass whole sequences (``carries_state``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np
import torch

from neuro_omics_assets.errors import ConfigError, DeviceError

log = logging.getLogger(__name__)

SCAN_KERNELS = ("reference", "numba", "mamba_ssm")
# Steps whose (B, block, E, N) decay and input terms the reference materialises at once: 8 MiB at
# E 512, N 16, B 1, small next to the model's activations.
REFERENCE_BLOCK = 256
# Channels one numba task scans; E / 64 tasks per row (8 at d_model 256) share the cores.
_NUMBA_CHANNEL_BLOCK = 64

ScanFn = Callable[..., None]


def reference_scan(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor,
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
        decay = torch.exp(delta[:, start:stop, :, None] * A)  # (B, T, E, N)
        drive = (delta[:, start:stop] * u[:, start:stop])[..., None] * B[:, start:stop, None, :]  # (B, T, E, N)
        y = torch.empty_like(u[:, start:stop])  # (B, T, E)
        for t in reversed(range(stop - start)) if reverse else range(stop - start):
            state.mul_(decay[:, t]).add_(drive[:, t])
            y[:, t] = torch.einsum("ben,bn->be", state, C[:, start + t])
        y.addcmul_(u[:, start:stop], D)
        if accumulate:
            out[:, start:stop] += y
        else:
            out[:, start:stop] = y


@numba.njit(parallel=True, fastmath=True, cache=True)
def _numba_scan_kernel(u, delta, A, B, C, D, state, out, accumulate, reverse):  # pragma: no cover - compiled
    """Arrays as numpy views of the torch tensors (see ``numba_scan``)."""
    rows, steps, channels = u.shape
    n_state = A.shape[1]
    blocks = (channels + _NUMBA_CHANNEL_BLOCK - 1) // _NUMBA_CHANNEL_BLOCK
    for task in numba.prange(rows * blocks):
        b = task // blocks
        first = (task % blocks) * _NUMBA_CHANNEL_BLOCK
        last = min(first + _NUMBA_CHANNEL_BLOCK, channels)
        h = state[b, first:last].copy()  # (block, N)
        for step in range(steps):
            t = steps - 1 - step if reverse else step
            for e in range(first, last):
                d = delta[b, t, e]
                du = d * u[b, t, e]
                acc = np.float32(0.0)
                for n in range(n_state):
                    value = math.exp(d * A[e, n]) * h[e - first, n] + du * B[b, t, n]
                    h[e - first, n] = value
                    acc += value * C[b, t, n]
                y = acc + D[e] * u[b, t, e]
                out[b, t, e] = out[b, t, e] + y if accumulate else y
        state[b, first:last] = h


def numba_scan(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor,
    state: torch.Tensor,
    out: torch.Tensor,
    *,
    accumulate: bool = False,
    reverse: bool = False,
) -> None:
    """The recurrence compiled by numba (CPU tensors; ``out`` may be a strided view, written in place)."""
    numba.set_num_threads(max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)))
    arrays = [t.detach().numpy() for t in (u, delta, A, B, C, D, state, out)]
    _numba_scan_kernel(*arrays, accumulate, reverse)


def mamba_ssm_scan(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor,
    state: torch.Tensor,
    out: torch.Tensor,
    *,
    accumulate: bool = False,
    reverse: bool = False,
) -> None:
    """mamba_ssm's CUDA ``selective_scan_fn`` on a whole sequence (``state`` must be zeros on entry)."""
    from mamba_ssm.ops.selective_scan_interface import selective_scan_fn  # checked by check_scan_kernel

    flip = (lambda t: t.flip(1)) if reverse else (lambda t: t)
    y, last = selective_scan_fn(
        flip(u).transpose(1, 2).contiguous(),  # (B, E, T), the official layout
        flip(delta).transpose(1, 2).contiguous(),
        A,
        flip(B).transpose(1, 2).contiguous(),  # (B, N, T)
        flip(C).transpose(1, 2).contiguous(),
        D,
        return_last_state=True,
    )
    y = flip(y.transpose(1, 2))  # (B, T, E)
    state.copy_(last)
    if accumulate:
        out += y
    else:
        out.copy_(y)


@dataclass(frozen=True)
class ScanKernel:
    """A selective-scan kernel: its name (recorded in lineage), function and whether it resumes from a state."""

    name: str
    run: ScanFn
    carries_state: bool


def check_scan_kernel(name: str, device: torch.device) -> ScanKernel:
    """The kernel called ``name`` for ``device``; ConfigError / DeviceError if it cannot run there."""
    if name not in SCAN_KERNELS:
        raise ConfigError(f"scan={name!r} is not a selective-scan kernel; choose one of {SCAN_KERNELS}.")
    if name == "numba" and device.type != "cpu":
        raise ConfigError(
            f"scan='numba' runs on CPU only, but the model is on {device}; use scan='mamba_ssm' "
            "(CUDA, needs the mamba-ssm package) or scan='reference'."
        )
    if name == "mamba_ssm":
        if device.type != "cuda":
            raise ConfigError(f"scan='mamba_ssm' runs on CUDA only, but the model is on {device}; use scan='numba'.")
        try:
            import mamba_ssm.ops.selective_scan_interface  # noqa: F401
        except ImportError as err:
            raise DeviceError(
                f"scan='mamba_ssm' needs the mamba-ssm package with its CUDA extension ({err}); "
                "install mamba-ssm==1.2.0.post1 for this torch/CUDA, or use scan='reference'."
            ) from err
    run = {"reference": reference_scan, "numba": numba_scan, "mamba_ssm": mamba_ssm_scan}[name]
    return ScanKernel(name=name, run=run, carries_state=name != "mamba_ssm")


def resolve_scan_kernel(name: str, device: torch.device) -> ScanKernel:
    """``"auto"`` -> ``"numba"`` on CPU, ``"reference"`` on CUDA (logged); otherwise ``check_scan_kernel``.

    ``mamba_ssm`` is never chosen by ``"auto"``: it is an optional install, asked for by name.
    """
    if name == "auto":
        name = "numba" if device.type == "cpu" else "reference"
        log.info("scan='auto' chose %r for %s", name, device)
    return check_scan_kernel(name, device)
