"""Ortholog tables: the real 37 pairs, and the reports and errors for unknown, repeated and multiple rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from neuro_omics_assets.cross_species.orthologs import (
    PAIR_COLUMNS,
    REPORT_COLUMNS,
    ortholog_pairs,
    read_ortholog_table,
)
from neuro_omics_assets.errors import ConfigError, GeneNotFoundError, InputFileError

GENOMES = ("human", "mouse")
HEADER = "human_gene_id\thuman_gene_name\tmouse_gene_id\tmouse_gene_name\tbiotype\n"
# Small gene tables standing in for the two genomes' selected genes.
HUMAN = pd.DataFrame({"gene_id": ["H1", "H2", "H3", "H4"], "gene_name": ["A", "B", "C", "D"]})
MOUSE = pd.DataFrame({"gene_id": ["M1", "M2", "M3", "M4"], "gene_name": ["a", "b", "c", "d"]})


def _table(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "orthologs.tsv"
    path.write_text(header + "".join(row + "\n" for row in rows))
    return path


def test_the_real_table_gives_37_one_to_one_pairs_named_from_the_annotations(pairs) -> None:
    assert list(pairs.pairs.columns) == [*PAIR_COLUMNS, "biotype", "matched_by"]
    assert len(pairs.pairs) == 37 and pairs.report.empty
    assert list(pairs.report.columns) == list(REPORT_COLUMNS)
    cyb = pairs.pairs.set_index("gene_name_a").loc["MT-CYB"]
    assert (cyb["gene_id_a"], cyb["gene_id_b"], cyb["gene_name_b"]) == ("ENSG00000198727", "ENSMUSG00000064370", "mt-Cytb")
    assert pairs.pairs["biotype"].value_counts().to_dict() == {"Mt_tRNA": 22, "protein_coding": 13, "Mt_rRNA": 2}
    # every other pair matches by name once the MT-/mt- prefix and case are ignored
    names = pairs.pairs[pairs.pairs["gene_name_a"] != "MT-CYB"]
    assert (names["gene_name_a"].str.upper() == names["gene_name_b"].str.upper()).all()


def test_one_to_many_and_many_to_one_rows_are_reported_and_excluded(tmp_path: Path) -> None:
    path = _table(tmp_path, ["H1\tA\tM1\ta\tx", "H2\tB\tM2\tb\tx", "H2\tB\tM3\tc\tx", "H3\tC\tM4\td\tx",
                             "H4\tD\tM4\td\tx"])
    result = ortholog_pairs(read_ortholog_table(path, GENOMES), GENOMES, HUMAN, MOUSE)
    assert result.pairs[["gene_id_a", "gene_id_b", "gene_name_a", "gene_name_b", "biotype"]].values.tolist() == [
        ["H1", "M1", "A", "a", "x"]]
    assert result.report[["line", "gene_id_a", "gene_id_b", "status"]].values.tolist() == [
        [3, "H2", "M2", "one_to_many"], [4, "H2", "M3", "one_to_many"],
        [5, "H3", "M4", "many_to_one"], [6, "H4", "M4", "many_to_one"]]
    with pytest.raises(ConfigError, match=r"4 row\(s\) that are not one-to-one: line 3: H2-M2 \(one_to_many\)"):
        ortholog_pairs(read_ortholog_table(path, GENOMES), GENOMES, HUMAN, MOUSE, many="error")


def test_many_to_many_rows_are_reported(tmp_path: Path) -> None:
    path = _table(tmp_path, ["H1\tA\tM1\ta\tx", "H1\tA\tM2\tb\tx", "H2\tB\tM1\ta\tx", "H3\tC\tM3\tc\tx"])
    result = ortholog_pairs(read_ortholog_table(path, GENOMES), GENOMES, HUMAN, MOUSE)
    assert result.report["status"].tolist() == ["many_to_many", "one_to_many", "many_to_one"]
    assert result.pairs["gene_id_a"].tolist() == ["H3"]


def test_unknown_genes_are_reported_and_versions_ignored(tmp_path: Path) -> None:
    path = _table(tmp_path, ["H1.5\tA\tM1.2\ta\tx", "H9\tZ\tM2\tb\tx", "H3\tC\tM9\tz\tx"])
    result = ortholog_pairs(read_ortholog_table(path, GENOMES), GENOMES, HUMAN, MOUSE)
    assert result.pairs[["gene_id_a", "gene_id_b"]].values.tolist() == [["H1", "M1"]]
    assert result.report[["line", "status", "detail"]].values.tolist() == [
        [3, "unknown_gene", "human gene H9 is not selected"], [4, "unknown_gene", "mouse gene M9 is not selected"]]


def test_a_table_matching_no_selected_gene_is_refused(tmp_path: Path) -> None:
    path = _table(tmp_path, ["X1\tA\tY1\ta\tx"])
    with pytest.raises(GeneNotFoundError, match=r"no one-to-one ortholog pair has both genes among the selected human \(4\)"):
        ortholog_pairs(read_ortholog_table(path, GENOMES), GENOMES, HUMAN, MOUSE)


# Tables that are wrong in themselves: the rows, the header, and what the one-line error says.
BAD_TABLES = [
    # the same pair twice
    (["H1\tA\tM1\ta\tx", "H2\tB\tM2\tb\tx", "H1\tA\tM1\ta\ty"], HEADER, r"repeats pair\(s\) H1-M1 \(lines 2, 4\); keep one row"),
    # an id column named after another genome
    (["H1\tA\tM1\ta\tx"], HEADER.replace("mouse_gene_id", "rat_gene_id"),
     r"lacks column\(s\) \['mouse_gene_id'\] .*name the id columns after the deployment's genome names"),
    # an empty id
    (["H1\tA\t\ta\tx"], HEADER, r"empty mouse_gene_id on line\(s\) 2"),
]


@pytest.mark.parametrize(("rows", "header", "message"), BAD_TABLES)
def test_a_wrong_table_gives_one_line_naming_the_file(tmp_path: Path, rows, header, message) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        read_ortholog_table(_table(tmp_path, rows, header), GENOMES)
    assert "orthologs.tsv" in str(raised.value) and "\n" not in str(raised.value)


def test_a_missing_table_and_an_unknown_policy(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="ortholog table .*nope.tsv not found"):
        read_ortholog_table(tmp_path / "nope.tsv", GENOMES)
    table = read_ortholog_table(_table(tmp_path, ["H1\tA\tM1\ta\tx"]), GENOMES)
    with pytest.raises(ConfigError, match="many='keep' is unknown"):
        ortholog_pairs(table, GENOMES, HUMAN, MOUSE, many="keep")
