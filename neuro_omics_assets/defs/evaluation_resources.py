"""The evaluation's inputs as a Dagster resource: brain features and phenotypes per subject."""

from __future__ import annotations

from typing import Literal

import dagster as dg
from pydantic import Field

from ..errors import ConfigError
from ..evaluation.features import PHENOTYPE_KINDS, FeatureSpec
from .resources import ConfinedPaths


class EvaluationInputsResource(ConfinedPaths, dg.ConfigurableResource):
    """Brain features (and optional phenotypes) per subject that the gene embeddings are evaluated against."""

    brain_features: str = Field(description="Brain features per subject (brain-FM dimensions or IDPs): CSV, TSV or Parquet.")
    phenotypes: str | None = Field(default=None, description="Optional phenotypes per subject to predict: CSV, TSV or Parquet.")
    phenotype_columns: list[str] = Field(
        default=[], description="Phenotypes to predict as name:kind, kind continuous or binary (e.g. cognition:continuous)."
    )
    subject_column: str = Field(default="subject_id", description="Column of both tables naming the subject.")
    missing: Literal["error", "drop"] = Field(
        default="error", description="Subjects with missing values or no row: error, or drop them (reported)."
    )

    def feature_spec(self) -> FeatureSpec:
        return FeatureSpec(subject_column=self.subject_column, missing=self.missing)

    def phenotype_spec(self) -> FeatureSpec:
        """The declared phenotype columns and kinds; ConfigError for a malformed declaration."""
        kinds = {}
        for entry in self.phenotype_columns:
            name, _, kind = entry.rpartition(":")
            if not name or kind not in PHENOTYPE_KINDS:
                raise ConfigError(f"phenotype column {entry!r} is not name:kind with kind in {PHENOTYPE_KINDS}; "
                                  f"write e.g. cognition:continuous (NEURO_OMICS_PHENOTYPE_COLUMNS).")
            kinds[name] = kind
        if self.phenotypes and not kinds:
            raise ConfigError(f"phenotypes file {self.phenotypes} is set but no column is declared; set "
                              f"NEURO_OMICS_PHENOTYPE_COLUMNS (e.g. cognition:continuous,diagnosis:binary).")
        return FeatureSpec(subject_column=self.subject_column, columns=tuple(kinds), kinds=kinds, missing=self.missing)
