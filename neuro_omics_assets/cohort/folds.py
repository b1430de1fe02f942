"""Cross-validation folds over subjects: which fold holds each subject out as test.

The splitter follows what the cohort provides (DESIGN: StratifiedGroupKFold(5, seed 42) when
labels/groups exist, else KFold(5, seed 42)):

=================  ================  ===============================================
labels             groups            splitter (scikit-learn, ``shuffle=True`` + seed)
=================  ================  ===============================================
given              given             ``StratifiedGroupKFold``
given              --                ``StratifiedKFold``
--                 given             ``GroupKFold``
--                 --                ``KFold``
=================  ================  ===============================================

Labels (e.g. diagnosis) keep class proportions equal across folds; groups (e.g. site or family)
never straddle a train/test boundary.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

from neuro_omics_assets.errors import ConfigError

log = logging.getLogger(__name__)

FOLD_COLUMNS: tuple[str, ...] = ("subject_id", "test_fold")


@dataclass(frozen=True, eq=False)
class FoldAssignment:
    """The fold of every subject and how it was drawn.

    ``table``: columns ``subject_id`` (str) and ``test_fold`` (int64 in ``[0, n_splits)``), one row
    per subject in input order, so row positions are the positions of ``subject_ids``.
    ``splitter``: the scikit-learn class used (see the module table).
    """

    table: pd.DataFrame
    splitter: str
    n_splits: int
    seed: int


def assign_folds(
    subject_ids: Sequence[str],
    n_splits: int = 5,
    seed: int = 42,
    labels: Sequence | None = None,
    groups: Sequence | None = None,
) -> FoldAssignment:
    """Assign each subject the fold in which it is a test subject (deterministic for a given seed)."""
    ids = [str(s) for s in subject_ids]
    _check_subjects(ids, n_splits)
    y = _check_column(labels, "labels", len(ids))
    g = _check_column(groups, "groups", len(ids))
    if y is not None:
        _check_class_sizes(y, n_splits)
    if g is not None and len(set(g)) < n_splits:
        raise ConfigError(
            f"groups hold {len(set(g))} distinct values, fewer than n_splits={n_splits}; "
            f"lower n_splits or use a finer group column."
        )
    if y is not None and g is not None:
        splitter = StratifiedGroupKFold(n_splits, shuffle=True, random_state=seed)
    elif y is not None:
        splitter = StratifiedKFold(n_splits, shuffle=True, random_state=seed)
    elif g is not None:
        splitter = GroupKFold(n_splits, shuffle=True, random_state=seed)
    else:
        splitter = KFold(n_splits, shuffle=True, random_state=seed)
    test_fold = np.full(len(ids), -1, dtype=np.int64)
    for fold, (_, test_idx) in enumerate(splitter.split(np.zeros((len(ids), 1)), y, g)):
        test_fold[test_idx] = fold
    name = type(splitter).__name__
    log.info("assigned %d subjects to %d folds with %s(seed=%d)", len(ids), n_splits, name, seed)
    table = pd.DataFrame({"subject_id": ids, "test_fold": test_fold})
    return FoldAssignment(table=table, splitter=name, n_splits=n_splits, seed=seed)


def train_test(fold_table: pd.DataFrame, fold: int) -> tuple[list[str], list[str]]:
    """(train subject ids, test subject ids) of ``fold``, each in table order."""
    missing = [c for c in FOLD_COLUMNS if c not in fold_table.columns]
    if missing:
        raise ConfigError(f"the fold table lacks columns {missing}; build it with assign_folds().")
    folds = sorted(int(f) for f in fold_table["test_fold"].unique())
    if fold not in folds:
        raise ConfigError(f"fold {fold} is not in the fold table (folds: {folds}).")
    is_test = fold_table["test_fold"].to_numpy() == fold
    ids = fold_table["subject_id"].astype(str).to_numpy()
    return ids[~is_test].tolist(), ids[is_test].tolist()


def _check_subjects(ids: list[str], n_splits: int) -> None:
    if not isinstance(n_splits, int | np.integer) or n_splits < 2:
        raise ConfigError(f"n_splits is {n_splits!r}; cross-validation needs an integer of at least 2.")
    if len(ids) < n_splits:
        raise ConfigError(f"{len(ids)} subjects cannot fill n_splits={n_splits} folds; lower n_splits.")
    index = pd.Index(ids)
    duplicated = index[index.duplicated()].unique().tolist()
    if duplicated:
        raise ConfigError(f"subject ids repeat ({duplicated[:10]}); each subject must appear once.")


def _check_column(values: Sequence | None, name: str, n: int) -> np.ndarray | None:
    if values is None:
        return None
    array = np.asarray(pd.Series(list(values), dtype=object))
    if len(array) != n:
        raise ConfigError(f"{name} has {len(array)} values for {n} subjects; pass one per subject, in order.")
    blank = pd.isna(array)
    if blank.any():
        first = int(np.flatnonzero(blank)[0])
        raise ConfigError(
            f"{name} is missing for {int(blank.sum())} subjects (first at position {first}); "
            f"fill them in or leave those subjects out."
        )
    return array.astype(str)


def _check_class_sizes(labels: np.ndarray, n_splits: int) -> None:
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) < 2:
        raise ConfigError(f"labels hold the single class {classes[0]!r}; stratification needs two or more.")
    small = {str(c): int(k) for c, k in zip(classes, counts, strict=True) if k < n_splits}
    if small:
        raise ConfigError(
            f"label classes {small} have fewer subjects than n_splits={n_splits}, so some test folds "
            f"would lack them; lower n_splits or merge rare classes."
        )
