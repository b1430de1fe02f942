from __future__ import annotations

import subprocess
import sys

import neuro_omics_assets.cohort as cohort


def test_cohort_imports_neither_dagster_nor_msprime():
    code = "import sys, neuro_omics_assets.cohort; print('dagster' in sys.modules, 'msprime' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False False"


def test_simulate_imports_no_dagster():
    code = "import sys, neuro_omics_assets.cohort.simulate; print('dagster' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_public_api_is_exported():
    assert all(hasattr(cohort, name) for name in cohort.__all__)
    assert {
        "fit_pca",
        "fold_embeddings",
        "read_covariates",
        "assign_folds",
        "build_subject_gene_tensor",
    } <= set(cohort.__all__)
