from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuro_omics_assets.cohort.folds import assign_folds, train_test
from neuro_omics_assets.errors import ConfigError

SUBJECTS = [f"S{i:03d}" for i in range(200)]
LABELS = [1 if i % 10 < 3 else 0 for i in range(200)]  # 60 cases, 140 controls
GROUPS = [f"site{i % 20}" for i in range(200)]  # 20 sites of 10 subjects


def test_kfold_without_labels_or_groups_is_balanced_and_seeded():
    folds = assign_folds(SUBJECTS)
    assert folds.splitter == "KFold" and folds.n_splits == 5 and folds.seed == 42
    assert folds.table["subject_id"].tolist() == SUBJECTS
    assert folds.table["test_fold"].value_counts().sort_index().tolist() == [40] * 5
    again = assign_folds(SUBJECTS)
    pd.testing.assert_frame_equal(folds.table, again.table)
    other = assign_folds(SUBJECTS, seed=7)
    assert not folds.table["test_fold"].equals(other.table["test_fold"])


def test_stratified_folds_keep_the_case_fraction():
    folds = assign_folds(SUBJECTS, labels=LABELS)
    assert folds.splitter == "StratifiedKFold"
    cases = pd.Series(LABELS).groupby(folds.table["test_fold"]).sum()
    assert cases.tolist() == [12] * 5  # 60 cases / 5 folds
    pd.testing.assert_frame_equal(folds.table, assign_folds(SUBJECTS, labels=LABELS).table)


def test_group_folds_never_split_a_group():
    folds = assign_folds(SUBJECTS, groups=GROUPS)
    assert folds.splitter == "GroupKFold"
    assert (pd.Series(folds.table["test_fold"]).groupby(GROUPS).nunique() == 1).all()
    assert folds.table["test_fold"].value_counts().tolist() == [40] * 5


def test_stratified_group_folds_respect_both():
    # labels constant within a group, as for a per-site diagnosis recruitment
    groups = [f"g{i // 5}" for i in range(200)]  # 40 groups of 5
    labels = [1 if (i // 5) % 4 == 0 else 0 for i in range(200)]  # 10 case groups
    folds = assign_folds(SUBJECTS, labels=labels, groups=groups)
    assert folds.splitter == "StratifiedGroupKFold"
    assert (folds.table["test_fold"].groupby(groups).nunique() == 1).all()
    cases = pd.Series(labels).groupby(folds.table["test_fold"]).sum()
    assert cases.tolist() == [10] * 5  # 50 cases in 10 groups: two case groups per fold
    pd.testing.assert_frame_equal(folds.table, assign_folds(SUBJECTS, labels=labels, groups=groups).table)


def test_train_test_partitions_the_subjects():
    table = assign_folds(SUBJECTS).table
    for fold in range(5):
        train, test = train_test(table, fold)
        assert set(train).isdisjoint(test)
        assert sorted(train + test) == SUBJECTS
        assert test == table.loc[table.test_fold == fold, "subject_id"].tolist()
        assert train == [s for s in SUBJECTS if s not in set(test)]


def test_train_test_rejects_an_unknown_fold():
    with pytest.raises(ConfigError, match=r"fold 5 is not in the fold table \(folds: \[0, 1, 2, 3, 4\]\)"):
        train_test(assign_folds(SUBJECTS).table, 5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_splits": 1}, "at least 2"),  # one fold has no training data
        ({"labels": LABELS[:10]}, "labels has 10 values for 200 subjects"),
        ({"labels": [0] * 198 + [1, 1]}, r"label classes \{'1': 2\} have fewer subjects than n_splits=5"),
        ({"labels": [0] * 200}, "single class"),
        ({"groups": ["a", "b", "c"] * 66 + ["a", "b"]}, "3 distinct values, fewer than n_splits=5"),
        ({"labels": [None] + LABELS[1:]}, "labels is missing for 1 subjects"),
    ],
)
def test_bad_fold_settings_are_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        assign_folds(SUBJECTS, **kwargs)


def test_duplicate_subjects_are_rejected():
    with pytest.raises(ConfigError, match="repeat"):
        assign_folds(["a", "b", "a", "c", "d", "e"])


def test_fold_numbers_cover_every_subject():
    folds = assign_folds(SUBJECTS[:23], n_splits=4)
    assert set(folds.table["test_fold"]) == {0, 1, 2, 3}
    assert np.isin(folds.table["test_fold"], range(4)).all()
