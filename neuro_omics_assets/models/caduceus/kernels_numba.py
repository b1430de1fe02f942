"""The ``"numba"`` CPU kernels: depthwise conv + SiLU and the selective scan (semantics in ``scan.py``).

Compiled on first use (cached next to this file). The scan keeps one task's (channels, N) state in
L1 and reads each token's inputs once: softplus of dt, the D skip, the accumulation of the second
direction and the SiLU gate are fused in, so no (T, E, N) tensor and no extra (T, E) pass exists.
Tasks are (row, block of ``CHANNEL_BLOCK`` channels), run in parallel on numba's thread pool, sized to
``torch.get_num_threads()`` at each call.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import torch

# Channels per scan task: d_inner 512 gives 8 tasks per row, enough for the cores of one machine.
CHANNEL_BLOCK = 64
# Tokens per conv task.
CONV_BLOCK = 512
# torch.nn.functional.softplus returns x itself above this (default threshold 20).
_SOFTPLUS_THRESHOLD = 20.0
# exp of the decay is taken as exp(-41) ~ 1.6e-18 below -41 (see ``_exp_nonpositive``).
_EXP_FLOOR = -41.0


@numba.njit(fastmath=True, inline="always")
def _exp_nonpositive(x):  # pragma: no cover - compiled
    """exp(x) for float32 x <= 0, in operations the compiler vectorises (libm's exp is a scalar call).

    x = k ln2 + r with integer k = trunc(x / ln2 - 1/2), |r| <= ln2 / 2; exp(r) by its degree-7 Taylor
    polynomial (truncation error < 6e-9 relative), 2^k exactly from an integer shift. Relative error
    below 3e-7 (float32 rounding of the steps) for x > -41; below that the result is exp(-41), an
    absolute error under 1.6e-18 on a decay factor.
    """
    v = max(x, np.float32(_EXP_FLOOR))
    k_int = np.int64(v * np.float32(1.4426950408889634) - np.float32(0.5))
    k = np.float32(k_int)
    r = v - k * np.float32(0.693145751953125) - k * np.float32(1.428606765330187e-06)
    p = np.float32(1.0) + r * (
        np.float32(1.0)
        + r
        * (
            np.float32(0.5)
            + r
            * (
                np.float32(1.0 / 6)
                + r
                * (
                    np.float32(1.0 / 24)
                    + r * (np.float32(1.0 / 120) + r * (np.float32(1.0 / 720) + r * np.float32(1.0 / 5040)))
                )
            )
        )
    )
    return p * (np.float32(np.int64(1) << (np.int64(60) + k_int)) * np.float32(2.0**-60))


@numba.njit(parallel=True, fastmath=True, cache=True)
def _scan(
    u, dt, A, B, C, D, z, dt_bias, state, out, gate, accumulate, reverse
):  # pragma: no cover - compiled
    rows, steps, channels = u.shape
    n_state = A.shape[1]
    blocks = (channels + CHANNEL_BLOCK - 1) // CHANNEL_BLOCK
    for task in numba.prange(rows * blocks):
        b = task // blocks
        first = (task % blocks) * CHANNEL_BLOCK
        last = min(first + CHANNEL_BLOCK, channels)
        h = state[b, first:last].copy()  # (block, N)
        for step in range(steps):
            t = steps - 1 - step if reverse else step
            for e in range(first, last):
                x = dt[b, t, e] + dt_bias[e]
                d = x if x > _SOFTPLUS_THRESHOLD else math.log1p(math.exp(x))
                du = d * u[b, t, e]
                acc = np.float32(0.0)
                for n in range(n_state):
                    value = _exp_nonpositive(d * A[e, n]) * h[e - first, n] + du * B[b, t, n]
                    h[e - first, n] = value
                    acc += value * C[b, t, n]
                y = acc + D[e] * u[b, t, e]
                if accumulate:
                    y += out[b, t, e]
                if gate:
                    g = z[b, t, e]
                    y *= g / (np.float32(1.0) + math.exp(-g))
                out[b, t, e] = y
        state[b, first:last] = h


@numba.njit(parallel=True, fastmath=True, cache=True)
def _conv_silu(x, weight, bias, offset, out):  # pragma: no cover - compiled
    rows, steps, channels = out.shape
    width = weight.shape[1]
    length = x.shape[1]
    blocks = (steps + CONV_BLOCK - 1) // CONV_BLOCK
    for task in numba.prange(rows * blocks):
        b = task // blocks
        for t in range(task % blocks * CONV_BLOCK, min((task % blocks + 1) * CONV_BLOCK, steps)):
            for e in range(channels):
                acc = bias[e]
                for k in range(width):
                    i = t + k - offset
                    if 0 <= i < length:
                        acc += weight[e, k] * x[b, i, e]
                out[b, t, e] = acc / (np.float32(1.0) + math.exp(-acc))


def _threads() -> None:
    numba.set_num_threads(max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)))


def scan(
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
    """``scan.reference_scan`` compiled: CPU float32 tensors, ``out`` and ``state`` written in place.

    Arrays are passed C-contiguous (a strided ``out`` goes through a contiguous copy), so the kernel is
    compiled for one layout only.
    """
    _threads()
    gate = z is not None
    z_array = z.detach().contiguous().numpy() if gate else np.zeros((1, 1, 1), dtype=np.float32)
    arrays = [t.detach().contiguous().numpy() for t in (u, dt, A, B, C, D, dt_bias)]
    target = out if out.is_contiguous() else out.contiguous()
    _scan(*arrays[:6], z_array, arrays[6], state.numpy(), target.numpy(), gate, accumulate, reverse)
    if target is not out:
        out.copy_(target)


def conv_silu(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, pad: int, anticausal: bool
) -> torch.Tensor:
    """``scan.reference_conv_silu`` compiled: x float32 (B, T + K - 1 - pad, E) -> float32 (B, T, E)."""
    _threads()
    width = weight.shape[1]
    steps = x.shape[1] + pad - (width - 1)
    if anticausal:  # token t reads x[t .. t + K - 1] with the kernel reversed
        weight, offset = weight.flip(-1), 0
    else:  # token t reads x[t - K + 1 .. t]; the first ``pad`` positions are missing
        offset = pad
    out = torch.empty(x.shape[0], steps, x.shape[2], dtype=torch.float32)
    _conv_silu(
        x.detach().contiguous().numpy(),
        weight.detach().contiguous().numpy(),
        bias.detach().numpy(),
        offset,
        out.numpy(),
    )
    return out
