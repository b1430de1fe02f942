"""Ortholog pairs between two genomes: read a table, keep the one-to-one pairs of genes both sides embed.

The table is tab-separated with a header; for genomes ``a`` and ``b`` it has columns ``<a>_gene_id`` and
``<b>_gene_id`` (Ensembl ids; a version suffix is ignored), optionally ``<a>_gene_name``/``<b>_gene_name``,
and any other columns (kept with each pair, e.g. ``biotype``). Rules:

* a missing id column, an empty id or a row repeated (same pair twice): ``ConfigError`` naming the file
  and lines — the table itself is wrong;
* a gene in several rows (one-to-many, many-to-one, many-to-many, counted over the whole table): every
  such row is reported and excluded (``many="exclude"``, the default) or refused (``many="error"``);
* a gene not among the genome's selected genes: the row is reported (``unknown_gene``) and excluded, so a
  genome-wide table works with a gene subset; if no row is left, ``GeneNotFoundError``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from neuro_omics_assets.errors import ConfigError, GeneNotFoundError, InputFileError
from neuro_omics_assets.genome.annotation import split_version

log = logging.getLogger(__name__)

ManyPolicy = Literal["exclude", "error"]
PAIR_COLUMNS = ("genome_a", "gene_id_a", "gene_name_a", "genome_b", "gene_id_b", "gene_name_b")
REPORT_COLUMNS = ("line", "gene_id_a", "gene_id_b", "status", "detail")
_SHOWN = 5  # error messages list at most this many lines or genes


@dataclass(frozen=True)
class OrthologPairs:
    """``pairs``: one row per kept one-to-one pair (``PAIR_COLUMNS``, names from the annotations, then the
    table's other columns), in table order. ``report``: one row per excluded table row (``REPORT_COLUMNS``;
    ``line`` is the 1-based line of the file, header = 1)."""

    pairs: pd.DataFrame
    report: pd.DataFrame


def read_ortholog_table(path: str | Path, genomes: tuple[str, str]) -> pd.DataFrame:
    """The table at ``path`` with string cells, ids without versions and a ``line`` column; errors as above."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"ortholog table {path} not found; give a TSV with columns "
                             f"{genomes[0]}_gene_id and {genomes[1]}_gene_id.")
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, comment=None)
    columns = [f"{name}_gene_id" for name in genomes]
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ConfigError(f"ortholog table {path} lacks column(s) {missing} (has {list(table.columns)}); name the "
                          f"id columns after the deployment's genome names ({', '.join(columns)}).")
    table.insert(0, "line", range(2, len(table) + 2))
    for column in columns:
        table[column] = table[column].str.strip()
        empty = table.loc[table[column] == "", "line"].tolist()
        if empty:
            raise ConfigError(f"ortholog table {path}: empty {column} on line(s) {_shown(empty)}; fill in the id "
                              f"or delete the row.")
        table[column] = [split_version(value)[0] for value in table[column]]
    repeated = table[table.duplicated(columns, keep=False)]
    if not repeated.empty:
        lines = [f"{a}-{b} (lines {', '.join(map(str, g['line']))})" for (a, b), g in repeated.groupby(columns, sort=False)]
        raise ConfigError(f"ortholog table {path} repeats pair(s) {_shown(lines)}; keep one row per pair.")
    return table


def ortholog_pairs(
    table: pd.DataFrame, genomes: tuple[str, str], genes_a: pd.DataFrame, genes_b: pd.DataFrame,
    many: ManyPolicy = "exclude",
) -> OrthologPairs:
    """The one-to-one pairs of ``table`` (from ``read_ortholog_table``) whose genes are in ``genes_a`` and
    ``genes_b`` (gene tables or sequence tables with ``gene_id``, ``gene_name``), and the report of the rest."""
    if many not in ("exclude", "error"):
        raise ConfigError(f"many={many!r} is unknown; use 'exclude' or 'error'.")
    column_a, column_b = (f"{name}_gene_id" for name in genomes)
    status = _multiplicity(table[column_a], table[column_b])
    if many == "error" and status.notna().any():
        rows = table[status.notna()]
        shown = [f"line {line}: {a}-{b} ({s})" for line, a, b, s in zip(rows["line"], rows[column_a], rows[column_b],
                                                                        status[status.notna()], strict=True)]
        raise ConfigError(f"ortholog table has {len(rows)} row(s) that are not one-to-one: {_shown(shown)}; remove "
                          f"them or exclude them (many='exclude').")
    names = [dict(zip(genes["gene_id"], genes["gene_name"], strict=True)) for genes in (genes_a, genes_b)]
    detail = pd.Series("", index=table.index)
    for genome, column, known in ((genomes[0], column_a, names[0]), (genomes[1], column_b, names[1])):
        absent = status.isna() & ~table[column].isin(list(known))
        detail[absent] = detail[absent] + f"{genome} gene " + table.loc[absent, column] + " is not selected; "
        status[absent] = "unknown_gene"
    for multi in ("one_to_many", "many_to_one", "many_to_many"):
        detail[status == multi] = f"a gene in several rows ({multi}); excluded"
    kept = table[status.isna()]
    if kept.empty:
        raise GeneNotFoundError(f"no one-to-one ortholog pair has both genes among the selected {genomes[0]} "
                                f"({len(genes_a)}) and {genomes[1]} ({len(genes_b)}) genes; check that the table's "
                                f"ids are the annotations' gene ids.")
    report = pd.DataFrame({"line": table["line"], "gene_id_a": table[column_a], "gene_id_b": table[column_b],
                           "status": status, "detail": detail.str.rstrip("; ")})[status.notna()].reset_index(drop=True)
    if not report.empty:
        log.warning("ortholog pairs: %d kept, %d excluded (%s)", len(kept), len(report),
                    ", ".join(f"{k}: {v}" for k, v in report["status"].value_counts().items()))
    pairs = pd.DataFrame({
        "genome_a": genomes[0], "gene_id_a": kept[column_a], "gene_name_a": kept[column_a].map(names[0]),
        "genome_b": genomes[1], "gene_id_b": kept[column_b], "gene_name_b": kept[column_b].map(names[1]),
    })
    extra = [c for c in table.columns if c not in ("line", column_a, column_b) and not c.endswith("_gene_name")]
    return OrthologPairs(pd.concat([pairs, kept[extra]], axis=1).reset_index(drop=True), report)


def _multiplicity(ids_a: pd.Series, ids_b: pd.Series) -> pd.Series:
    """Per row: None for one-to-one, else one_to_many (its a gene has several b), many_to_one or many_to_many."""
    many_a, many_b = ids_a.map(ids_a.value_counts()) > 1, ids_b.map(ids_b.value_counts()) > 1
    status = pd.Series(None, index=ids_a.index, dtype=object)
    status[many_a & ~many_b] = "one_to_many"
    status[~many_a & many_b] = "many_to_one"
    status[many_a & many_b] = "many_to_many"
    return status


def _shown(items: list) -> str:
    more = f" ... ({len(items) - _SHOWN} more)" if len(items) > _SHOWN else ""
    return ", ".join(map(str, items[:_SHOWN])) + more
