"""Permutation inference for CCA, after Winkler, Renaud, Smith & Nichols (2020), "Permutation inference
for canonical correlation analysis", NeuroImage 220:117065 (their Algorithm 1).

1. **Nuisance by Huh–Jhun.** Regressing the covariates Z out of both sides (R_Z = I - Z Z^+) leaves
   residuals that are *not* exchangeable (R_Z couples the rows). With Q (n, n - rank Z) semi-orthogonal,
   Q Q' = R_Z, the reduced data Q'Y and Q'X have exchangeable rows under the null (Huh & Jhun 2001;
   exactly for spherical errors), so their rows are permuted instead of the subjects'. Q is never formed:
   Q' C is applied through the Householder reflectors of the QR of Z (``scipy.linalg.qr(mode="raw")``
   and LAPACK ``dormqr``).
2. **Exchangeability blocks.** With blocks (site, family), Q is built per block from that block's rows
   of Z (the nuisance then gets block-specific coefficients, which only removes more), so every reduced
   row belongs to one block and rows are permuted within their block only. A block no larger than the
   rank of its rows of Z contributes no row.
3. **Step-down.** For mode k the canonical variates of modes 1..k-1 are removed: the statistic is
   computed on the CCA of the remaining variates U[:, k:], V[:, k:], where U (V) completes the canonical
   variates of one side to an orthonormal basis of that side's reduced column space. The completion is
   the in-sample orthogonal complement of the earlier variates, i.e. the earlier variates regressed out
   of each side (the paper's Algorithm 1 completes with Y null(A') instead), so the trailing block of
   U'V holds exactly the canonical correlations k.. of the data; a strong first mode therefore cannot
   make later modes look significant.
   Statistic: Wilks' lambda -sum_{i>=k} log(1 - r_i^2) (the paper's default) or Roy's r_k^2.
4. **FWER by closure**: p_FWER_k = max_{j<=k} p_j (the cumulative maximum).
5. **Vectorised.** U and V are orthonormal, so the canonical correlations of (P U[:, k:], V[:, k:]) are
   the singular values of (U' P V)[k:, k:]. One GEMM per batch of permutations gives every C_j = U' P_j V;
   the step-k spectra come from suffix Gram matrices sum_{i>=k} c_i c_i' (rank-one downdates) through
   batched ``eigvalsh``. No model is refitted per permutation.

p-values count the identity permutation: p = (1 + #{null >= observed}) / (1 + J).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.linalg

from neuro_omics_assets.errors import ConfigError
from neuro_omics_assets.evaluation.cca import check_dimensions, whiten

log = logging.getLogger(__name__)

Statistic = Literal["wilks", "roy"]
STATISTICS: tuple[str, ...] = ("wilks", "roy")
_BATCH_BYTES = 256 * 2**20  # permuted copies held at once: bounds memory whatever n
_TIES = 1e-12  # a null value within this relative distance of the observed one counts as >=


@dataclass(frozen=True, eq=False)
class CcaPermutationTest:
    """Step-down permutation inference for every canonical mode.

    correlations: float64 (K,) canonical correlations of the Huh–Jhun-reduced data (equal to those of the
    OLS residuals). observed: float64 (K,) the statistic per mode. null: float64 (J, K) its permutation
    distribution. p_values: float64 (K,) per-mode step-down p; p_fwer: float64 (K,) their cumulative max.
    n_reduced: rows left after Huh–Jhun (n minus the nuisance rank, per block).
    """

    correlations: np.ndarray
    observed: np.ndarray
    null: np.ndarray
    p_values: np.ndarray
    p_fwer: np.ndarray
    statistic: str
    n_permutations: int
    seed: int
    n_reduced: int


def permutation_p_value(null: np.ndarray, observed: np.ndarray | float) -> np.ndarray:
    """One-sided permutation p, (1 + #{null >= observed}) / (1 + J), over axis 0 of ``null`` float (J, ...).

    The observed statistic counts as one permutation (the identity); a null value within ``_TIES`` below
    the observed one counts as >= (float round-off must not make a tie look like a win).
    """
    null = np.asarray(null, dtype=np.float64)
    return (1.0 + (null >= np.asarray(observed) - _TIES).sum(axis=0)) / (1.0 + null.shape[0])


def block_codes(blocks: np.ndarray | None, n: int) -> np.ndarray:
    """int64 (n,) block index of every row (all 0 without blocks)."""
    if blocks is None:
        return np.zeros(n, dtype=np.int64)
    blocks = np.asarray(blocks)
    if blocks.shape != (n,):
        raise ConfigError(f"blocks has shape {blocks.shape}; pass one block label per subject ({n}).")
    return np.unique(blocks.astype(str), return_inverse=True)[1].astype(np.int64)


def block_permutations(codes: np.ndarray, n_permutations: int, rng: np.random.Generator) -> np.ndarray:
    """int64 (J, n) permutations within blocks: row j maps position i to ``perm[j, i]``, same block.

    Sorting (block, uniform key) orders each row's positions by block, randomly within a block; the
    i-th position in block order therefore receives a position of its own block.
    """
    n = codes.shape[0]
    base = np.argsort(codes, kind="stable")
    order = np.argsort(codes[None, :] + rng.random((n_permutations, n)), axis=1)
    perms = np.empty((n_permutations, n), dtype=np.int64)
    perms[:, base] = order
    return perms


def huh_jhun(z: np.ndarray, codes: np.ndarray, *arrays: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Reduce ``arrays`` float (n, *) to Q' a, Q' Q = I, Q Q' = R_Z within each block; an intercept is added.

    Returns (the reduced arrays float64 (m, *), int64 (m,) block of each reduced row).
    """
    z = np.column_stack([np.ones(len(codes)), np.asarray(z, np.float64).reshape(len(codes), -1)])
    reduced: list[list[np.ndarray]] = [[] for _ in arrays]
    out_codes = []
    for code in np.unique(codes):
        rows = np.flatnonzero(codes == code)
        basis = _column_basis(z[rows])
        if len(rows) <= basis.shape[1]:
            log.info("block %d: %d subjects <= nuisance rank %d, no exchangeable rows", code, len(rows), basis.shape[1])
            continue
        (householder, tau), _ = scipy.linalg.qr(basis, mode="raw")
        for out, array in zip(reduced, arrays, strict=True):
            out.append(_apply_qt(householder, tau, np.asarray(array, np.float64)[rows])[basis.shape[1]:])
        out_codes.append(np.full(len(rows) - basis.shape[1], code, dtype=np.int64))
    if not out_codes:
        raise ConfigError("no exchangeable rows remain after removing the covariates within each block; "
                          "use coarser exchangeability blocks (or none) or fewer covariates.")
    return [np.concatenate(parts) for parts in reduced], np.concatenate(out_codes)


def _column_basis(a: np.ndarray) -> np.ndarray:
    """float64 (n, rank) orthonormal basis of the columns of ``a`` (n, r)."""
    u, s, _ = np.linalg.svd(a, full_matrices=False)
    return u[:, s > s[0] * max(a.shape) * np.finfo(np.float64).eps]


def _apply_qt(householder: np.ndarray, tau: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Q' c for the full Q of LAPACK's Householder QR (``householder``, ``tau`` of ``qr(mode="raw")``)."""
    _, work, _ = scipy.linalg.lapack.dormqr("L", "T", householder, tau, c, lwork=-1)  # workspace query
    out, _, info = scipy.linalg.lapack.dormqr("L", "T", householder, tau, c, lwork=max(int(work[0]), 1))
    if info != 0:
        raise ConfigError(f"LAPACK dormqr failed (info {info}) while removing the covariates; check for NaN values.")
    return out


def permutation_cca(
    x: np.ndarray, y: np.ndarray, z: np.ndarray, blocks: np.ndarray | None = None,
    n_permutations: int = 1000, seed: int = 42, statistic: Statistic = "wilks",
) -> CcaPermutationTest:
    """Step-down permutation test of every canonical mode of ``x`` float (n, p) vs ``y`` float (n, q).

    z: float (n, r) nuisance covariates (an intercept is added); blocks: (n,) exchangeability block labels.
    """
    if statistic not in STATISTICS:
        raise ConfigError(f"statistic is {statistic!r}; use one of {STATISTICS}.")
    if n_permutations < 1:
        raise ConfigError(f"n_permutations is {n_permutations}; ask for at least 1 (1,000 is the default).")
    codes = block_codes(blocks, len(x))
    (xr, yr), reduced_codes = huh_jhun(z, codes, x, y)
    check_dimensions(len(xr), xr.shape[1], yr.shape[1], "permutation test (after removing covariates)")
    qx, _ = whiten(xr, "permutation test x")
    qy, _ = whiten(yr, "permutation test y")
    left, d, right_t = np.linalg.svd(qx.T @ qy, full_matrices=True)
    u, v = qx @ left, qy @ right_t.T  # orthonormal; the first K columns are the canonical variates
    wide, narrow = (u, v) if u.shape[1] >= v.shape[1] else (v, u)
    r2 = np.clip(d, 0.0, 1.0) ** 2
    observed = _statistics(r2[None, :], statistic)[0]
    null = _null(wide, narrow, reduced_codes, n_permutations, np.random.default_rng(seed), statistic)
    p = (1.0 + (null >= observed * (1 - _TIES)).sum(axis=0)) / (1.0 + n_permutations)
    return CcaPermutationTest(np.sqrt(r2), observed, null, p, np.maximum.accumulate(p), statistic,
                              n_permutations, seed, len(xr))


def _statistics(r2: np.ndarray, statistic: Statistic) -> np.ndarray:
    """Observed step-down statistics float64 (B, K) from squared correlations (B, K), descending."""
    if statistic == "roy":
        return r2
    logs = -np.log1p(-np.minimum(r2, 1 - 1e-15))
    return np.cumsum(logs[:, ::-1], axis=1)[:, ::-1]


def _null(
    wide: np.ndarray, narrow: np.ndarray, codes: np.ndarray, n_permutations: int, rng: np.random.Generator,
    statistic: Statistic,
) -> np.ndarray:
    """float64 (J, K): the step-down statistic of every mode under J within-block permutations."""
    m, k = narrow.shape
    batch = max(1, min(n_permutations, _BATCH_BYTES // (m * k * 4)))
    out = np.empty((n_permutations, k))
    # float32 GEMMs: the columns are orthonormal, so every cross product is a correlation in [-1, 1] whose
    # float32 round-off (~1e-7 relative) is far below any difference between permutation statistics
    wide, narrow = wide.astype(np.float32), narrow.astype(np.float32)
    for start in range(0, n_permutations, batch):
        perms = block_permutations(codes, min(batch, n_permutations - start), rng)
        b = perms.shape[0]
        permuted = narrow[perms.T].reshape(m, b * k)  # (m, B*K): the narrow side's rows permuted
        cross = (wide.T @ permuted).reshape(wide.shape[1], b, k).transpose(1, 0, 2).astype(np.float64)  # (B, p_wide, K)
        out[start:start + b] = _step_down(cross, statistic)
    return out


def _step_down(cross: np.ndarray, statistic: Statistic) -> np.ndarray:
    """float64 (B, K) statistics of the spectra of cross[:, k:, k:] for k = 0..K-1; cross (B, a, K), a >= K."""
    b, _, k = cross.shape
    gram = cross.transpose(0, 2, 1) @ cross  # (B, K, K): sum over all rows i of c_i c_i'
    out = np.empty((b, k))
    for step in range(k):
        r2 = np.clip(np.linalg.eigvalsh(gram[:, step:, step:]), 0.0, 1.0)  # (B, K - step) ascending
        if statistic == "roy":
            out[:, step] = r2[:, -1]
        else:
            out[:, step] = -np.log1p(-np.minimum(r2, 1 - 1e-15)).sum(axis=1)
        row = cross[:, step, :]  # drop row `step` from the suffix sum
        gram -= row[:, :, None] * row[:, None, :]
    return out


def heldout_permutation_p(
    u_folds: list[np.ndarray], v_folds: list[np.ndarray], code_folds: list[np.ndarray],
    n_permutations: int = 1000, seed: int = 42,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean held-out r, p, p_fwer), each float64 (K,), over folds; the null permutes v within blocks per fold.

    u_folds/v_folds: per fold float (n_test, K) held-out canonical variates; code_folds: int (n_test,) blocks.
    One-sided: a mode is found when its mean held-out correlation exceeds the permuted ones. ``p`` compares
    each mode with its own null; ``p_fwer`` with the null of the largest mean r over all modes
    (max-statistic, family-wise over modes).
    """
    rng = np.random.default_rng(seed)
    observed = np.zeros(u_folds[0].shape[1])
    null = np.zeros((n_permutations, u_folds[0].shape[1]))
    for u, v, codes in zip(u_folds, v_folds, code_folds, strict=True):
        us, vs = _standardize(u), _standardize(v)
        observed += (us * vs).mean(axis=0) / len(u_folds)
        batch = max(1, min(n_permutations, _BATCH_BYTES // (vs.size * 8)))
        for start in range(0, n_permutations, batch):
            perms = block_permutations(codes, min(batch, n_permutations - start), rng)
            null[start:start + len(perms)] += np.einsum("nk,bnk->bk", us, vs[perms]) / len(us) / len(u_folds)
    p = permutation_p_value(null, observed)
    p_fwer = permutation_p_value(null.max(axis=1)[:, None], observed)
    return observed, p, p_fwer


def _standardize(a: np.ndarray) -> np.ndarray:
    centred = a - a.mean(axis=0)
    scale = centred.std(axis=0)
    if (scale == 0).any():
        raise ConfigError("a held-out canonical variate is constant on a test fold; its correlation is undefined.")
    return centred / scale
