from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neuro_omics_assets.errors import BrainFeatureError, ConfigError, InputFileError
from neuro_omics_assets.evaluation.features import (
    FeatureSpec,
    read_brain_features,
    read_phenotypes,
    reconcile,
)


def write(tmp_path: Path, frame: pd.DataFrame, name: str = "brain.tsv") -> Path:
    path = tmp_path / name
    if name.endswith(".parquet"):
        frame.to_parquet(path)
    else:
        frame.to_csv(path, sep="\t" if name.endswith(".tsv") else ",", index=False)
    return path


def brain_frame(n: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"subject_id": [f"S{i}" for i in range(n)], "bfm_0": rng.normal(size=n),
                         "bfm_1": rng.normal(size=n), "synthetic": "true"})


@pytest.mark.parametrize("name", ["brain.tsv", "brain.csv", "brain.parquet"])
def test_reads_every_format_and_skips_the_synthetic_marker(tmp_path, name):
    frame = brain_frame()
    table = read_brain_features(write(tmp_path, frame, name))
    assert list(table.table.columns) == ["bfm_0", "bfm_1"]
    np.testing.assert_allclose(table.table["bfm_1"].to_numpy(), frame["bfm_1"].to_numpy(), rtol=1e-12)
    assert table.subject_ids == tuple(frame["subject_id"])


def one_line_error(error_type, match, call):
    with pytest.raises(error_type, match=match) as error:
        call()
    assert "\n" not in str(error.value)


def test_non_numeric_column_names_column_and_subject(tmp_path):
    frame = brain_frame().astype({"bfm_1": object})
    frame.loc[3, "bfm_1"] = "n/a?"
    one_line_error(BrainFeatureError, "column 'bfm_1' must be numeric, but subject 'S3'",
                   lambda: read_brain_features(write(tmp_path, frame)))


def test_constant_column_is_refused(tmp_path):
    frame = brain_frame().assign(bfm_1=2.5)
    one_line_error(BrainFeatureError, "'bfm_1' has the single value", lambda: read_brain_features(write(tmp_path, frame)))


def test_missing_values_error_unless_drop(tmp_path):
    frame = brain_frame()
    frame.loc[2, "bfm_0"] = np.nan
    path = write(tmp_path, frame)
    one_line_error(BrainFeatureError, "1 subjects have missing values in \\['bfm_0'\\]: S2", lambda: read_brain_features(path))
    table = read_brain_features(path, FeatureSpec(missing="drop"))
    assert table.dropped == ("S2",) and "S2" not in table.subject_ids


def test_subjects_missing_from_the_cohort_are_reported_or_refused(tmp_path):
    table = read_brain_features(write(tmp_path, brain_frame()))
    cohort = ["S5", "S1", "S9", "S0"]
    one_line_error(BrainFeatureError, "1 cohort subjects have no row in .*: S9", lambda: reconcile(table, cohort))
    aligned, report = reconcile(table, cohort, missing="drop")
    assert aligned.subject_ids == ("S5", "S1", "S0")  # cohort order
    assert report.missing == ("S9",) and report.not_in_cohort == ("S2", "S3", "S4")


def test_phenotypes_binary_and_continuous(tmp_path):
    frame = pd.DataFrame({"subject_id": ["a", "b", "c", "d"], "dx": ["case", "control", "case", "case"],
                          "score": ["1.5", "2", "-1", "0"]})
    table = read_phenotypes(write(tmp_path, frame), FeatureSpec(kinds={"dx": "binary", "score": "continuous"}))
    assert table.table["dx"].tolist() == [0.0, 1.0, 0.0, 0.0] and table.levels["dx"] == ("case", "control")
    assert table.table["score"].tolist() == [1.5, 2.0, -1.0, 0.0]
    three = frame.assign(dx=["a", "b", "c", "a"])
    one_line_error(BrainFeatureError, "has 3 distinct values", lambda: read_phenotypes(
        write(tmp_path, three), FeatureSpec(kinds={"dx": "binary"})))
    one_line_error(ConfigError, "not among", lambda: FeatureSpec(kinds={"dx": "ordinal"}))


def test_missing_file_and_bad_extension(tmp_path):
    one_line_error(InputFileError, "does not exist", lambda: read_brain_features(tmp_path / "absent.tsv"))
    (tmp_path / "brain.xlsx").write_text("x")
    one_line_error(InputFileError, "unsupported extension", lambda: read_brain_features(tmp_path / "brain.xlsx"))
