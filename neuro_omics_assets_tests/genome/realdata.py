"""Paths to the real hg38 data in data/real, and independent readers of its FASTA text.

The readers here parse FASTA text with plain Python (gzip for the bgzipped file), never pyfaidx
or pysam, so tests compare the genome layer against an independent reading.
"""

from __future__ import annotations

import gzip
from pathlib import Path

REAL = Path(__file__).resolve().parents[2] / "data" / "real"
CHRM_FASTA = REAL / "chrM" / "chrM.fa"
CHRM_GTF = REAL / "chrM" / "annotation.chrMT.gtf"
CHR2_FASTA = REAL / "chr2" / "chr2_1-2333275.fa.gz"
MYT1L_BED = REAL / "chr2" / "MYT1L_MANE_AND_PE.bed"
GENCODE_GTF = REAL / "annotation" / "gencode_human.gtf.gz"
ENSEMBL_GTF = REAL / "annotation" / "ensembl_test.GRCh38.111.gtf"


def fasta_text(path: Path) -> str:
    """The sequence of a single-record FASTA, joined, case as stored (gzip handles bgzip)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        lines = handle.read().splitlines()
    assert lines[0].startswith(">")
    return "".join(lines[1:])


def revcomp(seq: str) -> str:
    """ACGTN-only reverse complement, written independently of genome.sequence."""
    return seq[::-1].translate(str.maketrans("ACGTNacgtn", "TGCANtgcan"))
