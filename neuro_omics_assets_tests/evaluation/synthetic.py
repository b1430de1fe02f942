"""Seeded synthetic folds for the evaluation tests: a planted gene–brain mode of known size plus nuisance.

Gene components g (n, G) and brain features b (n, W) both carry covariate effects; one latent
s = g[:, 0] drives the brain features through loadings of squared norm ``effect``, so the population
first canonical correlation is sqrt(effect / (1 + effect)) and every later one is 0.
"""

from __future__ import annotations

import numpy as np

from neuro_omics_assets.cohort.folds import assign_folds
from neuro_omics_assets.cohort.residualize import apply, fit_residualizer
from neuro_omics_assets.evaluation.confounds import FoldData, prepare_brain


def planted_rho(effect: float) -> float:
    return float(np.sqrt(effect / (1.0 + effect)))


def cohort_arrays(n: int, genes: int, brain: int, effect: float, seed: int, n_blocks: int = 0):
    """(ids, gene float64 (n, G), brain float64 (n, W), design float64 (n, 3), blocks str (n,) or None)."""
    rng = np.random.default_rng(seed)
    design = np.column_stack([np.ones(n), rng.normal(size=n), rng.integers(0, 2, n)])
    gene = rng.normal(size=(n, genes)) + design @ rng.normal(size=(3, genes))
    loadings = rng.normal(size=brain)
    loadings *= np.sqrt(effect) / np.linalg.norm(loadings)
    latent = gene[:, 0] - design @ np.linalg.lstsq(design, gene[:, 0], rcond=None)[0]
    latent /= latent.std()
    brain_x = latent[:, None] * loadings + rng.normal(size=(n, brain)) + design @ rng.normal(size=(3, brain))
    blocks = np.array([f"site{i % n_blocks}" for i in range(n)]) if n_blocks else None
    ids = [f"S{i:04d}" for i in range(n)]
    return ids, gene, brain_x, design, blocks


def make_folds(n=400, genes=10, brain=8, effect=1.0, seed=0, n_splits=5, n_blocks=0, brain_components=None):
    """FoldData per fold, prepared the way the assets prepare them (training-only fits)."""
    ids, gene, brain_x, design, blocks = cohort_arrays(n, genes, brain, effect, seed, n_blocks)
    table = assign_folds(ids, n_splits, seed).table
    folds = []
    for fold in range(n_splits):
        test = table["test_fold"].to_numpy() == fold
        train = ~test
        gene_model = fit_residualizer(gene[train], design[train])
        prepared = prepare_brain(brain_x[train], brain_x[test], design[train], design[test], brain_components, seed)
        folds.append(FoldData(
            fold=fold, train_ids=[ids[i] for i in np.flatnonzero(train)], test_ids=[ids[i] for i in np.flatnonzero(test)],
            gene_train=apply(gene_model, gene[train], design[train]), gene_test=apply(gene_model, gene[test], design[test]),
            brain_train=prepared.train, brain_test=prepared.test, design_train=design[train], design_test=design[test],
            blocks_train=None if blocks is None else blocks[train], blocks_test=None if blocks is None else blocks[test],
        ))
    return folds
