"""genome/bed.py: BED12 transcripts as a gene table (MYT1L MANE on chr2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from neuro_omics_assets.errors import AnnotationError, InputFileError
from neuro_omics_assets.genome.annotation import GENE_COLUMNS
from neuro_omics_assets.genome.bed import read_bed12
from neuro_omics_assets_tests.genome.realdata import MYT1L_BED

MYT1L_LINE = MYT1L_BED.read_text().splitlines()[0]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "a.bed"
    path.write_text(text)
    return path


def test_myt1l_mane_transcript(tmp_path: Path) -> None:
    table = read_bed12(_write(tmp_path, f"track name=myt1l\n# MANE\n{MYT1L_LINE}\n"))
    assert list(table.columns) == list(GENE_COLUMNS) and len(table) == 1
    row = table.iloc[0]
    assert (row["gene_id"], row["gene_version"], row["transcript_rule"]) == ("ENST00000647738", "2", "bed12")
    assert (row["contig"], row["start"], row["end"], row["strand"], row["tss"]) == (
        "chr2",
        1_789_112,
        2_331_275,
        "-",
        2_331_274,
    )
    assert len(row["exons"]) == 25
    assert row["exons"][0] == (1_789_112, 1_789_112 + 2895) and row["exons"][-1] == (
        2_331_275 - 309,
        2_331_275,
    )
    # thickStart 1,791,866 falls in the first block; thickEnd 1,979,777 ends the CDS.
    assert row["cds"][0] == (1_791_866, 1_789_112 + 2895) and row["cds"][-1][1] == 1_979_777


def test_unstranded_line_names_file_and_line() -> None:
    # The second line of the real file is a 90 bp region with strand '.'.
    with pytest.raises(
        AnnotationError, match=r"MYT1L_MANE_AND_PE.bed:2: strand '.' must be '\+' or '-' to orient MYT1L_PE"
    ):
        read_bed12(MYT1L_BED)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("chr2\t10\t20\tx\t0\t+", r"a.bed:1: expected 12 tab-separated columns, found 6"),
        ("chr2\t10\t20\tx\t0\t+\t10\t20\t0\t1\tten\t0", r"a.bed:1: non-integer coordinate or block field"),
        (
            "chr2\t10\t20\tx\t0\t+\t10\t20\t0\t2\t5,5\t0,3",
            r"a.bed:1: inconsistent BED12 record 'x'",
        ),  # overlapping, short
        (
            "chr2\t10\t20\tx\t0\t+\t5\t20\t0\t1\t10\t0",
            r"a.bed:1: inconsistent BED12 record 'x'",
        ),  # thickStart < start
    ],
)
def test_bad_lines(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(AnnotationError, match=message):
        read_bed12(_write(tmp_path, line + "\n"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="BED file not found"):
        read_bed12(tmp_path / "nope.bed")
