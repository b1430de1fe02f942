from __future__ import annotations

import numpy as np
import pytest

from neuro_omics_assets.errors import ConfigError
from neuro_omics_assets.evaluation.gene_brain import CcaSettings, gene_brain_cca
from neuro_omics_assets.evaluation.permutation import (
    block_codes,
    block_permutations,
    heldout_permutation_p,
    huh_jhun,
    permutation_cca,
)

from .synthetic import make_folds, planted_rho

N_DATASETS, N_PERMUTATIONS, ALPHA = 200, 300, 0.05


def nuisance_data(seed: int, signal: float = 0.0, n: int = 40):
    """x (n, 4), y (n, 3), z (n, 3): z drives both sides strongly; ``signal`` plants one true mode."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 3))
    x = rng.normal(size=(n, 4)) + 2.0 * z @ rng.normal(size=(3, 4))
    y = rng.normal(size=(n, 3)) + 2.0 * z @ rng.normal(size=(3, 3))
    if signal:
        zi = np.column_stack([np.ones(n), z])
        residual = x[:, 0] - zi @ np.linalg.lstsq(zi, x[:, 0], rcond=None)[0]
        y[:, 0] += signal * residual
    return x, y, z


def naive_correlations(x: np.ndarray, y: np.ndarray, perms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Textbook CCA per permutation, independent of the package: (observed r (K,), permuted r (J, K))."""
    qx = np.linalg.qr(x - x.mean(0))[0]
    qy = np.linalg.qr(y - y.mean(0))[0]
    observed = np.linalg.svd(qx.T @ qy, compute_uv=False)
    permuted = np.linalg.svd(np.einsum("np,bnq->bpq", qx, qy[perms]), compute_uv=False)
    return observed, permuted


def naive_p(observed: np.ndarray, permuted: np.ndarray) -> np.ndarray:
    return (1 + (permuted >= observed - 1e-12).sum(axis=0)) / (1 + len(permuted))


def test_null_calibration_first_mode_with_nuisance_on_both_sides():
    """Complete null: z correlates with x and y. Huh–Jhun keeps the rate near alpha; ignoring z inflates it."""
    huh_jhun_rejections = naive_rejections = 0
    for seed in range(N_DATASETS):
        x, y, z = nuisance_data(seed)
        result = permutation_cca(x, y, z, n_permutations=N_PERMUTATIONS, seed=seed)
        huh_jhun_rejections += result.p_fwer[0] < ALPHA
        perms = block_permutations(np.zeros(len(x), np.int64), N_PERMUTATIONS, np.random.default_rng(seed))
        observed, permuted = naive_correlations(x, y, perms)  # naive: covariates ignored
        naive_rejections += naive_p(observed, permuted)[0] < ALPHA
    assert 0.02 <= huh_jhun_rejections / N_DATASETS <= 0.09
    assert naive_rejections / N_DATASETS > 0.5


def test_null_calibration_later_mode_after_a_true_mode():
    """Mode 1 real, mode 2 null: step-down keeps mode 2 near alpha; comparing r_2 with the permuted r_2 of
    the full CCA (no step-down, same Huh–Jhun reduction) inflates it."""
    step_down_rejections = naive_rejections = power = 0
    for seed in range(N_DATASETS):
        x, y, z = nuisance_data(seed, signal=1.5)
        result = permutation_cca(x, y, z, n_permutations=N_PERMUTATIONS, seed=seed)
        power += result.p_fwer[0] < ALPHA
        step_down_rejections += result.p_fwer[1] < ALPHA
        (xr, yr), codes = huh_jhun(z, block_codes(None, len(x)), x, y)
        perms = block_permutations(codes, N_PERMUTATIONS, np.random.default_rng(seed))
        observed, permuted = naive_correlations(xr, yr, perms)
        naive_rejections += naive_p(observed, permuted)[1] < ALPHA
    assert power / N_DATASETS > 0.95
    assert 0.02 <= step_down_rejections / N_DATASETS <= 0.09
    assert naive_rejections / N_DATASETS > 0.15


def test_block_permutations_never_move_a_subject_across_blocks():
    blocks = np.array(["famA"] * 3 + ["famB"] * 5 + ["famC"] * 1 + ["famA"] * 2 + ["famD"] * 4)
    codes = block_codes(blocks, len(blocks))
    perms = block_permutations(codes, 500, np.random.default_rng(0))
    assert (blocks[perms] == blocks[None, :]).all()
    assert all(sorted(p) == list(range(len(blocks))) for p in perms)  # each row is a permutation
    moved = (perms != np.arange(len(blocks))).mean(axis=0)
    assert moved[blocks == "famB"].min() > 0.5  # and subjects do move within their block
    assert moved[blocks == "famC"].max() == 0.0  # a singleton block stays put


def test_huh_jhun_rows_stay_in_their_block_and_remove_the_nuisance():
    rng = np.random.default_rng(1)
    n = 60
    z, y = rng.normal(size=(n, 2)), rng.normal(size=(n, 3))
    blocks = np.repeat(["s1", "s2", "s3"], 20)
    codes = block_codes(blocks, n)
    (reduced_z, reduced_y), reduced_codes = huh_jhun(z, codes, z, y)
    assert np.bincount(reduced_codes).tolist() == [17, 17, 17]  # 20 rows minus rank 3 (intercept + z) per block
    np.testing.assert_allclose(reduced_z, 0.0, atol=1e-12)  # Q' Z = 0
    for code in range(3):  # within each block, cross-products equal those of the block's OLS residuals
        rows = codes == code
        design = np.column_stack([np.ones(rows.sum()), z[rows]])
        residual = y[rows] - design @ np.linalg.lstsq(design, y[rows], rcond=None)[0]
        block_y = reduced_y[reduced_codes == code]
        np.testing.assert_allclose(block_y.T @ block_y, residual.T @ residual, atol=1e-10)


def test_planted_mode_found_on_held_out_subjects_and_null_modes_not():
    effect = 1.0
    result = gene_brain_cca(make_folds(n=400, effect=effect, seed=5, n_blocks=4), CcaSettings(n_permutations=400, seed=1))
    assert abs(result.heldout_mean[0] - planted_rho(effect)) < 0.08
    assert result.heldout_p[0] < 0.01 and result.heldout_p_fwer[0] < 0.01
    assert (result.heldout_p_fwer >= result.heldout_p).all() and result.heldout_p_fwer[1:].min() > 0.05
    assert all(f.test.p_fwer[0] < 0.01 for f in result.folds)
    assert abs(result.heldout_mean[1:]).max() < 0.2
    assert max(f.test.p_fwer[1] for f in result.folds) > 0.05


def test_a_block_smaller_than_the_nuisance_rank_leaves_nothing_to_permute():
    rng = np.random.default_rng(0)
    x, y, z = rng.normal(size=(6, 1)), rng.normal(size=(6, 1)), rng.normal(size=(6, 3))
    with pytest.raises(ConfigError, match="no exchangeable rows remain"):
        permutation_cca(x, y, z, blocks=np.array(list("abcabc")), n_permutations=10)


@pytest.mark.parametrize("statistic", ["wilks", "roy"])
def test_null_calibration_within_blocks_whose_effects_drive_both_sides(statistic):
    """Sites shift both sides (a nuisance the covariates do not hold): permuting within blocks after the
    per-block Huh–Jhun reduction stays near alpha; ignoring the blocks rejects almost always."""
    blocks = np.repeat(["s1", "s2", "s3"], 20)
    within = ignored = 0
    for seed in range(N_DATASETS):
        rng = np.random.default_rng(seed)
        z = rng.normal(size=(60, 2))
        site = np.repeat(rng.normal(size=3), 20)[:, None] * 3.0
        x = rng.normal(size=(60, 4)) + 2.0 * z @ rng.normal(size=(2, 4)) + site * rng.normal(size=4)
        y = rng.normal(size=(60, 3)) + 2.0 * z @ rng.normal(size=(2, 3)) + site * rng.normal(size=3)
        within += permutation_cca(x, y, z, blocks, N_PERMUTATIONS, seed, statistic).p_fwer[0] < ALPHA
        ignored += permutation_cca(x, y, z, None, N_PERMUTATIONS, seed, statistic).p_fwer[0] < ALPHA
    assert 0.02 <= within / N_DATASETS <= 0.09
    assert ignored / N_DATASETS > 0.5


def test_heldout_p_values_per_mode_and_family_wise_match_a_direct_count():
    rng = np.random.default_rng(4)
    u = [rng.normal(size=(30, 3)) for _ in range(2)]
    v = [a * [0.8, 0.0, 0.0] + rng.normal(size=(30, 3)) for a in u]
    codes = [np.zeros(30, np.int64)] * 2
    mean, p, p_fwer = heldout_permutation_p(u, v, codes, n_permutations=200, seed=7)
    expected = np.mean([[np.corrcoef(a[:, k], b[:, k])[0, 1] for k in range(3)] for a, b in zip(u, v, strict=True)], axis=0)
    np.testing.assert_allclose(mean, expected, rtol=1e-10)
    draws = np.random.default_rng(7)  # the same permutations, recomputed one by one
    null = np.zeros((200, 3))
    for a, b, c in zip(u, v, codes, strict=True):
        perms = block_permutations(c, 200, draws)
        null += np.array([[np.corrcoef(a[:, k], b[perm, k])[0, 1] for k in range(3)] for perm in perms]) / 2
    np.testing.assert_allclose(p, (1 + (null >= mean - 1e-12).sum(axis=0)) / 201)
    np.testing.assert_allclose(p_fwer, (1 + (null.max(axis=1)[:, None] >= mean - 1e-12).sum(axis=0)) / 201)
    assert p[0] < 0.01 and (p_fwer >= p).all()
