"""genome/contigs.py: alias groups from the bundled hg38 table and from users' tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from neuro_omics_assets.errors import ConfigError, ContigNotFoundError, InputFileError
from neuro_omics_assets.genome.contigs import ContigAliases, summarize_names
from neuro_omics_assets_tests.genome.realdata import REAL

ENSEMBL_NAMES = [str(i) for i in range(1, 23)] + ["X", "Y", "MT"]


@pytest.mark.parametrize(
    ("name", "available", "expected"),
    [
        ("chrM", ["MT"], "MT"),  # UCSC -> Ensembl
        ("MT", ["chrM"], "chrM"),  # Ensembl -> UCSC
        ("NC_012920.1", ["chrM"], "chrM"),  # RefSeq accession -> UCSC
        ("chr1", ["1", "2"], "1"),
        ("1", ["chr1"], "chr1"),
        ("chr1", ["chr1", "1"], "chr1"),  # an exact match wins over an alias
        ("chrEBV", ["chrEBV"], "chrEBV"),  # not in the table but present as is
    ],
)
def test_hg38_resolve(name: str, available: list[str], expected: str) -> None:
    assert ContigAliases.hg38().resolve(name, available, "ref.fa") == expected


def test_hg38_groups() -> None:
    aliases = ContigAliases.hg38()
    assert aliases.aliases("MT") == ("MT", "chrM", "J01415.2", "NC_012920.1")
    assert aliases.aliases("chr1") == ("chr1", "1", "CM000663.2", "NC_000001.11")
    assert aliases.aliases("no_such_contig") == ("no_such_contig",)
    assert ContigAliases.hg38() is aliases  # loaded once


def test_not_found_lists_every_name_and_how_to_fix() -> None:
    with pytest.raises(ContigNotFoundError) as info:
        ContigAliases.hg38().resolve_all(["chr17", "chrFoo", "chrBar", "chr1"], ENSEMBL_NAMES, "ref.fa")
    message = str(info.value)
    assert message.startswith("chrFoo, chrBar not in ref.fa (contigs: 1..22, X, Y, MT).")
    assert "use 'chr' prefixes and ref.fa does not" in message
    assert "--contig-aliases" in message
    assert isinstance(info.value, KeyError)


def test_resolve_all_maps_each_name() -> None:
    mapping = ContigAliases.hg38().resolve_all(["chr1", "MT", "chr1"], ENSEMBL_NAMES, "ref.fa")
    assert mapping == {"chr1": "1", "MT": "MT"}


def test_ambiguous_alias_is_an_error() -> None:
    with pytest.raises(
        ConfigError, match=r"matches several contigs of ref.fa through aliases: \['chr1', '1'\]"
    ):
        ContigAliases.hg38().resolve("NC_000001.11", ["chr1", "1"], "ref.fa")


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (ENSEMBL_NAMES, "1..22, X, Y, MT"),
        (["chr1", "chr2", "chr3", "chrM"], "chr1..chr3, chrM"),
        (["chr1", "chr2", "chr5"], "chr1, chr2, chr5"),  # runs of two stay listed
        ([f"u{i}x" for i in range(12)], "u0x, u1x, u2x, u3x, u4x, u5x, u6x, u7x, u8x, u9x, ... (2 more)"),
    ],
)
def test_summarize_names(names: list[str], expected: str) -> None:
    assert summarize_names(names) == expected


def test_from_tsv_user_table(tmp_path: Path) -> None:
    table = tmp_path / "aliases.tsv"
    table.write_text("# my genome\nctgA\tA\n\nctgB\tB,contig_b\r\n")
    aliases = ContigAliases.from_tsv(table)
    assert aliases.resolve("A", ["ctgA", "ctgB"], "x.fa") == "ctgA"
    assert aliases.resolve("contig_b", ["B"], "x.fa") == "B"
    with pytest.raises(ContigNotFoundError, match="chrM not in x.fa"):
        aliases.resolve("chrM", ["MT"], "x.fa")  # a user table replaces the hg38 one


def test_from_tsv_reads_a_bioframe_seqinfo_table() -> None:
    aliases = ContigAliases.from_tsv(REAL / "chromsizes" / "hg38.seqinfo.tsv")
    assert aliases.aliases("chrM") == ContigAliases.hg38().aliases("chrM")
    assert "16569" not in aliases.aliases("chrM")  # the length column is not an alias


def test_from_tsv_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="contig alias table not found: .*nope.tsv"):
        ContigAliases.from_tsv(tmp_path / "nope.tsv")


def test_from_tsv_line_with_one_name(tmp_path: Path) -> None:
    table = tmp_path / "aliases.tsv"
    table.write_text("chrM\tMT\nchr1\n")
    with pytest.raises(ConfigError, match=r"aliases.tsv:2: an alias line needs two or more names"):
        ContigAliases.from_tsv(table)


def test_name_in_two_groups_is_an_error() -> None:
    with pytest.raises(ConfigError, match="'MT' is in two alias groups"):
        ContigAliases([["chrM", "MT"], ["MT", "M"]])
