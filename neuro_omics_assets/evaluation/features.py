"""Brain features and phenotypes per subject: read, validate, reconcile with the cohort's subjects.

Follows ``cohort.covariates``: CSV (``.csv``), TSV (``.tsv``/``.txt``, optionally ``.gz``) or Parquet
(``.parquet``/``.pq``), one row per subject; every problem is a one-line ``BrainFeatureError`` naming
the file, the column and the subjects, and saying how to fix it.

* Brain features: every column except the subject column and ``exclude`` must be numeric and vary
  (brain-FM embedding dimensions or imaging-derived phenotypes).
* Phenotypes: the columns to predict, each declared ``continuous`` or ``binary`` (exactly two values;
  coded 0/1 in sorted order of the values, the second value being the positive class).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from neuro_omics_assets.cohort.covariates import read_subject_table, show_items
from neuro_omics_assets.errors import BrainFeatureError, ConfigError

log = logging.getLogger(__name__)

PhenotypeKind = Literal["continuous", "binary"]
PHENOTYPE_KINDS: tuple[str, ...] = ("continuous", "binary")
_SHOWN = 10


@dataclass(frozen=True)
class FeatureSpec:
    """How to read a per-subject table of brain features or phenotypes.

    ``columns``: the value columns (empty = every column but the subject column and ``exclude``).
    ``kinds``: phenotypes only, column -> continuous | binary. ``missing="drop"`` drops subjects with a
    missing value (and reports them) instead of raising.
    """

    subject_column: str = "subject_id"
    columns: tuple[str, ...] = ()
    # the demo tables mark themselves with a `synthetic` column, which is a label, not a feature
    exclude: tuple[str, ...] = ("synthetic",)
    kinds: Mapping[str, PhenotypeKind] = field(default_factory=dict)
    missing: Literal["error", "drop"] = "error"

    def __post_init__(self) -> None:
        if self.missing not in ("error", "drop"):
            raise ConfigError(f"FeatureSpec.missing is {self.missing!r}; use 'error' or 'drop'.")
        bad = {c: k for c, k in self.kinds.items() if k not in PHENOTYPE_KINDS}
        if bad:
            raise ConfigError(f"phenotype kinds {bad} are not among {PHENOTYPE_KINDS}; declare each column's kind.")


@dataclass(frozen=True, eq=False)
class SubjectTable:
    """A validated table: index ``subject_id`` (str, unique), float64 columns without NaN.

    ``dropped``: subjects removed for missing values under ``missing="drop"``; ``kinds``: per column,
    ``continuous``/``binary`` (brain features are all continuous); ``levels``: a binary column's two
    original values (coded 0 and 1).
    """

    table: pd.DataFrame
    source: str
    kinds: dict[str, str]
    dropped: tuple[str, ...] = ()
    levels: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def subject_ids(self) -> tuple[str, ...]:
        return tuple(self.table.index)


@dataclass(frozen=True)
class Reconciliation:
    """How a table matched the cohort's subjects (tuples in cohort/file order)."""

    n_cohort: int
    n_aligned: int
    missing: tuple[str, ...] = ()  # cohort subjects without a row
    not_in_cohort: tuple[str, ...] = ()  # rows of subjects outside the cohort
    dropped_missing_values: tuple[str, ...] = ()


def read_brain_features(path: str | Path, spec: FeatureSpec | None = None) -> SubjectTable:
    """Read and validate a brain-feature table (all value columns numeric, non-constant)."""
    spec = spec if spec is not None else FeatureSpec()
    frame, where, dropped = _read_values(Path(path), spec, "brain features")
    numeric = pd.DataFrame({c: _numeric(frame[c], c, where) for c in frame.columns}, index=frame.index)
    for column in numeric.columns:
        _require_variation(numeric[column], where)
    return SubjectTable(numeric, where, dict.fromkeys(numeric.columns, "continuous"), dropped)


def read_phenotypes(path: str | Path, spec: FeatureSpec) -> SubjectTable:
    """Read and validate the phenotype columns declared in ``spec.kinds`` (continuous or binary)."""
    if not spec.kinds:
        raise ConfigError("no phenotype columns declared; name each column and its kind (continuous or binary).")
    spec = FeatureSpec(spec.subject_column, tuple(spec.kinds), spec.exclude, spec.kinds, spec.missing)
    frame, where, dropped = _read_values(Path(path), spec, "phenotypes")
    values, levels = {}, {}
    for column, kind in spec.kinds.items():
        if kind == "continuous":
            values[column] = _numeric(frame[column], column, where)
            _require_variation(values[column], where)
        else:
            values[column], levels[column] = _binary(frame[column], column, where)
    return SubjectTable(pd.DataFrame(values, index=frame.index), where, dict(spec.kinds), dropped, levels)


def reconcile(table: SubjectTable, subject_ids: Sequence[str], missing: Literal["error", "drop"] = "error",
              ) -> tuple[SubjectTable, Reconciliation]:
    """Reorder ``table`` to the cohort's ``subject_ids``; cohort subjects without a row raise unless ``drop``."""
    ids = [str(s) for s in subject_ids]
    present, wanted = set(table.table.index), set(ids)
    absent = tuple(s for s in ids if s not in present)
    extra = tuple(s for s in table.table.index if s not in wanted)
    if absent and missing == "error":
        raise BrainFeatureError(
            f"{len(absent)} cohort subjects have no row in {table.source}: {show_items(absent)}; add their rows, "
            f"or set the missing policy to 'drop' to leave them out of the evaluation."
        )
    kept = [s for s in ids if s in present]
    if not kept:
        raise BrainFeatureError(
            f"none of the {len(ids)} cohort subjects is in {table.source} (first ids there: "
            f"{show_items(list(table.table.index))}); check the subject id column and the sample names."
        )
    aligned = SubjectTable(table.table.loc[kept], table.source, table.kinds, table.dropped, table.levels)
    log.info("%s: %d subjects aligned, %d cohort subjects without a row, %d rows outside the cohort",
             table.source, len(kept), len(absent), len(extra))
    return aligned, Reconciliation(len(ids), len(kept), absent, extra, table.dropped)


def _read_values(path: Path, spec: FeatureSpec, what: str) -> tuple[pd.DataFrame, str, tuple[str, ...]]:
    """(value columns indexed by subject id, as read; the source; subjects dropped for missing values)."""
    raw, where = read_subject_table(path, what), str(path)
    if spec.subject_column not in raw.columns:
        raise BrainFeatureError(
            f"{where} has no subject column {spec.subject_column!r} (columns: {list(raw.columns)[:_SHOWN]}); "
            f"rename it or configure the subject column."
        )
    columns = list(spec.columns) or [c for c in raw.columns if c != spec.subject_column and c not in spec.exclude]
    absent = [c for c in columns if c not in raw.columns]
    if absent or not columns:
        raise BrainFeatureError(f"{where} lacks {what} columns {absent or '(none left)'} (columns: "
                                f"{list(raw.columns)[:_SHOWN]}); add them or configure the columns to use.")
    ids = raw[spec.subject_column].astype(str).str.strip()
    if raw[spec.subject_column].isna().any() or ids.duplicated().any():
        repeated = ids[ids.duplicated()].unique().tolist()
        raise BrainFeatureError(f"{where}: subject ids are empty or repeated ({show_items(repeated)}); "
                                f"keep exactly one row per subject.")
    frame = raw[columns].set_axis(pd.Index(ids, name="subject_id"), axis=0)
    blank = frame.isna() | frame.map(lambda v: isinstance(v, str) and not v.strip())
    rows = blank.any(axis=1)
    if not rows.any():
        return frame, where, ()
    dropped = tuple(frame.index[rows])
    if spec.missing == "error":
        raise BrainFeatureError(
            f"{where}: {len(dropped)} subjects have missing values in {[c for c in columns if blank[c].any()][:_SHOWN]}: "
            f"{show_items(dropped)}; fill them in, or set the missing policy to 'drop' to leave these subjects out."
        )
    log.info("dropped %d subjects with missing %s from %s", len(dropped), what, where)
    return frame.loc[~rows], where, dropped


def _numeric(values: pd.Series, column: str, where: str) -> pd.Series:
    numbers = pd.to_numeric(values.astype(str).str.strip(), errors="coerce").astype(np.float64)
    bad = ~np.isfinite(numbers.to_numpy())
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise BrainFeatureError(
            f"{where}: column {column!r} must be numeric, but subject {values.index[first]!r} has "
            f"{values.iloc[first]!r} ({int(bad.sum())} such values); fix the values or exclude the column."
        )
    return numbers


def _binary(values: pd.Series, column: str, where: str) -> tuple[pd.Series, tuple[str, str]]:
    text = values.astype(str).str.strip()
    levels = sorted(text.unique())
    if len(levels) != 2:
        raise BrainFeatureError(
            f"{where}: binary phenotype {column!r} has {len(levels)} distinct values ({show_items(levels)}); "
            f"a binary column needs exactly two, or declare it continuous."
        )
    return (text == levels[1]).astype(np.float64), (levels[0], levels[1])


def _require_variation(values: pd.Series, where: str) -> None:
    if values.nunique() < 2:
        raise BrainFeatureError(
            f"{where}: column {values.name!r} has the single value {values.iloc[0]!r} for all {len(values)} "
            f"subjects; a constant carries no information: remove or exclude it."
        )
