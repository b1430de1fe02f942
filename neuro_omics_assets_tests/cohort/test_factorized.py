"""The factorized subject matrix against the dense matrix built by loops."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuro_omics_assets.cohort.factorized import FactorizedMatrix, Shifted, centered
from neuro_omics_assets.cohort.matrix import build_subject_gene_tensor, subject_matrix
from neuro_omics_assets.errors import ConfigError

from .factorized_cohorts import random_cohort

CASES = [  # (ploidy, combine): the combinations the dense path accepts
    ("diploid", "mean"),
    ("diploid", "sum"),
    ("haploid", "mean"),
    ("mixed", "mean"),  # 1 or 2 haplotypes per (subject, gene): the mean keeps one haplotype's scale
]


@pytest.mark.parametrize(("ploidy", "combine"), CASES)
def test_products_and_norms_equal_the_dense_matrix(ploidy, combine):
    cohort = random_cohort(30, 4, 5, 6, ploidy, combine, seed=1)
    x, m = cohort.dense, cohort.matrix
    rng = np.random.default_rng(2)
    b, y = rng.standard_normal((x.shape[1], 3)), rng.standard_normal((x.shape[0], 3))
    np.testing.assert_allclose(m.to_dense(), x, rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(m.matmat(b), x @ b, rtol=1e-12, atol=1e-11)
    np.testing.assert_allclose(m.rmatmat(y), x.T @ y, rtol=1e-12, atol=1e-11)
    mean = m.column_mean()
    np.testing.assert_allclose(mean, x.mean(axis=0), rtol=1e-13)
    assert m.centered_sq_norm(mean) == pytest.approx(np.sum((x - x.mean(axis=0)) ** 2), rel=1e-12)
    shifted, _ = centered(m)
    assert shifted.sq_norm() == pytest.approx(np.sum((x - x.mean(axis=0)) ** 2), rel=1e-9)
    left, right = rng.standard_normal((x.shape[0], 2)), rng.standard_normal((2, x.shape[1]))
    assert Shifted(m, left, right).sq_norm() == pytest.approx(np.sum((x - left @ right) ** 2), rel=1e-10)
    rows = np.array([5, 2, 29, 2])
    np.testing.assert_allclose(m.rows(rows).to_dense(), x[rows], rtol=1e-13, atol=1e-12)


def test_factors_equal_the_dense_tensor_of_the_haplotype_map():
    table = pd.DataFrame({
        "subject_id": ["S1", "S1", "S2", "S2", "S1", "S2", "S2"],
        "gene_id": ["A", "A", "A", "A", "B", "B", "B"],
        "haplotype": [0, 1, 0, 1, 0, 0, 1],
        "sha256": ["a1", "a2", "a1", "a1", "b1", "b1", "b2"],
    })
    vectors = {"a1": np.array([1.0, 2.0], np.float32), "a2": np.array([3.0, 6.0], np.float32),
               "b1": np.array([0.5, 0.0], np.float32), "b2": np.array([1.5, 1.0], np.float32)}
    hashes = list(vectors)
    matrix = FactorizedMatrix.from_codes(
        pd.Index(["S1", "S2"]).get_indexer(table["subject_id"]), pd.Index(hashes).get_indexer(table["sha256"]),
        np.stack(list(vectors.values())), np.array([0, 0, 1, 1]), 2, 2, "mean")
    dense = subject_matrix(build_subject_gene_tensor(table, vectors, ["S1", "S2"], ["A", "B"]))
    np.testing.assert_array_equal(matrix.to_dense(), dense)
    assert matrix.dtype == np.float32 and matrix.n_distinct == 4
    np.testing.assert_array_equal(matrix.to_dense()[0], [2.0, 4.0, 0.5, 0.0])  # S1/B is haploid here


def test_a_subject_without_haplotypes_of_a_gene_is_an_error():
    with pytest.raises(ConfigError, match=r"1 \(subject, gene\) pairs have no haplotype .*subject 1/gene 1"):
        FactorizedMatrix.from_codes(np.array([0, 0, 1]), np.array([0, 1, 0]), np.eye(2), np.array([0, 1]), 2, 2)


def test_sum_refuses_mixed_ploidy():
    with pytest.raises(ConfigError, match="combine='mean' for mixed ploidy"):
        FactorizedMatrix.from_codes(np.array([0, 0, 1]), np.array([0, 0, 0]), np.eye(2)[:1], np.array([0]), 2, 1,
                                    "sum")
