"""Zero-shot transfer of a gene property: a classifier trained on one genome's vectors, tested on the other's.

* **Labels.** ``functional_class`` for mitochondrial genes, from the annotation's gene names (the
  ``MT-``/``mt-`` prefix and case ignored): ND* complex_I, CYB/CYTB complex_III, CO* complex_IV, ATP*
  complex_V, RNR* rRNA, T* tRNA. ``gene_type`` uses the annotation's biotype as it is (any genome).
* **Classifier.** Rows scaled to unit length (the cosine geometry of the retrieval), standardised with the
  training genome's means and SDs, then an L2-regularised multinomial logistic regression (C = 1, lbfgs;
  with far fewer genes than dimensions the penalty is what makes the fit defined). Deterministic.
* **Scores.** Accuracy and balanced accuracy (mean per-class recall over the test genome's classes,
  ``sklearn.metrics.balanced_accuracy_score``). The **majority** baseline predicts the training genome's
  most frequent class for every test gene.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from neuro_omics_assets.errors import ConfigError

Label = Literal["functional_class", "gene_type"]
LABELS: tuple[str, ...] = ("functional_class", "gene_type")
# Longest prefix first, so that CYTB is not read as a CO*/T* gene and ATP* is not read as tRNA.
_CLASS_PREFIXES = (("CYTB", "complex_III"), ("CYB", "complex_III"), ("ATP", "complex_V"), ("RNR", "rRNA"),
                   ("ND", "complex_I"), ("CO", "complex_IV"), ("T", "tRNA"))


def mitochondrial_class(gene_name: str | None) -> str | None:
    """The functional class of a mitochondrial gene name (``MT-ND6``, ``mt-Cytb``), None for another gene."""
    if not isinstance(gene_name, str) or not gene_name.upper().startswith("MT-"):
        return None
    core = gene_name[3:].upper()
    return next((label for prefix, label in _CLASS_PREFIXES if core.startswith(prefix)), None)


def gene_labels(genes: pd.DataFrame, label: Label) -> np.ndarray:
    """object (n,): each gene's ``label`` from a gene or sequence table (``gene_id``, ``gene_name``, ``gene_type``)."""
    if label not in LABELS:
        raise ConfigError(f"label {label!r} is unknown; use one of {', '.join(LABELS)}.")
    if label == "gene_type":
        values = genes["gene_type"].to_numpy(dtype=object)
    else:
        values = np.array([mitochondrial_class(name) for name in genes["gene_name"]], dtype=object)
    names = [name if isinstance(name, str) else gene_id for name, gene_id in zip(genes["gene_name"], genes["gene_id"],
                                                                                  strict=True)]
    missing = [name for name, value in zip(names, values, strict=True) if value is None]
    if missing:
        raise ConfigError(f"no {label} for gene(s) {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}; "
                          f"functional_class covers mitochondrial genes (MT-/mt- names): use label 'gene_type' "
                          f"or select mitochondrial genes.")
    return values


def zero_shot_predictions(train_x: np.ndarray, train_y: Sequence[str], test_x: np.ndarray) -> np.ndarray:
    """The classifier (see the module doc) fit on ``train_x`` (n_train, H) and ``train_y``, applied to
    ``test_x`` (n_test, H): object (n_test,) predicted labels. One training class: it is predicted for all."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import Normalizer, StandardScaler

    classes = sorted(set(train_y))
    if len(classes) == 1:
        return np.full(len(test_x), classes[0], dtype=object)
    model = make_pipeline(Normalizer(), StandardScaler(), LogisticRegression(C=1.0, max_iter=10_000))
    model.fit(np.asarray(train_x, dtype=np.float64), np.asarray(train_y, dtype=object))
    return model.predict(np.asarray(test_x, dtype=np.float64)).astype(object)


def majority_predictions(train_y: Sequence[str], n_test: int) -> np.ndarray:
    """object (n_test,): the most frequent training label (ties: the first in sorted order) for every gene."""
    values, counts = np.unique(np.asarray(train_y, dtype=str), return_counts=True)
    return np.full(n_test, values[np.argmax(counts)], dtype=object)


def scores(true: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    """Accuracy and balanced accuracy of ``predicted`` against ``true``."""
    import warnings

    from sklearn.metrics import balanced_accuracy_score

    true, predicted = np.asarray(true, dtype=str), np.asarray(predicted, dtype=str)
    with warnings.catch_warnings():  # a predicted class absent from the test genome is scored as a miss
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        balanced = balanced_accuracy_score(true, predicted)
    return {"accuracy": float(np.mean(true == predicted)), "balanced_accuracy": float(balanced)}
