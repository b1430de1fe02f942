"""Gene–brain CCA per fold: fitted on training subjects, scored on held-out subjects, with permutation p-values.

Per fold: CCA of the training subjects' gene components and brain features (``cca.fit_cca``); the
step-down Huh–Jhun permutation test of every mode on those training subjects with the covariate
design as nuisance and the cohort's group column as exchangeability blocks (``permutation``); the
training weights applied to the held-out subjects give held-out canonical correlations. Across folds,
each mode's mean held-out correlation gets a permutation p-value (held-out brain variates permuted
within blocks in every fold; one-sided), per mode and family-wise over modes (max-statistic).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from neuro_omics_assets.errors import ConfigError
from neuro_omics_assets.evaluation.cca import CcaFit, canonical_variates, column_correlations, fit_cca
from neuro_omics_assets.evaluation.confounds import FoldData
from neuro_omics_assets.evaluation.permutation import (
    STATISTICS,
    CcaPermutationTest,
    Statistic,
    block_codes,
    heldout_permutation_p,
    permutation_cca,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CcaSettings:
    """How the permutation inference runs (the component widths are chosen when FoldData is built)."""

    n_permutations: int = 1000  # p resolution 1/1001; Winkler et al. use thousands as well
    seed: int = 42
    statistic: Statistic = "wilks"  # the paper's default; "roy" tests r_k alone

    def __post_init__(self) -> None:
        if self.statistic not in STATISTICS:
            raise ConfigError(f"statistic is {self.statistic!r}; use one of {STATISTICS}.")
        if self.n_permutations < 1:
            raise ConfigError(f"n_permutations is {self.n_permutations}; use at least 1 (default 1,000).")


@dataclass(frozen=True, eq=False)
class FoldCca:
    """One fold: the training fit, its permutation test, and the held-out variates u, v float64 (n_test, K)."""

    data: FoldData
    fit: CcaFit
    test: CcaPermutationTest
    u_test: np.ndarray
    v_test: np.ndarray

    @property
    def heldout(self) -> np.ndarray:
        """float64 (K,) held-out canonical correlation per mode."""
        return column_correlations(self.u_test, self.v_test)


@dataclass(frozen=True, eq=False)
class CcaResult:
    """All folds, plus per mode the mean held-out correlation (K,), its permutation p (K,) and the
    family-wise p over modes (K,, max-statistic)."""

    folds: list[FoldCca]
    heldout_mean: np.ndarray
    heldout_p: np.ndarray
    heldout_p_fwer: np.ndarray
    settings: CcaSettings


def fold_cca(data: FoldData, settings: CcaSettings) -> FoldCca:
    """Fit, test and score one fold (seeded by ``settings.seed`` and the fold number)."""
    fit = fit_cca(data.gene_train, data.brain_train)
    test = permutation_cca(data.gene_train, data.brain_train, data.design_train, data.blocks_train,
                           settings.n_permutations, settings.seed + data.fold, settings.statistic)
    u, v = canonical_variates(fit, data.gene_test, data.brain_test)
    log.info("fold %d: r_train %s, p_fwer %s", data.fold, np.round(fit.correlations[:3], 3), test.p_fwer[:3])
    return FoldCca(data, fit, test, u, v)


def gene_brain_cca(folds: list[FoldData], settings: CcaSettings | None = None) -> CcaResult:
    """Run ``fold_cca`` on every fold and the pooled held-out test; folds must yield the same number of modes."""
    settings = settings if settings is not None else CcaSettings()
    results = [fold_cca(data, settings) for data in folds]
    modes = {r.fit.n_modes for r in results}
    if len(modes) != 1:
        raise ConfigError(f"folds yield different numbers of canonical modes {sorted(modes)}; use the same "
                          f"component widths in every fold.")
    codes = [block_codes(r.data.blocks_test, len(r.data.test_ids)) for r in results]
    mean, p, p_fwer = heldout_permutation_p([r.u_test for r in results], [r.v_test for r in results], codes,
                                    settings.n_permutations, settings.seed)
    return CcaResult(results, mean, p, p_fwer, settings)


def fold_table(result: CcaResult) -> pd.DataFrame:
    """One row per (fold, mode): sizes, in-sample and held-out r, statistic, step-down and FWER p."""
    rows = []
    for r in result.folds:
        k = r.fit.n_modes
        rows.append(pd.DataFrame({
            "fold": r.data.fold, "mode": np.arange(1, k + 1), "n_train": len(r.data.train_ids),
            "n_test": len(r.data.test_ids), "n_gene_components": r.data.gene_train.shape[1],
            "n_brain_components": r.data.brain_train.shape[1], "r_train": r.fit.correlations,
            "r_test": r.heldout, "statistic": result.settings.statistic, "observed_statistic": r.test.observed,
            "p_value": r.test.p_values, "p_fwer": r.test.p_fwer, "n_permutations": r.test.n_permutations,
            "seed": r.test.seed,
        }))
    return pd.concat(rows, ignore_index=True)


def heldout_table(result: CcaResult) -> pd.DataFrame:
    """One row per mode: mean held-out r over folds, its permutation p and family-wise p over modes."""
    k = len(result.heldout_mean)
    return pd.DataFrame({"mode": np.arange(1, k + 1), "mean_r_test": result.heldout_mean,
                         "p_value": result.heldout_p, "p_fwer": result.heldout_p_fwer,
                         "n_permutations": result.settings.n_permutations})


def variates_table(result: CcaResult) -> pd.DataFrame:
    """Held-out canonical variates, one row per (fold, test subject, mode): columns u, v."""
    rows = []
    for r in result.folds:
        n, k = r.u_test.shape
        rows.append(pd.DataFrame({
            "subject_id": np.repeat(np.asarray(r.data.test_ids, dtype=object), k), "fold": r.data.fold,
            "mode": np.tile(np.arange(1, k + 1), n), "u": r.u_test.reshape(-1), "v": r.v_test.reshape(-1),
        }))
    return pd.concat(rows, ignore_index=True)
