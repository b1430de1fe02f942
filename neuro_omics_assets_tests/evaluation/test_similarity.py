from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from neuro_omics_assets.embedding.stability import cosine_similarity_matrix
from neuro_omics_assets.errors import ConfigError
from neuro_omics_assets.evaluation.similarity import (
    linear_cka,
    nearest_neighbours,
    null_statistics,
    pair_agreement,
    structure,
)


def dense_hsic_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Textbook CKA, independent of the package: HSIC with centring matrices H = I - 11ᵀ/n on K = XXᵀ, L = YYᵀ."""
    n = x.shape[0]
    h = np.eye(n) - np.ones((n, n)) / n
    k, l_ = x @ x.T, y @ y.T

    def hsic(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.trace(a @ h @ b @ h)) / (n - 1) ** 2

    return hsic(k, l_) / np.sqrt(hsic(k, k) * hsic(l_, l_))


def upper(matrix: np.ndarray) -> np.ndarray:
    return matrix[np.triu_indices(matrix.shape[0], k=1)]


def brute_neighbours(similarity: np.ndarray, k: int) -> list[set[int]]:
    """Each row's k most similar other columns by a plain sort (no ties in continuous random data)."""
    return [set(sorted((j for j in range(len(row)) if j != i), key=lambda j, row=row: -row[j])[:k])
            for i, row in enumerate(similarity)]


@pytest.mark.parametrize("genes, hx, hy", [
    (40, 7, 5),  # more genes than features: CKA's factor is the centred data itself
    (12, 30, 50),  # fewer genes than features (the 38-gene panel vs 768/512 dims): SVD factor of rank G - 1
])
def test_cka_equals_dense_hsic_and_the_factor_form(genes, hx, hy):
    rng = np.random.default_rng(genes)
    x = rng.normal(size=(genes, hx)) + 5.0
    y = x[:, :min(hx, hy)] @ rng.normal(size=(min(hx, hy), hy)) + rng.normal(size=(genes, hy))
    expected = dense_hsic_cka(x, y)
    assert linear_cka(x, y) == pytest.approx(expected, abs=1e-12)
    assert 0.0 < expected < 1.0
    a, _ = structure(x, 2, "x")
    b, _ = structure(y, 2, "y")
    assert pair_agreement(a, b, np.empty((0, genes), dtype=np.int64)).cka == pytest.approx(expected, abs=1e-12)


def test_cka_invariances():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(60, 16)), rng.normal(size=(60, 9))
    rotation, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    reference = linear_cka(x, y)
    assert linear_cka(x @ rotation, y) == pytest.approx(reference, abs=1e-12)  # orthogonal transform
    assert linear_cka(3.7 * x, y) == pytest.approx(reference, abs=1e-12)  # isotropic scaling
    assert linear_cka(x + rng.normal(size=16), y) == pytest.approx(reference, abs=1e-12)  # a shift per feature
    assert linear_cka(x, x) == pytest.approx(1.0, abs=1e-14)
    # a large common offset (float32 vectors around 1e4, spread 1e-2) still centres exactly in float64
    offset = (1e4 + 1e-2 * x).astype(np.float32)
    assert linear_cka(offset, offset.astype(np.float64) @ rotation) == pytest.approx(1.0, abs=1e-9)
    assert linear_cka(x, rng.normal(size=(60, 2048))) < 0.5  # different widths compare directly


def test_cka_refuses_mismatched_or_constant_input():
    x = np.random.default_rng(2).normal(size=(10, 4))
    with pytest.raises(ConfigError, match="same genes"):
        linear_cka(x, x[:9])
    with pytest.raises(ConfigError, match="same vector"):
        linear_cka(x, np.ones((10, 3)))


def test_rank_correlation_equals_spearman_on_the_triangles_with_ties():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(25, 6)), rng.normal(size=(25, 4))
    y[1], y[2] = y[0], y[0]  # duplicate genes: tied similarities in y's triangle
    y += 0.9 * x[:, :4]
    a, sx = structure(x, 3, "x")
    b, sy = structure(y, 3, "y")
    result = pair_agreement(a, b, np.empty((0, 25), dtype=np.int64))
    assert result.rank_correlation == pytest.approx(stats.spearmanr(upper(sx), upper(sy)).statistic, abs=1e-12)
    assert 0.3 < result.rank_correlation < 1.0


def test_nearest_neighbours_exclude_the_gene_itself():
    rng = np.random.default_rng(4)
    similarity = cosine_similarity_matrix(rng.normal(size=(700, 5)))  # more rows than one sorting chunk
    found = nearest_neighbours(similarity, 4)
    assert [set(row) for row in found] == brute_neighbours(similarity, 4)
    assert not (found == np.arange(700)[:, None]).any()


def test_null_statistics_equal_the_statistics_of_relabelled_data():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(18, 5))
    y = x @ rng.normal(size=(5, 8)) + 0.5 * rng.normal(size=(18, 8))
    a, sx = structure(x, 3, "x")
    b, _ = structure(y, 3, "y")
    perms = np.stack([rng.permutation(18) for _ in range(4)])
    null = null_statistics(a, b, perms)
    for perm, (cka, rank, knn) in zip(perms, null, strict=True):
        sy = cosine_similarity_matrix(y[perm])
        assert cka == pytest.approx(linear_cka(x, y[perm]), abs=1e-12)
        assert rank == pytest.approx(stats.spearmanr(upper(sx), upper(sy)).statistic, abs=1e-12)
        overlaps = [len(n & m) / 3 for n, m in zip(brute_neighbours(sx, 3), brute_neighbours(sy, 3), strict=True)]
        assert knn == pytest.approx(np.mean(overlaps), abs=1e-12)


def test_identical_structures_agree_fully_and_beat_every_permutation():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(30, 12))
    rotation, _ = np.linalg.qr(rng.normal(size=(12, 12)))
    a, _ = structure(x, 5, "x")
    b, _ = structure(2.5 * x @ rotation, 5, "rotated x")  # cosines unchanged by rotation and scaling
    result = pair_agreement(a, b, np.stack([rng.permutation(30) for _ in range(199)]))
    assert result.cka == pytest.approx(1.0, abs=1e-12)
    assert result.rank_correlation == pytest.approx(1.0, abs=1e-12)
    assert result.knn_overlap == 1.0
    assert result.knn_chance == 5 / 29
    assert result.p_values == {"cka": 1 / 200, "rank_correlation": 1 / 200, "knn_overlap": 1 / 200}
    assert abs(result.knn_null.mean() - 5 / 29) < 0.02  # the null expectation is exactly k / (G - 1)


def test_null_is_calibrated_for_independent_representations():
    n_sets, n_perms, genes = 200, 99, 12
    p = np.empty((n_sets, 3))
    for seed in range(n_sets):
        rng = np.random.default_rng(1000 + seed)
        a, _ = structure(rng.normal(size=(genes, 4)), 2, "x")
        b, _ = structure(rng.normal(size=(genes, 3)), 2, "y")
        perms = np.argsort(rng.random((n_perms, genes)), axis=1)
        p[seed] = list(pair_agreement(a, b, perms).p_values.values())
    low, high = stats.binom.ppf([0.0005, 0.9995], n_sets, 0.05)
    for column in range(2):  # CKA and rank correlation are continuous: p uniform on the 1/(J+1) grid
        assert low <= (p[:, column] <= 0.05).sum() <= high
        assert stats.kstest(p[:, column], "uniform").pvalue > 1e-3
    assert (p[:, 2] <= 0.05).sum() <= high  # kNN overlap is discrete (ties), so its test is conservative


def test_structure_refuses_too_few_genes_or_too_many_neighbours():
    x = np.random.default_rng(7).normal(size=(6, 3))
    with pytest.raises(ConfigError, match="1 <= k <= 4"):
        structure(x, 5, "x")
    with pytest.raises(ConfigError, match="at least 3 genes"):
        structure(x[:2], 1, "x")
