"""Typed errors. Every message says what was wrong, where (file, line, gene) and how to fix it.

The CLI turns any ``NeuroOmicsError`` into one line on stderr and exit code 2.
"""

from __future__ import annotations


class NeuroOmicsError(Exception):
    """Base class of every error this package raises on purpose."""


class InputFileError(NeuroOmicsError, FileNotFoundError):
    """An input file is missing, unreadable, truncated or lacks its index."""


class FastaError(NeuroOmicsError, ValueError):
    """A FASTA file or its .fai/.gzi index is malformed or inconsistent."""


class ContigNotFoundError(NeuroOmicsError, KeyError):
    """A contig name is absent from the FASTA, even after alias mapping."""

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0]) if self.args else ""


class AnnotationError(NeuroOmicsError, ValueError):
    """A GTF/BED annotation line is malformed (the message names file and line)."""


class GeneNotFoundError(NeuroOmicsError, KeyError):
    """A requested gene symbol or id is not in the annotation."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class SequenceError(NeuroOmicsError, ValueError):
    """A DNA sequence is empty or holds characters outside the IUPAC alphabet."""


class ModelLoadError(NeuroOmicsError, ValueError):
    """A model directory is incomplete, or its weights do not fit its config."""


class TokenizerError(NeuroOmicsError, ValueError):
    """A tokenizer file is missing or does not match the model."""


class DeviceError(NeuroOmicsError, RuntimeError):
    """A requested device or dtype is not available here."""


class VariantError(NeuroOmicsError, ValueError):
    """A VCF/BCF record or genotype cannot be applied."""


class RefMismatchError(VariantError):
    """VCF REF alleles disagree with the reference FASTA."""


class CovariateError(NeuroOmicsError, ValueError):
    """A covariates table is missing subjects or columns, or holds unusable values."""


class ConfigError(NeuroOmicsError, ValueError):
    """A setting is out of range or inconsistent with the data."""


class WarehouseError(NeuroOmicsError, RuntimeError):
    """The Parquet store or the DuckDB catalog cannot be read or written."""


class MixedIdentityError(NeuroOmicsError, ValueError):
    """Partitions made with different embedding identities (model, dtype, kernel, ...) would be combined."""


class MissingContigError(ContigNotFoundError):
    """A selected gene lies on a contig that none of the cohort's VCF/BCF files covers."""


class BrainFeatureError(NeuroOmicsError, ValueError):
    """A brain-feature or phenotype table is missing subjects or columns, or holds unusable values."""
