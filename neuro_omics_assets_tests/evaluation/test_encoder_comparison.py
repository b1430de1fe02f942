from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuro_omics_assets.errors import ConfigError
from neuro_omics_assets.evaluation.encoder_comparison import (
    PAIR_COLUMNS,
    ComparisonSettings,
    EncoderVectors,
    compare_encoders,
    compared_genes,
    rc_agreement,
    require_same_genes,
)
from neuro_omics_assets.evaluation.similarity import linear_cka

GENES = [f"ENSG{i:011d}" for i in range(40)]
FAST = ComparisonSettings(n_permutations=99, k_neighbours=5)


def encoder(name: str, vectors: np.ndarray, rc_noise: float = 0.0, genes=GENES, reference=None, seed=0):
    """An encoder whose strand vectors are ``vectors`` (PS-like, rc_noise 0) or noisy copies of it."""
    rng = np.random.default_rng(seed)
    forward = vectors + rc_noise * rng.normal(size=vectors.shape)
    reverse = vectors + rc_noise * rng.normal(size=vectors.shape)
    return EncoderVectors(name, genes, vectors.astype(np.float32), forward.astype(np.float32),
                          reverse.astype(np.float32), reference)


def latent_vectors(width: int, seed: int, noise: float = 0.3, genes: int = len(GENES)) -> np.ndarray:
    """Gene vectors of one width sharing a 6-dimensional latent structure (seeded per gene set, not per width)."""
    latent = np.random.default_rng(99).normal(size=(genes, 6))
    rng = np.random.default_rng(seed)
    return latent @ rng.normal(size=(6, width)) + noise * rng.normal(size=(genes, width)) + 2.0


def test_rc_agreement_is_one_for_equal_strands_and_a_cosine_otherwise():
    vectors = np.random.default_rng(0).normal(size=(50, 768)).astype(np.float32)
    equal = rc_agreement(vectors, vectors.copy())
    assert equal.summary()["max_deviation"] < 1e-12  # what an RC-equivariant encoder (Caduceus-PS) must show
    by_hand = rc_agreement(np.array([[1.0, 0.0], [1.0, 1.0], [3.0, 4.0]]), np.array([[0.0, 2.0], [1.0, 0.0], [4.0, 3.0]]))
    np.testing.assert_allclose(by_hand.cosine, [0.0, 1 / np.sqrt(2), 24 / 25], atol=1e-15)
    summary = by_hand.summary()
    assert summary["n_genes"] == 3 and summary["min"] == 0.0 and summary["max"] == pytest.approx(24 / 25)
    assert summary["mean"] == pytest.approx((1 / np.sqrt(2) + 24 / 25) / 3)
    assert summary["median"] == pytest.approx(1 / np.sqrt(2))
    assert np.isnan(rc_agreement(np.zeros((1, 2)), np.ones((1, 2))).cosine[0])


def test_comparison_of_one_structure_seen_by_two_encoders():
    rng = np.random.default_rng(1)
    x = latent_vectors(768, seed=1)
    rotation, _ = np.linalg.qr(rng.normal(size=(768, 768)))
    ps = encoder("caduceus_ps", 0.2 * x @ rotation[:, :512] @ np.linalg.qr(rng.normal(size=(512, 512)))[0])
    dnabert2 = encoder("dnabert2", x, rc_noise=0.5)
    result = compare_encoders([dnabert2, ps], FAST)
    pair = result.pairs.iloc[0]
    assert list(result.pairs.columns) == list(PAIR_COLUMNS)
    assert (pair["encoder_a"], pair["encoder_b"], pair["n_genes"], pair["n_genes_total"]) == ("dnabert2", "caduceus_ps", 40, 40)
    assert pair["cka"] == pytest.approx(linear_cka(x, ps.vectors.astype(np.float64)), abs=1e-9)
    assert pair["rank_correlation"] > 0.8 and pair["knn_overlap"] > 0.6
    assert pair["knn_chance"] == 5 / 39
    assert pair["cka_p_value"] == pair["rank_correlation_p_value"] == pair["knn_overlap_p_value"] == 1 / 100
    assert pair["cka_null_mean"] < 0.5 and abs(pair["rank_correlation_null_mean"]) < 0.05
    assert (pair["n_permutations"], pair["seed"], pair["k_neighbours"]) == (99, 42, 5)
    rc = result.rc_summary.set_index("encoder")
    assert rc.loc["caduceus_ps", "max_deviation"] < 1e-6  # float32 strands, equal by construction
    assert rc.loc["dnabert2", "mean"] < 0.999
    assert result.rc_per_gene.shape == (80, 3) and result.knn_per_gene.shape == (40, 4)
    assert result.knn_per_gene["knn_overlap"].mean() == pytest.approx(pair["knn_overlap"])
    assert set(result.figures) == {"rc_agreement", "similarity_dnabert2_vs_caduceus_ps",
                                   "pairwise_similarity_dnabert2_vs_caduceus_ps"}


def test_unrelated_encoders_agree_at_chance_and_q_values_cover_every_test():
    encoders = [encoder("a", latent_vectors(64, seed=2)), encoder("b", latent_vectors(32, seed=3)),
                encoder("noise", np.random.default_rng(4).normal(size=(40, 16)))]
    pairs = compare_encoders(encoders, FAST).pairs.set_index(["encoder_a", "encoder_b"])
    assert list(pairs.index) == [("a", "b"), ("a", "noise"), ("b", "noise")]
    assert pairs.loc[("a", "b"), "rank_correlation_p_value"] == 1 / 100
    assert pairs.loc[("a", "noise"), "rank_correlation_p_value"] > 0.01
    assert pairs.loc[("a", "noise"), "knn_overlap"] < 0.4
    p = pairs[["cka_p_value", "rank_correlation_p_value", "knn_overlap_p_value"]].to_numpy()
    q = pairs[["cka_q_value", "rank_correlation_q_value", "knn_overlap_q_value"]].to_numpy()
    order = np.argsort(p.ravel())
    ranked = np.minimum.accumulate((p.ravel()[order] * 9 / np.arange(1, 10))[::-1])[::-1]  # BH by hand
    np.testing.assert_allclose(q.ravel()[order], np.minimum(ranked, 1.0))


def test_a_pair_does_not_depend_on_the_other_encoders():
    a, b = encoder("a", latent_vectors(20, seed=5)), encoder("b", latent_vectors(24, seed=6, noise=2.0))
    alone = compare_encoders([a, b], FAST).pairs.iloc[0]
    with_third = compare_encoders([a, b, encoder("c", latent_vectors(8, seed=7))], FAST).pairs.iloc[0]
    columns = ["cka", "cka_p_value", "rank_correlation", "rank_correlation_p_value", "knn_overlap", "knn_null_mean"]
    pd.testing.assert_series_equal(alone[columns], with_third[columns])


@pytest.mark.parametrize("other, message", [
    # a gene missing on one side and another added: both named, with counts
    (dict(genes=GENES[:-1] + ["ENSG_NEW"]), r"1 only in 'a' \(e.g. \['ENSG00000000039'\]\), 1 only in 'b' \(e.g. \['ENSG_NEW'\]\), 39 shared"),
    # the same genes in another order: the first position that differs
    (dict(genes=[GENES[1], GENES[0], *GENES[2:]]), r"different order \(first difference at position 0"),
    # another reference genome
    (dict(reference="sha256:other"), r"different reference genomes"),
    # a reference for one encoder only
    (dict(reference=None), r"given for encoders \['a'\] but not for \['b'\]"),
])
def test_comparisons_across_gene_sets_or_references_are_refused(other, message):
    first = encoder("a", latent_vectors(8, seed=8), reference="sha256:hg38")
    settings = dict(genes=GENES, reference="sha256:hg38") | other
    second = encoder("b", latent_vectors(8, seed=9), genes=settings["genes"], reference=settings["reference"])
    with pytest.raises(ConfigError, match=message) as error:
        compare_encoders([first, second], FAST)
    assert "materialize" in str(error.value) or "pass reference" in str(error.value)
    require_same_genes([first, first])  # the same encoder twice is fine


def test_malformed_encoder_inputs_are_refused_naming_the_genes():
    vectors = latent_vectors(8, seed=10)
    with pytest.raises(ConfigError, match="repeat 1 genes"):
        encoder("a", vectors, genes=GENES[:-1] + [GENES[0]])
    broken = vectors.copy()
    broken[3] = np.nan
    with pytest.raises(ConfigError, match=r"1 genes have vectors that are all zero or not finite \(e.g. \['ENSG00000000003'\]\)"):
        encoder("a", broken)
    with pytest.raises(ConfigError, match="forward has shape"):
        EncoderVectors("a", GENES, vectors, vectors[:, :4], vectors)
    with pytest.raises(ConfigError, match="names repeat"):
        compare_encoders([encoder("a", vectors), encoder("a", vectors)], FAST)


def test_gene_cap_refuses_or_subsamples_with_the_seed():
    with pytest.raises(ConfigError, match=r"5,000 genes exceed max_genes=4,000 .*set subsample_genes"):
        compared_genes(5000, ComparisonSettings())
    chosen = compared_genes(5000, ComparisonSettings(subsample_genes=300))
    assert len(chosen) == 300 and np.all(np.diff(chosen) > 0)
    assert np.array_equal(chosen, compared_genes(5000, ComparisonSettings(subsample_genes=300)))
    assert not np.array_equal(chosen, compared_genes(5000, ComparisonSettings(subsample_genes=300, seed=7)))
    settings = ComparisonSettings(n_permutations=19, k_neighbours=3, max_genes=30, subsample_genes=20)
    result = compare_encoders([encoder("a", latent_vectors(8, seed=11)), encoder("b", latent_vectors(6, seed=12))], settings)
    assert tuple(result.pairs.loc[0, ["n_genes", "n_genes_total"]]) == (20, 40)
    assert len(result.genes) == 20 and set(result.genes) <= set(GENES)
    assert len(result.rc_per_gene) == 80  # RC agreement always covers every gene


@pytest.mark.parametrize("settings", [
    dict(n_permutations=0), dict(k_neighbours=0), dict(max_genes=2), dict(max_genes=100, subsample_genes=200),
])
def test_settings_out_of_range_are_refused(settings):
    with pytest.raises(ConfigError):
        ComparisonSettings(**settings)


def test_one_encoder_gets_its_rc_agreement_and_no_pairs():
    result = compare_encoders([encoder("caduceus_ps", latent_vectors(8, seed=13))], FAST)
    assert result.pairs.empty and list(result.pairs.columns) == list(PAIR_COLUMNS)
    assert result.knn_per_gene.empty and set(result.figures) == {"rc_agreement"}
    assert result.rc_summary.loc[0, "max_deviation"] < 1e-6
