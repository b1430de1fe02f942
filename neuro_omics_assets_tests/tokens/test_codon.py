"""tokens/codon.py: codon phases of token boundaries, the frame, and the mitochondrial code path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuro_omics_assets.genome.annotation import select_genes
from neuro_omics_assets.genome.fasta import ReferenceGenome
from neuro_omics_assets.genome.gff3 import cds_start_phases, read_annotation
from neuro_omics_assets.tokens.analysis import TokenAnalysisSpec, codon_frame, region_tokens
from neuro_omics_assets.tokens.codon import (
    CodingFrame,
    boundary_phase_counts,
    codon_check,
    codon_frame_tables,
)
from neuro_omics_assets.tokens.vocabulary import token_lengths
from neuro_omics_assets_tests.genome.realdata import CHRM_FASTA, CHRM_GTF

# Token lengths 3,3,4,2,5,1,6 (24 bases): boundaries at 3,6,10,12,17,18.
LENGTHS = np.array([3, 3, 4, 2, 5, 1, 6])


@pytest.mark.parametrize(
    "phase, expected",
    [
        (0, [4, 1, 1]),  # 3,6,12,18 between codons; 10 after a first base; 17 after a second
        (1, [1, 1, 4]),  # frame starts at 1, 7 codons to 22 (2 bases dropped): (p - 1) % 3 = 2,2,0,2,1,2
    ],
)
def test_hand_built_cds_gives_the_known_phase_counts(phase, expected):
    assert boundary_phase_counts(LENGTHS, CodingFrame.of(24, phase)).tolist() == expected


def test_known_tokens_through_the_table_builder(vocabulary):
    by_length = {n: int(vocabulary.loc[(~vocabulary["special"]) & (vocabulary["length"] == n), "token_id"].iat[0])
                 for n in set(LENGTHS)}
    ids = np.array([by_length[n] for n in LENGTHS], dtype=np.int64)
    rows = pd.DataFrame([{"gene_id": "G", "gene_name": "g", "transcript_id": "T", "contig": "chr1", "cds_phase": 0,
                          "token_ids": ids}])
    strings = vocabulary["token"].to_numpy().astype(str)
    frame, splitting = codon_frame_tables(rows, strings, token_lengths(vocabulary), n_shuffles=50, seed=1)
    gene, pooled = frame.iloc[0], frame.iloc[1]
    assert [gene["phase0"], gene["phase1"], gene["phase2"]] == [4, 1, 1] == [pooled["phase0"], pooled["phase1"], pooled["phase2"]]
    assert gene["n_codons"] == 8 and gene["dropped_bases"] == 0 and gene["genetic_code"] == 1
    # Tokens 3 (len 4: 6->10), 4 (len 2: 10->12), 5 (len 5: 12->17), 6 (len 1: 17->18) split a codon.
    assert splitting["splitting"].sum() == 4 and splitting["occurrences"].sum() == 7
    assert 0 < gene["shuffle_p"] <= 1 and (frame["null_low0"] <= frame["null_high0"]).all()


def test_mitochondrial_code_drops_the_incomplete_stop_of_mt_nd1():
    genes = select_genes(read_annotation(CHRM_GTF), ["MT-ND1", "MT-CO1"])
    from neuro_omics_assets.models.dnabert2.demo import PACKAGED_TOKENIZER_DIR
    from neuro_omics_assets.models.dnabert2.tokenizer import DnaBert2Tokenizer
    from neuro_omics_assets.tokens.vocabulary import vocabulary_table

    tokenizer_json = PACKAGED_TOKENIZER_DIR / "tokenizer.json"
    spec = TokenAnalysisSpec(n_shuffles=20)
    with ReferenceGenome(CHRM_FASTA) as genome:
        tokenized = region_tokens(genome, genes, DnaBert2Tokenizer(tokenizer_json), cds_start_phases(CHRM_GTF), spec)
    frame, _ = codon_frame(tokenized, vocabulary_table(tokenizer_json), spec)
    nd1 = frame.set_index("gene_name").loc["MT-ND1"]
    # CDS chrM:3307-4262 is 956 bp = 318 codons + "TA" (TAA completed by polyadenylation).
    assert (nd1["cds_length"], nd1["n_codons"], nd1["dropped_bases"]) == (956, 318, 2)
    assert (nd1["genetic_code"], nd1["start_codon"], nd1["start_valid"], nd1["internal_stops"]) == (2, "ATA", True, 0)


def test_standard_code_misreads_mitochondrial_cds():
    fasta = "".join(CHRM_FASTA.read_text().splitlines()[1:]).upper()
    nd1 = fasta[3306:4262]  # GTF 3307-4262, 1-based closed
    frame = CodingFrame.of(len(nd1), 0)
    assert codon_check(nd1, frame, 2) == {"start_codon": "ATA", "start_valid": True, "internal_stops": 0,
                                          "terminal_stop": False}
    standard = codon_check(nd1, frame, 1)
    assert not standard["start_valid"] and standard["internal_stops"] == sum(
        nd1[i : i + 3] in ("TAA", "TAG", "TGA") for i in range(0, 3 * 317, 3)) > 0


def test_gencode_phase_sets_the_frame_of_5_prime_incomplete_brca1_transcripts(tmp_path):
    from neuro_omics_assets_tests.genome.realdata import REAL, revcomp

    gff3 = REAL / "brca1" / "brca1_gencodev19.gff3"
    phases = cds_start_phases(gff3)
    incomplete = sorted(t for t, phase in phases.items() if phase)
    assert incomplete == ["ENST00000412061", "ENST00000461574", "ENST00000473961"]
    # ref_brca1.fa lacks the first annotated base (PROVENANCE.md): "N" + its text puts GFF3 positions right.
    lines = (REAL / "brca1" / "ref_brca1.fa").read_text().splitlines()
    genome = "N" + "".join(lines[1:]).upper()
    for transcript in incomplete:
        blocks = sorted((int(f[3]), int(f[4])) for f in (line.split("\t") for line in gff3.read_text().splitlines())
                        if len(f) == 9 and f[2] == "CDS" and f"Parent={transcript}." in f[8])
        cds = revcomp("".join(genome[start - 1 : end] for start, end in blocks))  # BRCA1 is on the minus strand
        in_frame = codon_check(cds, CodingFrame.of(len(cds), phases[transcript]), 1)
        assert in_frame["internal_stops"] == 0, transcript
        shifted = [codon_check(cds, CodingFrame.of(len(cds), p), 1)["internal_stops"] for p in range(3)]
        assert sum(stops > 0 for stops in shifted) == 2, (transcript, shifted)  # the other two frames hit stops
