"""Subject covariates: read and validate a table, align it to the genotyped subjects, build the OLS design.

The recipe residualizes on age, sex, ancestry PCs 1-10 and sequencing batch. A covariates file is
CSV (``.csv``), TSV (``.tsv``/``.txt``, optionally ``.gz``) or Parquet (``.parquet``/``.pq``) with
one row per subject. Every problem is a one-line ``CovariateError`` naming the file, the column and
the subjects involved, and saying how to fix it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from neuro_omics_assets.errors import ConfigError, CovariateError, InputFileError

log = logging.getLogger(__name__)

#: The recipe's covariates: age, sex, ancestry PCs 1-10, sequencing batch.
RECIPE_COLUMNS: tuple[str, ...] = ("age", "sex", *(f"PC{i}" for i in range(1, 11)), "batch")

_SHOWN = 10  # subjects/values quoted in one error message; the rest are counted
_SEPARATORS = {".csv": ",", ".tsv": "\t", ".txt": "\t"}
_PARQUET = (".parquet", ".pq")

MissingPolicy = Literal["error", "drop"]


@dataclass(frozen=True)
class CovariateSpec:
    """Which columns of a covariates table to use and how to treat them.

    ``categorical`` names the columns (among ``columns``) that are one-hot encoded; names not in
    ``columns`` are not used. ``missing="drop"`` drops subjects with a missing value in any of
    ``columns`` (and reports them) instead of raising.
    """

    subject_column: str = "subject_id"
    columns: tuple[str, ...] = RECIPE_COLUMNS
    # sex and batch are labels, not quantities: they enter the design as drop-first dummies.
    categorical: tuple[str, ...] = ("sex", "batch")
    missing: MissingPolicy = "error"

    def __post_init__(self) -> None:
        if self.missing not in ("error", "drop"):
            raise ConfigError(f"CovariateSpec.missing is {self.missing!r}; use 'error' or 'drop'.")
        if not self.columns:
            raise ConfigError("CovariateSpec.columns is empty; name at least one covariate column.")
        if len(set(self.columns)) != len(self.columns):
            raise ConfigError(f"CovariateSpec.columns lists a column twice: {list(self.columns)}.")
        if self.subject_column in self.columns:
            raise ConfigError(
                f"CovariateSpec.columns contains the subject column {self.subject_column!r}; remove it."
            )

    def is_categorical(self, column: str) -> bool:
        return column in self.categorical


@dataclass(frozen=True, eq=False)
class Covariates:
    """A validated covariates table.

    ``table``: index ``subject_id`` (str, unique), one column per ``spec.columns``; numeric columns
    float64 without NaN/inf, categorical columns str. ``dropped``: subjects removed for missing
    values under ``missing="drop"``, in file order.
    """

    table: pd.DataFrame
    spec: CovariateSpec
    source: str
    dropped: tuple[str, ...] = ()

    @property
    def subject_ids(self) -> tuple[str, ...]:
        return tuple(self.table.index)


@dataclass(frozen=True)
class AlignmentReport:
    """How the covariates matched the genotyped subjects (every tuple in genotype/file order)."""

    n_genotyped: int
    n_aligned: int
    missing_covariates: tuple[str, ...] = ()  # genotyped, no covariates row
    not_genotyped: tuple[str, ...] = ()  # covariates row, not genotyped
    dropped_missing_values: tuple[str, ...] = ()  # dropped when the file was read


def read_covariates(path: str | Path, spec: CovariateSpec | None = None) -> Covariates:
    """Read and validate the covariates table at ``path`` (format chosen by extension)."""
    spec = spec if spec is not None else CovariateSpec()
    path = Path(path)
    raw = read_subject_table(path, "covariates")
    where = str(path)
    _require_columns(raw, spec, where)
    subjects = _subject_ids(raw[spec.subject_column], spec.subject_column, where)
    frame = raw[list(spec.columns)].set_axis(pd.Index(subjects, name="subject_id"), axis=0)
    frame, dropped = _handle_missing(frame, spec, where)
    frame = _coerce_numeric(frame, spec, where)
    _require_variation(frame, where)
    if dropped:
        log.info("dropped %d subjects with missing covariates from %s", len(dropped), where)
    return Covariates(table=frame, spec=spec, source=where, dropped=dropped)


def align(covariates: Covariates, subject_ids: Sequence[str]) -> tuple[Covariates, AlignmentReport]:
    """Reorder ``covariates`` to ``subject_ids`` (the genotyped subjects, in genotype order).

    Genotyped subjects without covariates raise ``CovariateError`` unless ``spec.missing == "drop"``;
    then they are left out of the aligned table and listed in the report.
    """
    ids = [str(s) for s in subject_ids]
    duplicated = pd.Index(ids)[pd.Index(ids).duplicated()].unique().tolist()
    if duplicated:
        raise CovariateError(
            f"the genotyped subject ids repeat {show_items(duplicated)}; each subject must appear once."
        )
    present, wanted = set(covariates.table.index), set(ids)
    missing = tuple(s for s in ids if s not in present)
    extra = tuple(s for s in covariates.table.index if s not in wanted)
    if missing and covariates.spec.missing == "error":
        raise CovariateError(
            f"{len(missing)} genotyped subjects have no covariates in {covariates.source}: {show_items(missing)}; "
            f"add their rows, or set CovariateSpec(missing='drop') to leave them out."
        )
    kept = [s for s in ids if s in present]
    if not kept:
        raise CovariateError(
            f"none of the {len(ids)} genotyped subjects is in {covariates.source} (first ids there: "
            f"{show_items(list(covariates.table.index))}); check the subject id column and the sample names."
        )
    aligned = Covariates(covariates.table.loc[kept], covariates.spec, covariates.source, covariates.dropped)
    report = AlignmentReport(len(ids), len(kept), missing, extra, covariates.dropped)
    log.info(
        "covariates aligned: %d subjects, %d genotyped without covariates, %d rows not genotyped",
        len(kept),
        len(missing),
        len(extra),
    )
    return aligned, report


def design_matrix(covariates: Covariates, columns: tuple[str, ...] | None = None) -> np.ndarray:
    """The OLS design, float64 (n_subjects, p): intercept, numeric columns, drop-first dummies.

    Columns are ordered as ``design_column_names`` returns them; rows follow ``covariates.table``.
    Raises ``CovariateError`` for a column that is constant on these subjects or when p >= n.
    """
    return _design_frame(covariates, columns).to_numpy(dtype=np.float64)


def design_column_names(covariates: Covariates, columns: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """Names of the ``design_matrix`` columns: ``intercept``, numeric names, ``<column>=<level>`` dummies."""
    return tuple(_design_frame(covariates, columns).columns)


def _design_frame(covariates: Covariates, columns: tuple[str, ...] | None) -> pd.DataFrame:
    columns = tuple(columns) if columns is not None else covariates.spec.columns
    unknown = [c for c in columns if c not in covariates.table.columns]
    if unknown:
        raise CovariateError(
            f"design columns {unknown} are not among the covariates read from {covariates.source} "
            f"({list(covariates.table.columns)}); add them to CovariateSpec.columns."
        )
    table = covariates.table[list(columns)]
    _require_variation(table, covariates.source)
    parts = [pd.Series(1.0, index=table.index, name="intercept")]
    for column in columns:
        if covariates.spec.is_categorical(column):
            levels = sorted(table[column].unique())
            # drop-first: the first level (sorted) is the baseline absorbed by the intercept
            parts += [
                (table[column] == lvl).astype(np.float64).rename(f"{column}={lvl}") for lvl in levels[1:]
            ]
        else:
            parts.append(table[column].astype(np.float64))
    design = pd.concat(parts, axis=1)
    n, p = design.shape
    if p >= n:
        raise CovariateError(
            f"the covariate design has {p} columns ({', '.join(design.columns)}) but only {n} subjects; "
            f"OLS needs more subjects than columns: use fewer covariates (or fewer batch levels) "
            f"or more subjects."
        )
    return design


def read_subject_table(path: Path, what: str) -> pd.DataFrame:
    """A per-subject table (CSV, TSV/.txt or Parquet, optionally gzipped text) as read: text columns as
    strings, so values are parsed per column and a bad one can be named; missing values None/NaN.
    ``what`` names the table in errors (``covariates``, ``brain features``)."""
    if not path.is_file():
        raise InputFileError(f"{what} file {path} does not exist; check the path (CSV, TSV or Parquet).")
    suffixes = [s.lower() for s in path.suffixes]
    suffix = (
        suffixes[-2] if len(suffixes) > 1 and suffixes[-1] == ".gz" else (suffixes[-1] if suffixes else "")
    )
    if suffix in _PARQUET:
        table = pd.read_parquet(path)
        return table.astype(object).where(table.notna(), None)
    if suffix in _SEPARATORS:
        # read as text: numeric parsing happens per column so a bad value can be named
        return pd.read_csv(path, sep=_SEPARATORS[suffix], dtype=str, keep_default_na=True)
    raise InputFileError(
        f"{what} file {path} has an unsupported extension {suffix or '(none)'!r}; "
        f"use .csv, .tsv, .txt (tab-separated) or .parquet."
    )


def _require_columns(raw: pd.DataFrame, spec: CovariateSpec, where: str) -> None:
    available = [str(c) for c in raw.columns]
    if spec.subject_column not in raw.columns:
        raise CovariateError(
            f"{where} has no subject column {spec.subject_column!r} (columns: {available}); "
            f"rename it or set CovariateSpec(subject_column=...)."
        )
    absent = [c for c in spec.columns if c not in raw.columns]
    if absent:
        raise CovariateError(
            f"{where} lacks covariate columns {absent} (columns: {available}); "
            f"add them or remove them from CovariateSpec.columns."
        )


def _subject_ids(column: pd.Series, name: str, where: str) -> list[str]:
    if column.isna().any():
        rows = [int(i) + 2 for i in np.flatnonzero(column.isna().to_numpy())]  # +2: header, 1-based lines
        raise CovariateError(
            f"{where}: column {name!r} is empty on data lines {show_items(rows)}; every row needs a subject id."
        )
    ids = [str(s).strip() for s in column]
    index = pd.Index(ids)
    duplicated = index[index.duplicated()].unique().tolist()
    if duplicated:
        raise CovariateError(
            f"{where}: subject ids appear more than once: {show_items(duplicated)}; keep one row per subject."
        )
    return ids


def _handle_missing(
    frame: pd.DataFrame, spec: CovariateSpec, where: str
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    text = frame.astype(object).where(frame.notna(), None)
    blank = text.map(lambda v: v is None or (isinstance(v, str) and not v.strip()))
    rows = blank.any(axis=1)
    if not rows.any():
        return frame, ()
    subjects = tuple(frame.index[rows])
    if spec.missing == "error":
        columns = [c for c in frame.columns if blank[c].any()]
        raise CovariateError(
            f"{where}: {len(subjects)} subjects have missing values in {columns}: {show_items(subjects)}; "
            f"fill them in, or set CovariateSpec(missing='drop') to leave these subjects out."
        )
    kept = frame.loc[~rows]
    if kept.empty:
        raise CovariateError(
            f"{where}: every subject has a missing covariate; nothing is left after dropping them."
        )
    return kept, subjects


def _coerce_numeric(frame: pd.DataFrame, spec: CovariateSpec, where: str) -> pd.DataFrame:
    out = {}
    for column in frame.columns:
        values = frame[column]
        if spec.is_categorical(column):
            out[column] = values.astype(str).str.strip()
            continue
        numbers = pd.to_numeric(values.astype(str).str.strip(), errors="coerce").astype(np.float64)
        bad = ~np.isfinite(numbers.to_numpy())
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise CovariateError(
                f"{where}: column {column!r} must be numeric, but subject {frame.index[first]!r} has "
                f"{values.iloc[first]!r} ({int(bad.sum())} such values); fix the value, or list the "
                f"column in CovariateSpec.categorical if it is a label."
            )
        out[column] = numbers
    return pd.DataFrame(out, index=frame.index)


def _require_variation(frame: pd.DataFrame, where: str) -> None:
    for column in frame.columns:
        levels = frame[column].unique()
        if len(levels) < 2:
            raise CovariateError(
                f"{where}: covariate {column!r} has the single value {levels[0]!r} for all {len(frame)} "
                f"subjects; a constant cannot be residualized (it duplicates the intercept): "
                f"remove it from CovariateSpec.columns."
            )


def show_items(items: Sequence) -> str:
    """The first ``_SHOWN`` items, comma-separated, and how many more: for one-line error messages."""
    shown = ", ".join(str(i) for i in list(items)[:_SHOWN])
    more = len(items) - _SHOWN
    return f"{shown} (and {more} more)" if more > 0 else shown
