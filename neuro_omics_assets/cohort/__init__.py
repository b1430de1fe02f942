"""Cohort layer: covariates, folds, the subject matrix, PCA and residualization (no Dagster).

The cohort assets use the factorized subject matrix (``cohort.factorized``, ``cohort.factorized_pca``);
the dense ``matrix``/``pca``/``residualize`` functions exported here are the reference they equal.

``simulate`` (the SYNTHETIC demo cohort) needs msprime, the ``cohort`` extra, and is imported on
its own: ``from neuro_omics_assets.cohort.simulate import simulate_cohort``.
"""

from neuro_omics_assets.cohort.covariates import (
    AlignmentReport,
    Covariates,
    CovariateSpec,
    align,
    design_column_names,
    design_matrix,
    read_covariates,
)
from neuro_omics_assets.cohort.folds import FoldAssignment, assign_folds, train_test
from neuro_omics_assets.cohort.matrix import build_subject_gene_tensor, combine_haplotypes, subject_matrix
from neuro_omics_assets.cohort.pca import PcaBasis, explained_variance_table, fit_pca, scree_plot, transform
from neuro_omics_assets.cohort.residualize import (
    FoldModel,
    FoldResult,
    Residualizer,
    apply,
    fit_fold_model,
    fit_residualizer,
    fold_embeddings,
)

__all__ = [
    "AlignmentReport",
    "CovariateSpec",
    "Covariates",
    "FoldAssignment",
    "FoldModel",
    "FoldResult",
    "PcaBasis",
    "Residualizer",
    "align",
    "apply",
    "assign_folds",
    "build_subject_gene_tensor",
    "combine_haplotypes",
    "design_column_names",
    "design_matrix",
    "explained_variance_table",
    "fit_fold_model",
    "fit_pca",
    "fit_residualizer",
    "fold_embeddings",
    "read_covariates",
    "scree_plot",
    "subject_matrix",
    "train_test",
    "transform",
]
