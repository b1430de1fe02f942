"""Test inputs: the real chrM/chr22 files, a toy genome, and writers for small bgzipped, indexed
VCFs and gene-table rows (all written into pytest's tmp_path)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pysam

REAL = Path(__file__).resolve().parents[2] / "data" / "real"
CHRM_FASTA = REAL / "chrM" / "chrM.fa"  # contig 'chrM'
CHRMT_FASTA = REAL / "chrM" / "genome.chrMT.fa"  # the same sequence named 'MT'
CHRM_1KG_VCF = REAL / "chrM" / "1kg_2020_chrM.vcf.gz"  # HG00096, HG00097, HG00099; 23 records
CHRM_INDELS_VCF = REAL / "chrM" / "chr_m_indels.vcf.gz"  # HG00131, HG00132, HG00133; 155 records
CHR22_VCF = REAL / "chr22" / "chr22.vcf.gz"  # 100 samples, 100 records at chr22:10,510,061-10,514,057

# The toy genome's chr1 (60 bp); bases 14-17 (0-based) are soft-masked (lower case).
#        0         1         2         3         4         5
#        012345678901234567890123456789012345678901234567890123456789
TOY = "CCCCCAAGCTTGCAtgcaGGATCCTTAAGGCCTAGGAAATTTCCCGGGAAACCCTTTGGG"


def fasta_text(path: Path) -> str:
    """Sequence of a single-record plain FASTA, read with plain Python."""
    lines = path.read_text().splitlines()
    return "".join(lines[1:])


def revcomp(seq: str) -> str:
    """Reverse complement of an ACGTN string, written independently of genome.sequence."""
    return seq[::-1].translate(str.maketrans("ACGTN", "TGCAN"))


def write_fasta(path: Path, contigs: dict[str, str]) -> Path:
    """Write a plain FASTA with 50-base lines (``ReferenceGenome`` builds its .fai)."""
    with open(path, "w") as handle:
        for name, seq in contigs.items():
            handle.write(f">{name}\n")
            handle.writelines(f"{seq[i:i + 50]}\n" for i in range(0, len(seq), 50))
    return path


def vcf_text(samples: Sequence[str], records: Iterable[Sequence[object]], contigs: Sequence[str] = ("chr1",)) -> str:
    """A VCF 4.3 text; each record is ``(contig, POS 1-based, REF, ALT, FILTER, *GT)``."""
    header = [
        "##fileformat=VCFv4.3",
        *(f"##contig=<ID={name}>" for name in contigs),
        '##FILTER=<ID=LowQual,Description="low quality">',
        '##INFO=<ID=END,Number=1,Type=Integer,Description="End position">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">',
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples]),
    ]
    lines = [
        "\t".join([str(contig), str(pos), ".", ref, alt, ".", filt, ".", "GT", *map(str, gts)])
        for contig, pos, ref, alt, filt, *gts in records
    ]
    return "\n".join(header + lines) + "\n"


def write_vcf(path: Path, samples: Sequence[str], records: Iterable[Sequence[object]],
              contigs: Sequence[str] = ("chr1",), index: bool = True) -> Path:
    """Write ``vcf_text`` bgzipped to ``path`` (``*.vcf.gz``) and, if ``index``, its .tbi."""
    plain = path.with_suffix("")  # x.vcf.gz -> x.vcf
    plain.write_text(vcf_text(samples, records, contigs))
    pysam.tabix_compress(str(plain), str(path), force=True)
    if index:
        pysam.tabix_index(str(path), preset="vcf", force=True)
    return path


def gene(gene_id: str, exons: Sequence[tuple[int, int]], strand: str = "+", contig: str = "chr1") -> dict:
    """A gene-table row (the columns ``extract_gene_sequences`` needs) with one transcript."""
    start, end = min(s for s, _ in exons), max(e for _, e in exons)
    return {
        "gene_id": gene_id, "gene_name": f"{gene_id}_NAME", "gene_type": "protein_coding", "contig": contig,
        "start": start, "end": end, "strand": strand, "transcript_id": f"{gene_id}T", "transcript_rule": "gene",
        "exons": list(exons), "cds": list(exons), "tss": start if strand == "+" else end - 1,
    }
