"""genome/extract.py on real hg38 data: strand, splicing, aliases, N/IUPAC counts, bad cases.

Expected sequences come from the FASTA text read with plain Python (see realdata.py).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest

from neuro_omics_assets.errors import ConfigError, ContigNotFoundError, SequenceError
from neuro_omics_assets.genome.annotation import read_gtf, select_genes
from neuro_omics_assets.genome.bed import read_bed12
from neuro_omics_assets.genome.extract import SEQUENCE_COLUMNS, extract_gene_sequences
from neuro_omics_assets.genome.fasta import CoordinateError, ReferenceGenome
from neuro_omics_assets.genome.regions import RegionSpec
from neuro_omics_assets_tests.genome.realdata import CHR2_FASTA, CHRM_FASTA, CHRM_GTF, MYT1L_BED, revcomp

# A three-exon gene on the Ensembl name MT (the FASTA says chrM), GTF 1-based closed.
SPLICED_GTF = "".join(
    f'MT\tt\texon\t{start}\t{end}\t.\t{{strand}}\t.\tgene_id "SYN"; transcript_id "SYN-1"; gene_name "SYN";\n'
    for start, end in [(101, 110), (201, 210), (301, 305)]
)


@pytest.fixture(scope="module")
def chrm_genes():
    return read_gtf(CHRM_GTF)


@pytest.fixture(scope="module")
def chrm_genome():
    with ReferenceGenome(CHRM_FASTA) as genome:
        yield genome


def _one(table, name: str) -> dict:
    rows = table[table["gene_name"] == name].to_dict("records")
    assert len(rows) == 1
    return rows[0]


def test_gene_bodies_on_both_strands(chrm_genome, chrm_genes, chrm_text: str) -> None:
    # The GTF names the contig MT and the FASTA chrM: the alias table joins them.
    table = extract_gene_sequences(
        chrm_genome, select_genes(chrm_genes, ["MT-CO1", "MT-ND6"], None), RegionSpec()
    )
    assert list(table.columns) == list(SEQUENCE_COLUMNS)
    co1, nd6 = _one(table, "MT-CO1"), _one(table, "MT-ND6")
    assert co1["sequence"] == chrm_text[5903:7445].upper()  # GTF MT 5904-7445 (+)
    assert nd6["sequence"] == revcomp(chrm_text[14148:14673]).upper()  # GTF MT 14149-14673 (-)
    assert nd6["sequence"].startswith("ATG")  # the CDS starts at the transcript's 5' end
    assert (co1["contig"], co1["start"], co1["end"], co1["length"]) == ("chrM", 5903, 7445, 1542)
    assert (nd6["strand"], nd6["region"], nd6["transcript_id"]) == ("-", "gene_body", "ENST00000361681")
    assert nd6["sha256"] == hashlib.sha256(nd6["sequence"].encode()).hexdigest()


def test_cds_start_codons(chrm_genome, chrm_genes) -> None:
    table = extract_gene_sequences(
        chrm_genome, select_genes(chrm_genes, ["MT-CO1", "MT-ND6"], None), RegionSpec("cds")
    )
    assert [seq[:3] for seq in table["sequence"]] == ["ATG", "ATG"]
    assert table["length"].tolist() == [1539, 522]  # GTF CDS excludes the stop codon


def test_soft_masked_bases_come_out_upper_case_and_n_is_counted(
    chrm_genome, chrm_genes, chrm_text: str
) -> None:
    # MT-RNR2 (GTF 1671-3229) holds soft-masked 2589-2744 and rCRS's N at 3107 (1-based).
    rnr2 = _one(
        extract_gene_sequences(chrm_genome, select_genes(chrm_genes, ["MT-RNR2"], None), RegionSpec()),
        "MT-RNR2",
    )
    assert any(base.islower() for base in chrm_text[1670:3229])
    assert rnr2["sequence"] == chrm_text[1670:3229].upper()
    assert (rnr2["n_count"], rnr2["iupac_count"], rnr2["all_n"]) == (1, 0, False)
    assert rnr2["sequence"][3106 - 1670] == "N"


def test_promoters_on_both_strands(chrm_genome, chrm_genes, chrm_text: str) -> None:
    spec = RegionSpec("promoter", upstream=2000, downstream=500)
    table = extract_gene_sequences(chrm_genome, select_genes(chrm_genes, ["MT-CO1", "MT-ND6"], None), spec)
    co1, nd6 = _one(table, "MT-CO1"), _one(table, "MT-ND6")
    assert (co1["start"], co1["end"]) == (3903, 6403)  # TSS 5903 - 2000, + 500
    assert co1["sequence"] == chrm_text[3903:6403].upper()
    # TSS 14672 (last base on -): [14672 + 1 - 500, 14672 + 1 + 2000) clipped to chrM's 16,569 bp
    assert (nd6["start"], nd6["end"]) == (14173, 16569)
    assert nd6["sequence"] == revcomp(chrm_text[14173:16569]).upper()
    assert nd6["sequence"][2396 - 500 :].startswith("ATG")  # 500 bases from the end: the TSS


@pytest.mark.parametrize("strand", ["+", "-"])
def test_multi_exon_splicing_order(tmp_path: Path, chrm_genome, chrm_text: str, strand: str) -> None:
    path = tmp_path / "syn.gtf"
    path.write_text(SPLICED_GTF.format(strand=strand))
    spliced = chrm_text[100:110] + chrm_text[200:210] + chrm_text[300:305]  # 302..304 soft-masked
    expected = spliced.upper() if strand == "+" else revcomp(spliced).upper()
    exons = extract_gene_sequences(chrm_genome, read_gtf(path), RegionSpec("exons")).iloc[0]
    assert exons["sequence"] == expected
    assert (exons["start"], exons["end"], exons["length"]) == (100, 305, 25)
    body = extract_gene_sequences(chrm_genome, read_gtf(path), RegionSpec()).iloc[0]
    assert body["length"] == 205  # the derived gene spans the introns


def test_myt1l_bed12_on_the_bgzipped_chr2_segment(tmp_path: Path, chr2_text: str) -> None:
    bed = tmp_path / "myt1l.bed"
    bed.write_text(MYT1L_BED.read_text().splitlines()[0] + "\n")  # the MANE transcript line
    fields = MYT1L_BED.read_text().splitlines()[0].split("\t")
    start = int(fields[1])
    blocks = [
        (start + int(o), start + int(o) + int(s))
        for o, s in zip(fields[11].rstrip(",").split(","), fields[10].rstrip(",").split(","), strict=True)
    ]
    thick = (int(fields[6]), int(fields[7]))
    with ReferenceGenome(CHR2_FASTA) as genome:
        exons = extract_gene_sequences(genome, read_bed12(bed), RegionSpec("exons")).iloc[0]
        cds = extract_gene_sequences(genome, read_bed12(bed), RegionSpec("cds")).iloc[0]
    assert exons["sequence"] == revcomp("".join(chr2_text[a:b] for a, b in blocks)).upper()
    coding = "".join(
        chr2_text[max(a, thick[0]) : min(b, thick[1])]
        for a, b in blocks
        if max(a, thick[0]) < min(b, thick[1])
    )
    assert cds["sequence"] == revcomp(coding).upper()
    # PROVENANCE: MYT1L ENST00000647738.2 (-) has start codon ATG and stop codon TGA.
    assert cds["sequence"][:3] == "ATG" and cds["sequence"][-3:] == "TGA"
    assert cds["length"] % 3 == 0 and (cds["start"], cds["end"]) == thick


def test_all_n_gene_is_kept_and_warned(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "gap.gtf"  # hg38 chr2 starts with 10,000 N
    path.write_text('chr2\tt\tgene\t1\t5000\t.\t+\t.\tgene_id "GAP1"; gene_name "GAPGENE";\n')
    with ReferenceGenome(CHR2_FASTA) as genome, caplog.at_level(logging.WARNING):
        row = extract_gene_sequences(genome, read_gtf(path), RegionSpec()).iloc[0]
    assert (row["all_n"], row["n_count"], row["length"]) == (True, 5000, 5000)
    assert "genes that are all N in the reference (kept with all_n=True): GAPGENE (GAP1)" in caplog.text


def test_unmatched_contigs_are_listed_together(tmp_path: Path, chrm_genome) -> None:
    path = tmp_path / "other.gtf"
    path.write_text(
        'chr17\tt\tgene\t1\t50\t.\t+\t.\tgene_id "A";\n'
        'MT\tt\tgene\t1\t50\t.\t+\t.\tgene_id "B";\n'
        'chrUn_x\tt\tgene\t1\t50\t.\t+\t.\tgene_id "C";\n'
    )
    with pytest.raises(
        ContigNotFoundError, match=r"^chr17, chrUn_x not in .*chrM.fa \(contigs: chrM\)\..*--contig-aliases"
    ):
        extract_gene_sequences(chrm_genome, read_gtf(path), RegionSpec())


def test_zero_length_region_names_the_gene(chrm_genome, chrm_genes) -> None:
    genes = select_genes(chrm_genes, ["MT-TF"], None)
    genes.loc[0, "end"] = genes.loc[0, "start"]
    with pytest.raises(
        SequenceError, match=r"gene MT-TF \(ENSG00000210049\): region 'gene_body' has zero length"
    ):
        extract_gene_sequences(chrm_genome, genes, RegionSpec())


def test_gene_beyond_the_contig_end_names_the_gene(tmp_path: Path, chrm_genome) -> None:
    path = tmp_path / "hg19.gtf"  # e.g. an annotation of another assembly
    path.write_text('MT\tt\tgene\t16000\t17000\t.\t+\t.\tgene_id "FAR"; gene_name "FARGENE";\n')
    with pytest.raises(CoordinateError, match=r"^gene FARGENE \(FAR\): chrM:15999-17000 .* is outside chrM"):
        extract_gene_sequences(chrm_genome, read_gtf(path), RegionSpec())


def test_cds_skips_non_coding_genes_with_a_warning(chrm_genome, chrm_genes, caplog) -> None:
    genes = select_genes(chrm_genes, ["MT-TF", "MT-ND6", "MT-RNR1"], None)
    with caplog.at_level(logging.WARNING):
        table = extract_gene_sequences(chrm_genome, genes, RegionSpec("cds"))
    assert table["gene_name"].tolist() == ["MT-ND6"]
    assert "skipping 2 genes without CDS (region 'cds'): MT-TF (ENSG00000210049), MT-RNR1" in caplog.text
    with pytest.raises(SequenceError, match="none of the 1 genes has a CDS"):
        extract_gene_sequences(chrm_genome, select_genes(chrm_genes, ["MT-TF"], None), RegionSpec("cds"))


def test_iupac_codes_and_bad_characters_in_the_reference(tmp_path: Path, chrm_text: str, chrm_genes) -> None:
    def write(text: str) -> Path:
        path = tmp_path / f"ref{len(list(tmp_path.iterdir()))}.fa"
        path.write_text(">chrM\n" + "\n".join(text[i : i + 60] for i in range(0, len(text), 60)) + "\n")
        return path

    edited = chrm_text[:14200] + "R" + chrm_text[14201:]  # inside MT-ND6 (-)
    genes = select_genes(chrm_genes, ["MT-ND6"], None)
    with ReferenceGenome(write(edited)) as genome:
        row = extract_gene_sequences(genome, genes, RegionSpec()).iloc[0]
    assert (row["iupac_count"], row["n_count"]) == (1, 0)
    assert row["sequence"][14672 - 14200] == "Y"  # R's complement, at its mirrored offset
    with ReferenceGenome(write(chrm_text[:14200] + "X" + chrm_text[14201:])) as genome:
        with pytest.raises(SequenceError, match=r"gene MT-ND6 \(ENSG00000198695\) in .*: .*\['X'\]"):
            extract_gene_sequences(genome, genes, RegionSpec())


def test_empty_gene_table_gives_an_empty_typed_table(chrm_genome, chrm_genes) -> None:
    table = extract_gene_sequences(chrm_genome, chrm_genes.iloc[:0], RegionSpec())
    assert list(table.columns) == list(SEQUENCE_COLUMNS) and table.empty
    assert (str(table["start"].dtype), str(table["all_n"].dtype)) == ("int64", "bool")


def test_gene_table_without_required_columns(chrm_genome, chrm_genes) -> None:
    with pytest.raises(ConfigError, match=r"gene table lacks columns \['exons', 'tss'\]"):
        extract_gene_sequences(chrm_genome, chrm_genes.drop(columns=["exons", "tss"]), RegionSpec())
