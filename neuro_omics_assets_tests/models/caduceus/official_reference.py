"""An independent float64 Caduceus forward for tests, written from the official code's structure.

It reads tensors by their checkpoint keys (no native module involved) and computes as the official code
does: every Mamba call runs its own projections, the reverse direction and the RC strand flip
activations, the scan is the plain sequential recurrence, the PS fused blocks swap halves. It is
checked against the official fixture (``test_model.py``) and then serves as the reference for PH, which
has no official fixture.
"""

from __future__ import annotations

import numpy as np


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.where(x > 20, x, np.log1p(np.exp(np.minimum(x, 20))))


def _silu(x: np.ndarray) -> np.ndarray:
    return x / (1 + np.exp(-x))


def _mamba(x: np.ndarray, w: dict[str, np.ndarray], p: str, proj: str) -> np.ndarray:
    """One Mamba call on x (L, D); ``p`` prefixes this direction's tensors, ``proj`` the tied projections."""
    length = x.shape[0]
    xz = x @ w[proj + "in_proj.weight"].T  # (L, 2E)
    e = xz.shape[1] // 2
    xs, z = xz[:, :e], xz[:, e:]
    kernel, k = w[p + "conv1d.weight"][:, 0, :], w[p + "conv1d.weight"].shape[-1]  # (E, K)
    padded = np.concatenate([np.zeros((k - 1, e)), xs])
    conv = w[p + "conv1d.bias"] + sum(kernel[:, j] * padded[j : j + length] for j in range(k))
    u = _silu(conv)
    n = w[p + "A_log"].shape[1]
    x_dbl = u @ w[p + "x_proj.weight"].T
    r = x_dbl.shape[1] - 2 * n
    delta = _softplus(x_dbl[:, :r] @ w[p + "dt_proj.weight"].T + w[p + "dt_proj.bias"])  # (L, E)
    a = -np.exp(w[p + "A_log"])
    h = np.zeros((e, n))
    y = np.empty((length, e))
    for t in range(length):
        h = np.exp(delta[t][:, None] * a) * h + (delta[t] * u[t])[:, None] * x_dbl[t, r : r + n][None, :]
        y[t] = h @ x_dbl[t, r + n :]
    y = (y + w[p + "D"] * u) * _silu(z)
    return y @ w[proj + "out_proj.weight"].T


def _bimamba(x: np.ndarray, w: dict[str, np.ndarray], mixer: str) -> np.ndarray:
    fwd, rev = mixer + "mamba_fwd.", mixer + "mamba_rev."
    return _mamba(x, w, fwd, fwd) + _mamba(x[::-1], w, rev, fwd)[::-1]


def _rms(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    return x / np.sqrt((x**2).mean(-1, keepdims=True) + eps) * weight


def _rc(x: np.ndarray) -> np.ndarray:
    return x[::-1, ::-1]


def last_hidden_state(
    weights: dict[str, np.ndarray], ids: np.ndarray, rcps: bool, eps: float = 1e-5
) -> np.ndarray:
    """ids int (L,) -> float64 (L, 2D) for PS, (L, D) for PH; ``weights`` float64 by official key."""
    w = {k.removeprefix("caduceus.backbone."): v.astype(np.float64) for k, v in weights.items()}
    n_layer = len({k.split(".")[1] for k in w if k.startswith("layers.")})
    if rcps:
        table, comp = (
            w["embeddings.word_embeddings.embedding.weight"],
            weights["caduceus.backbone.embeddings.word_embeddings.complement_map"].astype(np.int64),
        )
        h = np.concatenate([table[ids], _rc(table[comp[ids[::-1]]])], axis=-1)
        d = table.shape[1]
    else:
        h = w["embeddings.word_embeddings.weight"][ids]
    r = None
    for i in range(n_layer):
        norm = w[f"layers.{i}.norm.weight"]
        if rcps:
            a = h[:, d:] + (0 if r is None else r[:, d:])
            b = _rc(h[:, :d]) + (0 if r is None else _rc(r[:, :d]))
            r = np.concatenate([a, _rc(b)], axis=-1)
            mixer = f"layers.{i}.mixer.submodule."
            out_b = _bimamba(_rms(b, norm, eps), w, mixer)
            h = np.concatenate([_bimamba(_rms(a, norm, eps), w, mixer), _rc(out_b)], axis=-1)
        else:
            r = h if r is None else h + r
            h = _bimamba(_rms(r, norm, eps), w, f"layers.{i}.mixer.")
    if rcps:
        a, b = h[:, :d] + r[:, :d], _rc(h[:, d:]) + _rc(r[:, d:])
        return np.concatenate(
            [_rms(a, w["norm_f.weight"], eps), _rc(_rms(b, w["norm_f.weight"], eps))], axis=-1
        )
    return _rms(h + r, w["norm_f.weight"], eps)
