from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuro_omics_assets.cohort.covariates import (
    RECIPE_COLUMNS,
    CovariateSpec,
    align,
    design_column_names,
    design_matrix,
    read_covariates,
)
from neuro_omics_assets.errors import ConfigError, CovariateError, InputFileError


def recipe_table(n: int = 12, seed: int = 0) -> pd.DataFrame:
    """A covariates table with the recipe's columns for subjects S01..Sn (values seeded)."""
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(
        {
            "subject_id": [f"S{i:02d}" for i in range(1, n + 1)],
            "age": rng.integers(20, 80, size=n).astype(float),
            "sex": ["F", "M"] * (n // 2),
            **{f"PC{i}": rng.normal(size=n).round(4) for i in range(1, 11)},
            "batch": (["b1", "b2", "b3"] * n)[:n],
        }
    )
    return table


def write(table: pd.DataFrame, path):
    if path.suffix == ".parquet":
        table.to_parquet(path)
    else:
        table.to_csv(path, sep="," if path.suffix == ".csv" else "\t", index=False)
    return path


# one table, three file formats: the reader picks the parser by extension
@pytest.mark.parametrize("name", ["cov.csv", "cov.tsv", "cov.parquet"])
def test_reads_every_format_to_the_same_values(tmp_path, name):
    table = recipe_table()
    covariates = read_covariates(write(table, tmp_path / name))
    assert covariates.subject_ids == tuple(table.subject_id)
    assert list(covariates.table.columns) == list(RECIPE_COLUMNS)
    np.testing.assert_array_equal(covariates.table["age"].to_numpy(), table["age"].to_numpy())
    np.testing.assert_array_equal(covariates.table["PC7"].to_numpy(), table["PC7"].to_numpy())
    assert covariates.table["age"].dtype == np.float64
    assert covariates.table["sex"].tolist() == table["sex"].tolist()
    assert covariates.dropped == ()


def test_missing_file_is_an_input_file_error(tmp_path):
    with pytest.raises(InputFileError, match="nope.tsv does not exist"):
        read_covariates(tmp_path / "nope.tsv")


def test_unsupported_extension_names_the_accepted_ones(tmp_path):
    path = tmp_path / "cov.xlsx"
    path.write_text("x")
    with pytest.raises(InputFileError, match=r"'\.xlsx'.*use \.csv, \.tsv"):
        read_covariates(path)


def test_missing_subject_column_lists_the_available_columns(tmp_path):
    path = write(recipe_table().rename(columns={"subject_id": "IID"}), tmp_path / "c.tsv")
    with pytest.raises(CovariateError, match=r"no subject column 'subject_id' \(columns: \['IID', 'age'"):
        read_covariates(path)


def test_missing_covariate_columns_are_listed_with_the_available_ones(tmp_path):
    path = write(recipe_table().drop(columns=["PC9", "PC10"]), tmp_path / "c.tsv")
    with pytest.raises(CovariateError) as error:
        read_covariates(path)
    message = str(error.value)
    assert "lacks covariate columns ['PC9', 'PC10']" in message
    assert "'PC8', 'batch']" in message


def test_duplicated_subject_ids_are_named(tmp_path):
    table = recipe_table()
    table.loc[3, "subject_id"] = "S01"
    with pytest.raises(CovariateError, match="subject ids appear more than once: S01"):
        read_covariates(write(table, tmp_path / "c.tsv"))


def test_non_numeric_value_names_column_subject_and_value(tmp_path):
    table = recipe_table().astype({"age": object})
    table.loc[2, "age"] = "forty"
    with pytest.raises(CovariateError, match=r"column 'age' must be numeric, but subject 'S03' has 'forty'"):
        read_covariates(write(table, tmp_path / "c.csv"))


def test_constant_column_cannot_be_residualized(tmp_path):
    table = recipe_table()
    table["batch"] = "b1"
    with pytest.raises(CovariateError, match=r"'batch' has the single value 'b1' for all 12 .*remove it"):
        read_covariates(write(table, tmp_path / "c.tsv"))


def test_missing_values_raise_with_the_subjects_listed(tmp_path):
    table = recipe_table()
    table.loc[[1, 4], "PC3"] = np.nan
    with pytest.raises(CovariateError, match=r"2 subjects have missing values in \['PC3'\]: S02, S05"):
        read_covariates(write(table, tmp_path / "c.tsv"))


def test_missing_values_with_drop_policy_report_the_dropped_subjects(tmp_path):
    table = recipe_table()
    table.loc[[1, 4], "PC3"] = np.nan
    covariates = read_covariates(write(table, tmp_path / "c.tsv"), CovariateSpec(missing="drop"))
    assert covariates.dropped == ("S02", "S05")
    assert len(covariates.table) == 10
    assert "S02" not in covariates.table.index
    assert covariates.table.loc["S03", "PC3"] == table.loc[2, "PC3"]


def test_spec_rejects_unknown_missing_policy():
    with pytest.raises(ConfigError, match="use 'error' or 'drop'"):
        CovariateSpec(missing="impute")


def test_align_reorders_to_genotype_order_and_reports_extra_rows(tmp_path):
    covariates = read_covariates(write(recipe_table(), tmp_path / "c.tsv"))
    aligned, report = align(covariates, ["S05", "S01", "S03"])
    assert aligned.subject_ids == ("S05", "S01", "S03")
    assert aligned.table.loc["S05", "age"] == covariates.table.loc["S05", "age"]
    assert report.n_genotyped == 3 and report.n_aligned == 3
    assert report.missing_covariates == ()
    assert report.not_genotyped == ("S02", "S04", "S06", "S07", "S08", "S09", "S10", "S11", "S12")


def test_align_raises_for_genotyped_subjects_without_covariates(tmp_path):
    covariates = read_covariates(write(recipe_table(), tmp_path / "c.tsv"))
    with pytest.raises(CovariateError, match=r"2 genotyped subjects have no covariates .*: X1, X2; add"):
        align(covariates, ["S01", "X1", "S02", "X2"])


def test_align_with_drop_policy_leaves_them_out_and_reports_them(tmp_path):
    table = recipe_table()
    table.loc[0, "age"] = np.nan
    covariates = read_covariates(write(table, tmp_path / "c.tsv"), CovariateSpec(missing="drop"))
    aligned, report = align(covariates, ["S01", "X1", "S02", "S03"])
    assert aligned.subject_ids == ("S02", "S03")
    assert report.missing_covariates == ("S01", "X1")
    assert report.dropped_missing_values == ("S01",)
    assert report.n_aligned == 2


def test_design_matrix_has_intercept_numeric_columns_and_drop_first_dummies(tmp_path):
    table = recipe_table(n=6)
    spec = CovariateSpec(columns=("age", "sex", "batch"))
    covariates = read_covariates(write(table, tmp_path / "c.tsv"), spec)
    design = design_matrix(covariates)
    assert design_column_names(covariates) == ("intercept", "age", "sex=M", "batch=b2", "batch=b3")
    assert design.dtype == np.float64 and design.shape == (6, 5)
    # S01: F, b1 (both baselines); S02: M, b2; S03: F, b3
    np.testing.assert_array_equal(design[0], [1.0, table.age[0], 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(design[1], [1.0, table.age[1], 1.0, 1.0, 0.0])
    np.testing.assert_array_equal(design[2], [1.0, table.age[2], 0.0, 0.0, 1.0])


def test_design_with_more_columns_than_subjects_is_rejected(tmp_path):
    # 8 subjects, intercept + age + sex + 10 PCs + 2 batch dummies = 15 columns
    covariates = read_covariates(write(recipe_table(n=8), tmp_path / "c.tsv"))
    with pytest.raises(CovariateError, match="has 15 columns .* but only 8 subjects"):
        design_matrix(covariates)


def test_design_rejects_a_column_that_became_constant_after_alignment(tmp_path):
    covariates = read_covariates(
        write(recipe_table(), tmp_path / "c.tsv"), CovariateSpec(columns=("age", "sex"))
    )
    aligned, _ = align(covariates, ["S01", "S03", "S05", "S07"])  # all F
    with pytest.raises(CovariateError, match="'sex' has the single value 'F'"):
        design_matrix(aligned)
