from __future__ import annotations

import neuro_omics_assets.cohort as cohort


def test_public_api_is_exported():
    assert all(hasattr(cohort, name) for name in cohort.__all__)
    assert {
        "fit_pca",
        "fold_embeddings",
        "read_covariates",
        "assign_folds",
        "build_subject_gene_tensor",
    } <= set(cohort.__all__)
