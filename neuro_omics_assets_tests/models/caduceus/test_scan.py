"""Selective-scan and conv kernels: numba against the PyTorch reference, state carrying, kernel choice.

Inputs are drawn in a trained model's range (delta 0.002-0.3 after softplus, A = -exp(U(-0.5, 1.5)),
outputs of magnitude up to ~10); the numba kernel must match the reference within 1e-5 absolute
(observed ~1e-6: fastmath sums in another order, and its exp differs from libm by < 3e-7 relative).
"""

from __future__ import annotations

import importlib.util

import pytest
import torch

from neuro_omics_assets.errors import ConfigError, DeviceError
from neuro_omics_assets.models.caduceus import kernels_numba
from neuro_omics_assets.models.caduceus.scan import (
    REFERENCE_BLOCK,
    check_scan_kernel,
    reference_conv_silu,
    reference_scan,
    resolve_scan_kernel,
)

ATOL = 1e-5
ROWS, E, N = 2, 80, 16  # 80 channels: one full numba block of 64 and a partial one


def _inputs(length: int, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "u": torch.randn(ROWS, length, E, generator=g),
        "dt": torch.rand(ROWS, length, E, generator=g) * 3 - 5,
        "A": -torch.exp(torch.rand(E, N, generator=g) * 2 - 0.5),
        "B": 0.3 * torch.randn(ROWS, length, N, generator=g),
        "C": 0.3 * torch.randn(ROWS, length, N, generator=g),
        "D": torch.rand(E, generator=g) + 0.5,
        "z": torch.randn(ROWS, length, E, generator=g),
        "dt_bias": torch.rand(E, generator=g),
    }


def _bidirectional(scan, x: dict[str, torch.Tensor], chunk: int) -> torch.Tensor:
    """The mixer's use: causal pass writes, reverse pass adds and gates; fed in chunks with the state carried."""
    length = x["u"].shape[1]
    out = torch.full((ROWS, length, E), float("nan"))
    bounds = [(s, min(s + chunk, length)) for s in range(0, length, chunk)]
    for reverse, order in ((False, bounds), (True, bounds[::-1])):
        state = torch.zeros(ROWS, E, N)
        for start, stop in order:
            part = {k: v[:, start:stop] if v.ndim == 3 else v for k, v in x.items()}
            scan(
                part["u"], part["dt"], part["A"], part["B"], part["C"], part["D"], part["z"] if reverse else None,
                part["dt_bias"], state, out[:, start:stop], accumulate=reverse, reverse=reverse,
            )  # fmt: skip
    return out


# around the reference's block of 256 steps, and a length of one
@pytest.mark.parametrize(
    "length", [1, REFERENCE_BLOCK - 1, REFERENCE_BLOCK, REFERENCE_BLOCK + 1, 2 * REFERENCE_BLOCK + 88]
)
def test_numba_scan_matches_reference(length: int) -> None:
    x = _inputs(length, seed=length)
    expected = _bidirectional(reference_scan, x, chunk=length)
    assert expected.abs().max() > 1.0  # the comparison is not between near-zero numbers
    torch.testing.assert_close(
        _bidirectional(kernels_numba.scan, x, chunk=length), expected, rtol=0, atol=ATOL
    )


@pytest.mark.parametrize("scan", [reference_scan, kernels_numba.scan], ids=["reference", "numba"])
def test_chunks_with_carried_state_equal_one_pass(scan) -> None:
    x = _inputs(300, seed=1)
    whole = _bidirectional(scan, x, chunk=300)
    torch.testing.assert_close(_bidirectional(scan, x, chunk=7), whole, rtol=0, atol=ATOL)
    torch.testing.assert_close(_bidirectional(scan, x, chunk=256), whole, rtol=0, atol=ATOL)


def test_reference_scan_against_explicit_recurrence() -> None:
    # one row, one direction, written out step by step in float64
    x = _inputs(20, seed=5)
    out, state = torch.empty(ROWS, 20, E), torch.zeros(ROWS, E, N)
    reference_scan(x["u"], x["dt"], x["A"], x["B"], x["C"], x["D"], None, x["dt_bias"], state, out)
    u, dt, b, c = (x[k][0].double() for k in ("u", "dt", "B", "C"))
    delta = torch.nn.functional.softplus(dt + x["dt_bias"].double())
    h = torch.zeros(E, N, dtype=torch.float64)
    for t in range(20):
        h = torch.exp(delta[t, :, None] * x["A"].double()) * h + (delta[t] * u[t])[:, None] * b[t]
        torch.testing.assert_close(out[0, t].double(), h @ c[t] + x["D"].double() * u[t], rtol=0, atol=1e-5)
    torch.testing.assert_close(state[0].double(), h, rtol=0, atol=1e-5)


@pytest.mark.parametrize("pad", [0, 2, 3])  # K - 1 = 3 context positions: all present, one, none
@pytest.mark.parametrize("anticausal", [False, True])
def test_numba_conv_matches_reference(pad: int, anticausal: bool) -> None:
    g = torch.Generator().manual_seed(pad)
    x = torch.randn(ROWS, 700 + 3 - pad, E, generator=g)  # 700 tokens: two numba blocks of 512 tokens
    weight, bias = torch.randn(E, 4, generator=g), torch.randn(E, generator=g)
    expected = reference_conv_silu(x, weight, bias, pad, anticausal)
    assert expected.shape == (ROWS, 700, E)
    got = kernels_numba.conv_silu(x, weight, bias, pad, anticausal)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


def test_kernel_names_and_devices() -> None:
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert resolve_scan_kernel("auto", cpu).name == "numba"
    assert resolve_scan_kernel("auto", cuda).name == "reference"
    assert check_scan_kernel("reference", cpu).carries_state
    with pytest.raises(ConfigError, match="not a selective-scan kernel"):
        check_scan_kernel("fast", cpu)
    with pytest.raises(ConfigError, match="CPU only"):
        check_scan_kernel("numba", cuda)
    with pytest.raises(ConfigError, match="CUDA only"):
        check_scan_kernel("mamba_ssm", cpu)


@pytest.mark.skipif(importlib.util.find_spec("mamba_ssm") is not None, reason="mamba_ssm is installed here")
def test_mamba_ssm_asked_for_but_missing_is_an_error() -> None:
    with pytest.raises(DeviceError, match="mamba-ssm"):
        check_scan_kernel("mamba_ssm", torch.device("cuda"))
