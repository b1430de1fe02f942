"""Retrieval metrics and their permutation null against a brute-force recomputation."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from neuro_omics_assets.cross_species.metrics import chance, cosine_similarity, ortholog_transfer
from neuro_omics_assets.errors import ConfigError


def _brute_force(a: np.ndarray, b: np.ndarray, index_a, index_b, top_k: int) -> dict[str, float]:
    """Metrics by loops: cosine per cell, ranks by counting, AUROC by scikit-learn over all cells."""
    cos = np.array([[x @ y / np.linalg.norm(x) / np.linalg.norm(y) for y in b] for x in a])
    forward = [sum(cos[s, j] >= cos[s, t] for j in range(len(b))) for s, t in zip(index_a, index_b, strict=True)]
    backward = [sum(cos[i, t] >= cos[s, t] for i in range(len(a))) for s, t in zip(index_a, index_b, strict=True)]
    truth = np.zeros(cos.shape, dtype=bool)
    truth[index_a, index_b] = True
    out = {"auroc": roc_auc_score(truth.ravel(), cos.ravel())}
    for name, ranks in (("ab", np.array(forward)), ("ba", np.array(backward))):
        out.update({f"{name}_ranks": ranks, f"{name}_top1": np.mean(ranks == 1), f"{name}_topk": np.mean(ranks <= top_k),
                    f"{name}_mrr": np.mean(1 / ranks)})
    return out


@pytest.fixture
def planted() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """12 a genes, 15 b genes (3 without ortholog); 10 pairs whose b vector is the a vector plus noise."""
    rng = np.random.default_rng(3)
    a = rng.normal(size=(12, 8))
    b = rng.normal(size=(15, 8))
    index_a, index_b = np.array([0, 2, 3, 4, 5, 6, 7, 8, 9, 11]), np.array([14, 0, 1, 2, 3, 4, 5, 6, 7, 8])
    b[index_b] = a[index_a] + rng.normal(scale=1.2, size=(10, 8))
    return a, b, index_a, index_b


def test_observed_metrics_equal_a_brute_force_computation(planted) -> None:
    a, b, index_a, index_b = planted
    result = ortholog_transfer(a, b, index_a, index_b, n_permutations=50, seed=0, top_k=3)
    expected = _brute_force(a, b, index_a, index_b, 3)
    np.testing.assert_array_equal(result.a_to_b.ranks, expected["ab_ranks"])
    np.testing.assert_array_equal(result.b_to_a.ranks, expected["ba_ranks"])
    assert 1 < result.a_to_b.ranks.max() and result.a_to_b.ranks.min() == 1  # neither perfect nor hopeless
    for name, direction in (("ab", result.a_to_b), ("ba", result.b_to_a)):
        for metric in ("top1", "topk", "mrr"):
            assert direction.observed[metric] == pytest.approx(expected[f"{name}_{metric}"], abs=1e-12)
        assert direction.observed["auroc"] == pytest.approx(expected["auroc"], abs=1e-12)
    assert (result.a_to_b.n_candidates, result.b_to_a.n_candidates) == (15, 12)
    np.testing.assert_allclose(result.a_to_b.cosine, cosine_similarity(a, b)[index_a, index_b])
    np.testing.assert_array_equal(result.b_to_a.best, cosine_similarity(a, b)[:, index_b].argmax(axis=0))


def test_the_null_permutes_the_b_labels_and_equals_a_recomputation(planted) -> None:
    a, b, index_a, index_b = planted
    result = ortholog_transfer(a, b, index_a, index_b, n_permutations=30, seed=11, top_k=3)
    rng = np.random.default_rng(11)  # the same draws: one permutation of the 15 b genes each
    for j in range(30):
        relabelled = rng.permutation(15)[index_b]  # pair k's ortholog is now the b gene relabelled[k]
        expected = _brute_force(a, b, index_a, relabelled, 3)
        for name, direction in (("ab", result.a_to_b), ("ba", result.b_to_a)):
            for metric in ("top1", "topk", "mrr"):
                assert direction.null[metric][j] == pytest.approx(expected[f"{name}_{metric}"], abs=1e-12)
        assert result.a_to_b.null["auroc"][j] == pytest.approx(expected["auroc"], abs=1e-12)
    for metric in ("top1", "topk", "mrr", "auroc"):
        null, observed = result.a_to_b.null[metric], result.a_to_b.observed[metric]
        assert result.a_to_b.p_values[metric] == pytest.approx((1 + np.sum(null >= observed - 1e-12)) / 31)


def test_perfect_orthologs_reach_the_smallest_p_and_chance_levels() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(20, 16))
    result = ortholog_transfer(a, a[::-1] * 2.0, np.arange(20), np.arange(20)[::-1], n_permutations=200, seed=1)
    assert result.a_to_b.observed == {"top1": 1.0, "topk": 1.0, "mrr": 1.0, "auroc": 1.0}
    assert result.a_to_b.p_values["mrr"] == pytest.approx(1 / 201)
    # the null's mean sits at the chance levels
    assert result.a_to_b.null["mrr"].mean() == pytest.approx(chance("mrr", 20, 5), abs=0.02)
    assert result.a_to_b.null["top1"].mean() == pytest.approx(chance("top1", 20, 5), abs=0.02)
    assert result.a_to_b.null["auroc"].mean() == pytest.approx(0.5, abs=0.03)
    assert chance("topk", 3, 5) == 1.0 and chance("mrr", 2, 5) == pytest.approx(0.75)


# Bad calls and what the error says.
BAD = [
    (dict(index_a=[0, 1], index_b=[0]), "need two equal, non-empty 1-D arrays"),
    (dict(index_a=[0, 9], index_b=[0, 1]), "outside the 4 x 4 genes"),
    (dict(index_a=[0, 0], index_b=[0, 1]), "a gene is in two ortholog pairs"),
    (dict(index_a=[0], index_b=[0], n_permutations=0), "n_permutations=0 must be an integer >= 1"),
    (dict(index_a=[0], index_b=[0], top_k=0), "top_k=0 must be an integer >= 1"),
]


@pytest.mark.parametrize(("arguments", "message"), BAD)
def test_bad_pairs_and_settings_are_refused(arguments, message) -> None:
    vectors = np.eye(4)
    with pytest.raises(ConfigError, match=message):
        ortholog_transfer(vectors, vectors, **{k: np.asarray(v) if k.startswith("index") else v
                                              for k, v in arguments.items()})


def test_vectors_that_cannot_be_compared_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"shapes \(2, 3\) and \(2, 4\) cannot be compared"):
        cosine_similarity(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ConfigError, match="zero or not finite"):
        cosine_similarity(np.zeros((1, 3)), np.ones((2, 3)))
