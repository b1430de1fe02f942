"""Functional classes of the real mitochondrial genes, the classifier and the baselines' scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuro_omics_assets.cross_species.classify import (
    gene_labels,
    majority_predictions,
    mitochondrial_class,
    scores,
    zero_shot_predictions,
)
from neuro_omics_assets.errors import ConfigError

COUNTS = {"tRNA": 22, "complex_I": 7, "complex_IV": 3, "complex_V": 2, "rRNA": 2, "complex_III": 1}


def test_both_genomes_get_the_same_classes_consistent_with_their_biotypes(human, mouse, pairs) -> None:
    for genes in (human, mouse):
        labels = gene_labels(genes, "functional_class")
        assert pd.Series(labels).value_counts().to_dict() == COUNTS
        types = dict(zip(labels, genes["gene_type"], strict=False))
        assert (types["tRNA"], types["rRNA"], types["complex_III"]) == ("Mt_tRNA", "Mt_rRNA", "protein_coding")
    by_name = pairs.pairs.set_index("gene_name_a")["gene_name_b"]
    for name, mouse_name in by_name.items():
        assert mitochondrial_class(name) == mitochondrial_class(mouse_name)
    assert [mitochondrial_class(n) for n in ("MT-CYB", "mt-Cytb", "MT-ND4L", "mt-Atp8", "MT-TL1", "MT-RNR2")] == [
        "complex_III", "complex_III", "complex_I", "complex_V", "tRNA", "rRNA"]
    assert gene_labels(human, "gene_type").tolist() == human["gene_type"].tolist()


def test_genes_without_a_functional_class_are_refused() -> None:
    genes = pd.DataFrame({"gene_id": ["G1", "G2", "G3"], "gene_name": ["MT-CO1", "BRCA1", None],
                          "gene_type": ["protein_coding"] * 3})
    assert mitochondrial_class("BRCA1") is None and mitochondrial_class(None) is None
    with pytest.raises(ConfigError, match="no functional_class for gene\\(s\\) BRCA1, G3; .*use label 'gene_type'"):
        gene_labels(genes, "functional_class")
    with pytest.raises(ConfigError, match="label 'biotype' is unknown"):
        gene_labels(genes, "biotype")


def test_the_classifier_transfers_separable_classes_and_the_scores_equal_sklearn() -> None:
    from sklearn.metrics import balanced_accuracy_score

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 20)) * 3
    labels = np.array(["x"] * 10 + ["y"] * 5 + ["z"] * 2, dtype=object)
    train = centres[[{"x": 0, "y": 1, "z": 2}[v] for v in labels]] + rng.normal(size=(17, 20))
    test = centres[[{"x": 0, "y": 1, "z": 2}[v] for v in labels]] + rng.normal(size=(17, 20))
    predicted = zero_shot_predictions(train, labels, test)
    assert (predicted == labels).all()
    wrong = labels.copy()
    wrong[[0, 11, 16]] = ["y", "x", "x"]
    expected = {"accuracy": 14 / 17, "balanced_accuracy": balanced_accuracy_score(labels.astype(str), wrong.astype(str))}
    assert scores(labels, wrong) == pytest.approx(expected)
    assert expected["balanced_accuracy"] == pytest.approx((9 / 10 + 4 / 5 + 1 / 2) / 3)


def test_majority_baseline_and_a_single_training_class() -> None:
    assert majority_predictions(["b", "a", "b", "c"], 3).tolist() == ["b", "b", "b"]
    assert majority_predictions(["b", "a"], 1).tolist() == ["a"]  # a tie goes to the first in sorted order
    assert zero_shot_predictions(np.ones((3, 2)), ["k", "k", "k"], np.zeros((2, 2))).tolist() == ["k", "k"]
    assert scores(["a", "a", "b"], ["a", "a", "a"]) == pytest.approx({"accuracy": 2 / 3, "balanced_accuracy": 0.5})
