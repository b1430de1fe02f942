"""Evaluation layer: gene–brain CCA with permutation inference, phenotype prediction, encoder comparison.

numpy/scipy/scikit-learn only (no Dagster). ``features`` reads and reconciles brain features and
phenotypes; ``confounds`` prepares each fold (covariates out, optional PCA, training subjects only);
``cca`` fits and applies CCA; ``permutation`` is the Winkler et al. (2020) step-down Huh–Jhun test;
``gene_brain`` runs it per fold; ``prediction`` fits ridge/logistic models; ``leaderboard`` compares
encoders on identical folds; ``similarity`` (linear CKA, similarity-matrix rank correlation, kNN overlap,
gene-permutation nulls) and ``encoder_comparison`` compare encoders' gene vectors over one gene set;
``plots`` draws the figures.
"""

from neuro_omics_assets.evaluation.cca import CcaFit, canonical_variates, fit_cca
from neuro_omics_assets.evaluation.confounds import FoldBrain, FoldData, gene_components, prepare_brain
from neuro_omics_assets.evaluation.encoder_comparison import (
    ComparisonSettings,
    EncoderComparison,
    EncoderVectors,
    compare_encoders,
    rc_agreement,
    require_same_genes,
)
from neuro_omics_assets.evaluation.features import (
    FeatureSpec,
    Reconciliation,
    SubjectTable,
    read_brain_features,
    read_phenotypes,
    reconcile,
)
from neuro_omics_assets.evaluation.gene_brain import CcaResult, CcaSettings, gene_brain_cca
from neuro_omics_assets.evaluation.leaderboard import leaderboard
from neuro_omics_assets.evaluation.permutation import CcaPermutationTest, block_permutations, permutation_cca
from neuro_omics_assets.evaluation.prediction import PhenotypePrediction, predict_phenotype
from neuro_omics_assets.evaluation.similarity import linear_cka

__all__ = [
    "CcaFit",
    "CcaPermutationTest",
    "CcaResult",
    "CcaSettings",
    "ComparisonSettings",
    "EncoderComparison",
    "EncoderVectors",
    "FeatureSpec",
    "FoldBrain",
    "FoldData",
    "PhenotypePrediction",
    "Reconciliation",
    "SubjectTable",
    "block_permutations",
    "canonical_variates",
    "compare_encoders",
    "fit_cca",
    "gene_brain_cca",
    "gene_components",
    "leaderboard",
    "linear_cka",
    "permutation_cca",
    "predict_phenotype",
    "prepare_brain",
    "rc_agreement",
    "read_brain_features",
    "read_phenotypes",
    "reconcile",
    "require_same_genes",
]
