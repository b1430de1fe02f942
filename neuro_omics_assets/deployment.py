"""What one deployment serves: its named encoders, its named genomes and the ortholog table between two of them.

A deployment is a TOML file named by ``NEURO_OMICS_DEPLOYMENT`` (read with the standard library's
``tomllib``)::

    [genomes.human]                          # the name keys partitions and tables: a-z, 0-9, _
    species = "Homo sapiens"                 # required
    fasta = "ref/chrM.fa"                    # required; plain, or bgzipped with .fai/.gzi
    annotation = "ref/chrM.gtf"              # required; GTF, or GFF3 by its .gff/.gff3 suffix
    gene_list = "genes.txt"                  # optional; one symbol or Ensembl id per line
    gene_type = "protein_coding"             # optional
    contig_aliases = "aliases.tsv"           # optional; default: the bundled hg38 table
    region = "gene_body"                     # optional; gene_body | exons | cds | promoter
    promoter_upstream = 2000                 # optional (region promoter)
    promoter_downstream = 500                # optional (region promoter)

    [orthologs]                              # optional
    path = "orthologs.tsv"                   # columns <genome>_gene_id for both genomes
    genomes = ["human", "mouse"]

    [encoders.dnabert2]                      # optional; the name keys assets and DuckDB schemas
    model_dir = "/models/DNABERT-2-117M"     # required; the other keys are the encoder resource's fields
    dtype = "bfloat16"

Relative paths are relative to the file; every path must exist and lie under the data roots
(``settings.confined``). A mistake is one ``ConfigError`` (``InputFileError`` for a missing file)
naming the file, the table and the key. Without the variable (or without ``[genomes]`` in the file) the
deployment is one genome, ``human``, from the single-genome variables (``NEURO_OMICS_FASTA``,
``NEURO_OMICS_GTF``, ...), so a single-genome setup keeps working unchanged; those paths are checked where
they are used, as before. Without ``[encoders]`` the encoders come from the single-model variables
(``defs/encoders.py``). The gene-chunk pipeline and the cohort read the single-genome variables; the
genomes of the file are those of the cross-species group.

Each top-level table has one parser in ``_SECTIONS``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from neuro_omics_assets import settings
from neuro_omics_assets.errors import ConfigError, InputFileError
from neuro_omics_assets.genome.annotation import read_gene_list, select_genes
from neuro_omics_assets.genome.contigs import ContigAliases
from neuro_omics_assets.genome.extract import extract_gene_sequences
from neuro_omics_assets.genome.fasta import ReferenceGenome
from neuro_omics_assets.genome.gff3 import read_annotation
from neuro_omics_assets.genome.regions import REGION_KINDS, RegionSpec

DEPLOYMENT_VARIABLE = "NEURO_OMICS_DEPLOYMENT"
# An encoder's name is an asset key prefix and a DuckDB schema: not DuckDB's own schemas, nor catalog tables.
_ENCODER_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_RESERVED_ENCODER_NAMES = frozenset({"main", "temp", "information_schema", "pg_catalog", "system", "lineage",
                                     "catalog_meta"})


def check_encoder_name(name: str, where: str) -> str:
    """``name`` when usable as an encoder name (asset key prefix, DuckDB schema); else ConfigError at ``where``."""
    if not _ENCODER_NAME.fullmatch(name) or name in _RESERVED_ENCODER_NAMES:
        raise ConfigError(f"{where}: encoder name {name!r} is not usable; use lower-case letters, digits and _ (a "
                          f"letter first, at most 40 characters), not one of {sorted(_RESERVED_ENCODER_NAMES)}, "
                          "e.g. dnabert2 or caduceus_ps.")
    return name
# Genome names become partition keys, table values and ortholog column prefixes (``mouse_gene_id``).
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class GenomeConfig:
    """One genome of a deployment: where its sequence and annotation are and which genes and region to take."""

    name: str
    species: str
    fasta: Path
    annotation: Path
    gene_list: Path | None = None
    gene_type: str | None = None
    contig_aliases: Path | None = None
    region: RegionSpec = field(default_factory=RegionSpec)

    def aliases(self) -> ContigAliases:
        return ContigAliases.from_tsv(self.contig_aliases) if self.contig_aliases else ContigAliases.hg38()

    def reference(self) -> ReferenceGenome:
        """This genome's FASTA with its aliases; a context manager (close it)."""
        return ReferenceGenome(self.fasta, aliases=self.aliases())

    def genes(self) -> pd.DataFrame:
        """The selected gene table (``genome.annotation.select_genes``), in gene-list order if one is given."""
        wanted = read_gene_list(self.gene_list) if self.gene_list else None
        return select_genes(read_annotation(self.annotation), wanted, self.gene_type)

    def gene_sequences(self) -> pd.DataFrame:
        """The selected genes' reference sequences (``genome.extract.extract_gene_sequences`` columns)."""
        with self.reference() as genome:
            return extract_gene_sequences(genome, self.genes(), self.region)


@dataclass(frozen=True)
class OrthologConfig:
    """The ortholog table and the two genomes whose ``<name>_gene_id`` columns it pairs."""

    path: Path
    genomes: tuple[str, str]


@dataclass(frozen=True)
class Deployment:
    """The genomes by name (in file order) and the optional ortholog table; ``source`` says where it came from."""

    genomes: dict[str, GenomeConfig]
    orthologs: OrthologConfig | None = None
    # encoder name -> the encoder resource's fields (validated by the resource); empty: the defaults
    encoders: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = "environment"

    def genome(self, name: str) -> GenomeConfig:
        if name not in self.genomes:
            raise ConfigError(f"genome {name!r} is not in the deployment ({self.source}); known: "
                              f"{', '.join(self.genomes)}. Add a [genomes.{name}] table or use a known name.")
        return self.genomes[name]


def load_deployment() -> Deployment:
    """The deployment of ``$NEURO_OMICS_DEPLOYMENT``, else the single genome of the ``NEURO_OMICS_*`` variables."""
    path = os.environ.get(DEPLOYMENT_VARIABLE)
    return read_deployment(Path(path).expanduser()) if path else single_genome_deployment()


def pilot_deployment_path() -> Path | None:
    """The deployment file the cross-species group compares genomes of: ``$NEURO_OMICS_DEPLOYMENT`` when set and it
    has an ``[orthologs]`` table (None when it has none: no group), else the bundled human–mouse chrM pilot."""
    path = os.environ.get(DEPLOYMENT_VARIABLE)
    if not path:
        return settings.DEMO_DEPLOYMENT
    return Path(path).expanduser() if read_deployment(Path(path).expanduser()).orthologs is not None else None


def demo_deployment() -> Deployment:
    """The cross-species pilot: bundled human and mouse chrM and their 37 one-to-one orthologs."""
    return read_deployment(settings.DEMO_DEPLOYMENT)


def single_genome_deployment() -> Deployment:
    """One genome, ``human``, from today's variables and defaults (the bundled chrM demo)."""
    def variable(name: str) -> Path | None:
        return Path(os.environ[name]).expanduser() if os.environ.get(name) else None

    region = os.environ.get("NEURO_OMICS_REGION", "gene_body")
    if region not in REGION_KINDS:
        raise ConfigError(f"NEURO_OMICS_REGION={region!r} is not one of {', '.join(REGION_KINDS)}; set one of them.")
    genome = GenomeConfig(
        name="human",
        species="Homo sapiens",
        fasta=variable("NEURO_OMICS_FASTA") or settings.DEMO_FASTA,
        annotation=variable("NEURO_OMICS_GTF") or settings.DEMO_GTF,
        gene_list=variable("NEURO_OMICS_GENE_LIST"),
        gene_type=os.environ.get("NEURO_OMICS_GENE_TYPE") or None,
        contig_aliases=variable("NEURO_OMICS_CONTIG_ALIASES"),
        region=RegionSpec(kind=region),
    )
    return Deployment(genomes={"human": genome})


def read_deployment(path: str | Path) -> Deployment:
    """Parse and validate the deployment file at ``path`` (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"deployment file {path} ({DEPLOYMENT_VARIABLE}) not found; point the variable at a "
                             f"TOML file with [genomes.<name>] tables, or unset it for the single-genome settings.")
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"deployment file {path} is not valid TOML ({exc}); fix the syntax there.") from None
    unknown = sorted(set(document) - set(_SECTIONS))
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key(s) {unknown}; the tables are "
                          f"{', '.join(f'[{name}]' for name in _SECTIONS)}.")
    if not document:
        raise ConfigError(f"{path}: no table; add [genomes.<name>] tables (species, fasta, annotation) and/or "
                          "[encoders.<name>] tables (model_dir).")
    parsed = {name: parse(_Table(path, name, document[name])) for name, parse in _SECTIONS.items() if name in document}
    parsed.setdefault("genomes", single_genome_deployment().genomes)
    deployment = Deployment(**parsed, source=str(path))
    if deployment.orthologs is not None:
        for name in deployment.orthologs.genomes:
            if name not in deployment.genomes:
                raise ConfigError(f"{path} [orthologs] genomes: {name!r} has no [genomes.{name}] table "
                                  f"(genomes: {', '.join(deployment.genomes)}); add it or fix the name.")
    return deployment


class _Table:
    """One TOML table of ``path`` named ``name`` (e.g. ``genomes.mouse``): typed reads with located errors."""

    def __init__(self, path: Path, name: str, values: Any) -> None:
        self.path, self.name = path, name
        if not isinstance(values, dict):
            raise self.error(None, f"is a {type(values).__name__}, not a table", f"write it as [{name}]")
        self.values = values

    def error(self, key: str | None, problem: str, fix: str) -> ConfigError:
        where = f"{self.path} [{self.name}]" + (f" {key}" if key else "")
        return ConfigError(f"{where} {problem}; {fix}.")

    def only(self, allowed: tuple[str, ...]) -> None:
        unknown = sorted(set(self.values) - set(allowed))
        if unknown:
            raise self.error(None, f"has unknown key(s) {unknown}", f"the keys are {', '.join(allowed)}")

    def value(self, key: str, kind: type, required: bool) -> Any:
        if key not in self.values:
            if required:
                raise self.error(key, "is missing", f"add {key} = ...")
            return None
        value = self.values[key]
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise self.error(key, f"= {value!r} has type {type(value).__name__}, expected {kind.__name__}",
                             "quote paths and names, write counts as integers")
        return value

    def path_value(self, key: str, required: bool) -> Path | None:
        """An existing file, relative to the deployment file's directory, inside the data roots."""
        text = self.value(key, str, required)
        if text is None:
            return None
        resolved = settings.confined(self.path.parent / Path(text).expanduser(), f"{self.path} [{self.name}] {key}")
        if not resolved.is_file():
            raise InputFileError(f"{self.path} [{self.name}] {key}: file {resolved} not found; fix the path "
                                 f"(relative paths are relative to {self.path.parent}).")
        return resolved


_GENOME_KEYS = ("species", "fasta", "annotation", "gene_list", "gene_type", "contig_aliases", "region",
                "promoter_upstream", "promoter_downstream")


def _genomes(table: _Table) -> dict[str, GenomeConfig]:
    if not table.values:
        raise table.error(None, "is empty", "add a [genomes.<name>] table per genome")
    return {name: _genome(_Table(table.path, f"genomes.{name}", values), name) for name, values in table.values.items()}


def _genome(table: _Table, name: str) -> GenomeConfig:
    if not _NAME.match(name):
        raise table.error(None, "has an invalid genome name", "use lower-case letters, digits and _ (e.g. mouse)")
    table.only(_GENOME_KEYS)
    defaults = RegionSpec()
    region = table.value("region", str, False) or defaults.kind
    if region not in REGION_KINDS:
        raise table.error("region", f"= {region!r} is unknown", f"use one of {', '.join(REGION_KINDS)}")
    upstream = table.value("promoter_upstream", int, False)
    downstream = table.value("promoter_downstream", int, False)
    try:
        spec = RegionSpec(kind=region, upstream=defaults.upstream if upstream is None else upstream,
                          downstream=defaults.downstream if downstream is None else downstream)
    except ConfigError as exc:
        raise table.error("promoter_upstream/promoter_downstream", f"are invalid ({exc})", "fix the values") from None
    return GenomeConfig(
        name=name,
        species=table.value("species", str, True),
        fasta=table.path_value("fasta", True),
        annotation=table.path_value("annotation", True),
        gene_list=table.path_value("gene_list", False),
        gene_type=table.value("gene_type", str, False),
        contig_aliases=table.path_value("contig_aliases", False),
        region=spec,
    )


def _orthologs(table: _Table) -> OrthologConfig:
    table.only(("path", "genomes"))
    genomes = table.value("genomes", list, True)
    if len(genomes) != 2 or not all(isinstance(g, str) for g in genomes) or genomes[0] == genomes[1]:
        raise table.error("genomes", f"= {genomes!r} is not two different genome names", 'write e.g. ["human", "mouse"]')
    return OrthologConfig(path=table.path_value("path", True), genomes=(genomes[0], genomes[1]))


def _encoders(table: _Table) -> dict[str, dict[str, Any]]:
    if not table.values:
        raise table.error(None, "is empty", 'add an [encoders.<name>] table per encoder with model_dir = "..."')
    encoders = {}
    for name, values in table.values.items():
        entry = _Table(table.path, f"encoders.{name}", values)
        check_encoder_name(name, f"{table.path} [encoders.{name}]")
        entry.value("model_dir", str, True)
        encoders[name] = dict(values)
    return encoders


_SECTIONS: Mapping[str, Callable[[_Table], Any]] = {"genomes": _genomes, "orthologs": _orthologs,
                                                    "encoders": _encoders}
