"""genome/annotation.py: GTF parsing, transcript choice, gene selection, bad GTF lines."""

from __future__ import annotations

import collections
import gzip
import logging
import re
from pathlib import Path

import pytest

from neuro_omics_assets.checksums import file_sha256
from neuro_omics_assets.errors import AnnotationError, GeneNotFoundError, InputFileError
from neuro_omics_assets.genome.annotation import (
    GENE_COLUMNS,
    read_gene_list,
    read_gtf,
    select_genes,
    split_version,
)
from neuro_omics_assets_tests.genome.realdata import CHRM_GTF, ENSEMBL_GTF, GENCODE_GTF

# A gene with two transcripts, GTF 1-based closed; the second is longer but not tagged.
TWO_TRANSCRIPTS = (
    'chrM\tt\tgene\t101\t400\t.\t+\t.\tgene_id "G1.3"; gene_name "ONE"; gene_type "lncRNA";\n'
    'chrM\tt\ttranscript\t101\t300\t.\t+\t.\tgene_id "G1.3"; transcript_id "T1.1"; '
    'tag "basic"; tag "Ensembl_canonical";\n'
    'chrM\tt\texon\t101\t300\t.\t+\t.\tgene_id "G1.3"; transcript_id "T1.1";\n'
    'chrM\tt\ttranscript\t101\t400\t.\t+\t.\tgene_id "G1.3"; transcript_id "T2.1"; tag "basic";\n'
    'chrM\tt\texon\t101\t400\t.\t+\t.\tgene_id "G1.3"; transcript_id "T2.1";\n'
)


def _write(tmp_path: Path, text: str, name: str = "a.gtf") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


@pytest.fixture(scope="module")
def gencode():
    return read_gtf(GENCODE_GTF)


@pytest.fixture(scope="module")
def chrm():
    return read_gtf(CHRM_GTF)


def _gene(table, name: str) -> dict:
    rows = table[table["gene_name"] == name].to_dict("records")
    assert len(rows) == 1
    return rows[0]


def test_gencode_excerpt(gencode) -> None:
    assert list(gencode.columns) == list(GENE_COLUMNS)
    assert len(gencode) == 119  # PROVENANCE: 119 genes
    assert gencode["gene_id"].str.fullmatch(r"ENSG\d{11}").all()  # versions split off
    assert gencode["gene_type"].value_counts()["protein_coding"] == 37
    ddx = _gene(gencode, "DDX11L1")
    assert (ddx["gene_id"], ddx["gene_version"], ddx["contig"]) == ("ENSG00000223972", "5", "chr1")
    assert (ddx["start"], ddx["end"], ddx["strand"]) == (11_868, 14_409, "+")  # GTF 11869..14409


def test_gencode_gene_without_mane_picks_longest_cds(gencode) -> None:
    # Independent count of CDS bases per SAMD11 transcript (GTF 1-based closed: end - start + 1).
    cds_bases: dict[str, int] = collections.Counter()
    with gzip.open(GENCODE_GTF, "rt") as lines:
        for line in lines:
            fields = line.split("\t")
            if len(fields) == 9 and fields[2] == "CDS" and 'gene_name "SAMD11"' in fields[8]:
                transcript = re.search(r'transcript_id "(ENST\d+)', fields[8])[1]
                cds_bases[transcript] += int(fields[4]) - int(fields[3]) + 1
    longest = max(cds_bases, key=cds_bases.get)
    samd11 = _gene(gencode, "SAMD11")
    assert longest == "ENST00000622503"  # 2,046 CDS bases, 3 more than the later MANE transcript
    assert (samd11["transcript_id"], samd11["transcript_version"]) == (longest, "4")
    assert samd11["transcript_rule"] == "longest_cds"
    assert sum(end - start for start, end in samd11["cds"]) == cds_bases[longest]


def test_non_coding_gene_picks_longest_transcript(gencode) -> None:
    ddx = _gene(gencode, "DDX11L1")  # transcripts of 1,657 and 632 exon bases
    assert (ddx["transcript_id"], ddx["transcript_rule"]) == ("ENST00000456328", "longest_transcript")
    assert ddx["exons"] == [(11_868, 12_227), (12_612, 12_721), (13_220, 14_409)]
    assert ddx["cds"] == [] and ddx["tss"] == 11_868


def test_minus_strand_tss_is_the_last_base(gencode) -> None:
    wash = _gene(gencode, "WASH7P")
    assert wash["strand"] == "-"
    assert wash["tss"] == wash["exons"][-1][1] - 1 == 29_569


def test_ensembl_mane_select_and_canonical() -> None:
    table = read_gtf(ENSEMBL_GTF)
    or4f5, mt_tk = _gene(table, "OR4F5"), _gene(table, "MT-TK")
    assert (or4f5["gene_id"], or4f5["gene_version"], or4f5["contig"]) == ("ENSG00000186092", "7", "1")
    assert (or4f5["transcript_id"], or4f5["transcript_version"]) == ("ENST00000641515", "2")
    assert or4f5["transcript_rule"] == "MANE_Select"
    # exons 65419-65433, 65520-65573, 69037-71585 and CDS 65565-65573, 69037-70005 (1-based closed)
    assert or4f5["exons"] == [(65_418, 65_433), (65_519, 65_573), (69_036, 71_585)]
    assert or4f5["cds"] == [(65_564, 65_573), (69_036, 70_005)]
    assert (or4f5["tss"], or4f5["gene_type"]) == (65_418, "protein_coding")
    assert (mt_tk["transcript_rule"], mt_tk["gene_type"], mt_tk["contig"]) == (
        "Ensembl_canonical",
        "Mt_tRNA",
        "MT",
    )


def test_chrm_annotation(chrm) -> None:
    assert len(chrm) == 37
    assert chrm["transcript_rule"].value_counts().to_dict() == {"longest_transcript": 24, "longest_cds": 13}
    nd6 = _gene(chrm, "MT-ND6")  # GTF MT 14149-14673 (-), CDS 14152-14673
    assert (nd6["start"], nd6["end"], nd6["strand"], nd6["tss"]) == (14_148, 14_673, "-", 14_672)
    assert nd6["cds"] == [(14_151, 14_673)]


def test_tag_rule_beats_length(tmp_path: Path) -> None:
    row = read_gtf(_write(tmp_path, TWO_TRANSCRIPTS)).iloc[0]
    assert (row["transcript_id"], row["transcript_rule"], row["gene_version"]) == (
        "T1",
        "Ensembl_canonical",
        "3",
    )
    untagged = TWO_TRANSCRIPTS.replace('tag "Ensembl_canonical";', "")
    row = read_gtf(_write(tmp_path, untagged)).iloc[0]
    assert (row["transcript_id"], row["transcript_rule"]) == ("T2", "longest_transcript")


def test_ties_go_to_the_smallest_transcript_id(tmp_path: Path) -> None:
    text = TWO_TRANSCRIPTS.replace('tag "Ensembl_canonical";', "").replace(
        '\t400\t.\t+\t.\tgene_id "G1.3"; transcript_id "T2',
        '\t300\t.\t+\t.\tgene_id "G1.3"; transcript_id "T0',
    )
    row = read_gtf(_write(tmp_path, text)).iloc[0]
    assert (row["transcript_id"], row["transcript_rule"]) == ("T0", "longest_transcript")


def test_crlf_comments_and_gzip_give_the_same_table(tmp_path: Path) -> None:
    expected = read_gtf(ENSEMBL_GTF)
    text = "#!genome-build GRCh38.p14\n#!genebuild-last-updated 2023-06\n" + ENSEMBL_GTF.read_text()
    crlf = _write(tmp_path, text.replace("\n", "\r\n"), "crlf.gtf")
    gz = tmp_path / "a.gtf.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    for path in (crlf, gz):
        assert read_gtf(path).to_dict("records") == expected.to_dict("records")


def test_gene_derived_from_transcripts_when_gene_line_is_missing(tmp_path: Path) -> None:
    lines = TWO_TRANSCRIPTS.splitlines(keepends=True)[1:]
    row = read_gtf(
        _write(tmp_path, "".join(lines).replace('gene_id "G1.3";', 'gene_id "G1.3"; gene_name "ONE";'))
    ).iloc[0]
    assert (row["gene_id"], row["gene_name"], row["start"], row["end"]) == ("G1", "ONE", 100, 400)


def test_gene_without_transcripts(tmp_path: Path) -> None:
    row = read_gtf(_write(tmp_path, TWO_TRANSCRIPTS.splitlines()[0].replace("+", "-") + "\n")).iloc[0]
    assert row["transcript_id"] is None and row["transcript_rule"] == "gene"
    assert (row["exons"], row["cds"], row["tss"]) == ([(100, 400)], [], 399)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        # 8 columns: the attributes are missing
        ("chrM\tt\tgene\t1\t10\t.\t+\t.", r"a.gtf:2: expected 9 tab-separated columns, found 8"),
        # spaces instead of tabs
        ('chrM t gene 1 10 . + . gene_id "X";', r"a.gtf:2: expected 9 tab-separated columns, found 1"),
        (
            'chrM\tt\tgene\t1\tten\t.\t+\t.\tgene_id "X";',
            r"a.gtf:2: start '1' and end 'ten' must be integers",
        ),
        ('chrM\tt\tgene\t20\t10\t.\t+\t.\tgene_id "X";', r"a.gtf:2: end 10 < start 20"),
        ('chrM\tt\tgene\t1\t10\t.\t+\t.\tgene_name "X";', r"a.gtf:2: no gene_id attribute"),
        ("chrM\tt\tgene\t1\t10\t.\t+\t.\tID=gene1;Name=X", r"a.gtf:2: no gene_id attribute.*gffread"),
        ('chrM\tt\texon\t1\t10\t.\t+\t.\tgene_id "X";', r"a.gtf:2: exon line without transcript_id"),
        ('chrM\tt\tgene\t1\t10\t.\t.\t.\tgene_id "X";', r"a.gtf:2: strand '.' must be '\+' or '-'"),
        ('chrM\tt\tgene\t1\t10\t.\t+\t.\tgene_id "G1.3";', r"a.gtf:2: a second gene line for G1"),
        (
            'chr1\tt\texon\t1\t10\t.\t+\t.\tgene_id "G1"; transcript_id "T9";',
            r"a.gtf:2: exon on chr1 \+ but gene G1 is on chrM",
        ),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    first = TWO_TRANSCRIPTS.splitlines()[0]
    with pytest.raises(AnnotationError, match=message):
        read_gtf(_write(tmp_path, f"{first}\n{line}\n"))


def test_missing_and_truncated_files(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="annotation file not found: .*nope.gtf"):
        read_gtf(tmp_path / "nope.gtf")
    truncated = tmp_path / "cut.gtf.gz"
    truncated.write_bytes(GENCODE_GTF.read_bytes()[:40_000])
    with pytest.raises(InputFileError, match="cut.gtf.gz is a truncated or corrupt gzip file"):
        read_gtf(truncated)


def test_annotation_sha256_matches_provenance(tmp_path: Path) -> None:
    assert file_sha256(ENSEMBL_GTF) == "27a5707d02cd0879789491d64b7b284fd65d7ab6f1a1de3ce3b86fb117bc2a56"
    with pytest.raises(InputFileError, match="nope.gtf"):
        file_sha256(tmp_path / "nope.gtf")


@pytest.mark.parametrize(
    ("identifier", "expected"),
    [
        ("ENSG00000198695.2", ("ENSG00000198695", "2")),
        ("ENSG00000198695", ("ENSG00000198695", None)),
        ("ENSG00000182378.14_PAR_Y", ("ENSG00000182378_PAR_Y", "14")),  # GENCODE chrY PAR copy
        ("MT-ND6", ("MT-ND6", None)),
    ],
)
def test_split_version(identifier: str, expected: tuple[str, str | None]) -> None:
    assert split_version(identifier) == expected


def test_select_by_symbol_and_id_keeps_order(chrm) -> None:
    picked = select_genes(chrm, ["MT-ND6", "ENSG00000198804", "ENSG00000210082.2", "MT-TF"], None)
    assert picked["gene_name"].tolist() == ["MT-ND6", "MT-CO1", "MT-RNR2", "MT-TF"]
    assert picked.index.tolist() == [0, 1, 2, 3]


def test_select_all_and_by_type(chrm) -> None:
    assert len(select_genes(chrm, None, None)) == 37
    coding = select_genes(chrm, None, "protein_coding")
    assert len(coding) == 13 and set(coding["gene_type"]) == {"protein_coding"}


def test_select_drops_genes_of_another_type_with_a_warning(chrm, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        picked = select_genes(chrm, ["MT-TF", "MT-ND6"], "protein_coding")
    assert picked["gene_name"].tolist() == ["MT-ND6"]
    assert "dropping requested genes that are not protein_coding: MT-TF (ENSG00000210049)" in caplog.text


def test_select_unknown_type(chrm) -> None:
    with pytest.raises(
        GeneNotFoundError, match=r"gene_type 'coding' is not in the annotation; known types: \['Mt_rRNA'"
    ):
        select_genes(chrm, None, "coding")


def test_duplicated_names_are_dropped_with_a_warning(chrm, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        picked = select_genes(chrm, ["MT-ND6", "MT-CO1", "MT-ND6", "ENSG00000198804"], None)
    assert picked["gene_name"].tolist() == ["MT-ND6", "MT-CO1"]
    assert "dropping duplicated genes (2 of 4 requested): MT-ND6, ENSG00000198804 (= MT-CO1)" in caplog.text


def test_unknown_genes_suggest_close_names(chrm) -> None:
    with pytest.raises(GeneNotFoundError) as info:
        select_genes(chrm, ["MT-ND7", "MT-CO1", "mt-co2", "FOXP2"], None)
    message = str(info.value)
    assert message.startswith("genes not in the annotation: MT-ND7 (did you mean MT-ND6, ")
    assert "mt-co2 (did you mean MT-CO2" in message
    assert "; FOXP2." in message and "Ensembl gene ids" in message


def test_versioned_id_of_another_release_warns(chrm, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        picked = select_genes(chrm, ["ENSG00000198695.9"], None)
    assert picked["gene_name"].tolist() == ["MT-ND6"]
    assert "the annotation has version 2 of ENSG00000198695" in caplog.text


def test_ambiguous_symbol(tmp_path: Path) -> None:
    text = TWO_TRANSCRIPTS + TWO_TRANSCRIPTS.replace("G1.3", "G2.1")
    with pytest.raises(
        GeneNotFoundError,
        match=r"'ONE' names 2 genes \(\['G1', 'G2'\]\); request one of them by its Ensembl id",
    ):
        select_genes(read_gtf(_write(tmp_path, text)), ["ONE"], None)


def test_read_gene_list(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "# autism genes\nMYT1L\n\n  MT-ND6  # mitochondrial\r\nENSG00000198804.2\n", "genes.txt"
    )
    assert read_gene_list(path) == ["MYT1L", "MT-ND6", "ENSG00000198804.2"]
    with pytest.raises(InputFileError, match="gene list not found"):
        read_gene_list(tmp_path / "nope.txt")
