"""Dinucleotide shuffles keep composition exactly; k-mer vectors equal a hand count."""

from __future__ import annotations

from collections import Counter
from itertools import product

import numpy as np
import pytest

from neuro_omics_assets.cross_species.composition import dinucleotide_shuffle, kmer_vectors
from neuro_omics_assets.errors import ConfigError, SequenceError


def _dinucleotides(sequence: str) -> Counter:
    return Counter(sequence[i:i + 2] for i in range(len(sequence) - 1))


def test_shuffles_of_real_genes_keep_dinucleotides_and_ends_and_change_the_order(human) -> None:
    rng = np.random.default_rng(0)
    for sequence in human["sequence"]:
        shuffled = dinucleotide_shuffle(sequence, rng)
        assert _dinucleotides(shuffled) == _dinucleotides(sequence)
        assert (shuffled[0], shuffled[-1], len(shuffled)) == (sequence[0], sequence[-1], len(sequence))
    co1 = human.set_index("gene_name").loc["MT-CO1", "sequence"]
    shuffled = dinucleotide_shuffle(co1, rng)
    identity = np.mean(np.frombuffer(co1.encode(), np.uint8) == np.frombuffer(shuffled.encode(), np.uint8))
    assert identity < 0.4  # about the chance identity of two sequences of this composition (~0.27)


def test_shuffles_are_seeded_and_uniform_over_the_sequences_with_the_same_dinucleotides() -> None:
    sequence = "AACGTTACA"
    first = [dinucleotide_shuffle(sequence, np.random.default_rng(7)) for _ in range(2)]
    assert first[0] == first[1]
    # Every sequence with the same dinucleotide counts and first letter, by brute force: each is the read-out
    # of the same number of Eulerian walks (the product of the factorials of the edge multiplicities), so a
    # uniform walk reaches each about equally often.
    rng = np.random.default_rng(1)
    draws = Counter(dinucleotide_shuffle(sequence, rng) for _ in range(4000))
    target = _dinucleotides(sequence)
    possible = {s for s in ("".join(p) for p in product("ACGT", repeat=len(sequence)))
                if s[0] == sequence[0] and _dinucleotides(s) == target}
    assert len(possible) > 3 and set(draws) == possible
    counts = np.array([draws[s] for s in sorted(possible)])
    assert counts.min() > 0.7 * counts.mean() and counts.max() < 1.3 * counts.mean()


@pytest.mark.parametrize("sequence", ["", "A", "AC", "AAAAA", "ANNA"])  # too short, one letter, other letters
def test_degenerate_sequences(sequence: str) -> None:
    shuffled = dinucleotide_shuffle(sequence, np.random.default_rng(0))
    assert _dinucleotides(shuffled) == _dinucleotides(sequence) and sorted(shuffled) == sorted(sequence)


def test_kmer_vectors_equal_a_hand_count_over_both_strands(human) -> None:
    sequences = human["sequence"].head(5).tolist() + ["ACGTNNACG"]
    vectors = kmer_vectors(sequences, 3)
    kmers = ["".join(p) for p in product("ACGT", repeat=3)]
    complement = str.maketrans("ACGT", "TGCA")
    for row, sequence in zip(vectors, sequences, strict=True):
        both = sequence + "|" + sequence.translate(complement)[::-1]
        counts = Counter(both[i:i + 3] for i in range(len(both) - 2))
        expected = np.array([counts[k] for k in kmers], dtype=float)
        np.testing.assert_allclose(row, expected / expected.sum(), rtol=1e-12)
    assert vectors.shape == (6, 64)


def test_kmer_vectors_refuse_a_sequence_without_kmers_and_a_bad_k() -> None:
    with pytest.raises(SequenceError, match="sequence MT-X has no complete A/C/G/T 3-mer"):
        kmer_vectors(["ACGT", "NNNN"], 3, ["MT-Y", "MT-X"])
    with pytest.raises(ConfigError, match="k-mer length 0 must be an integer from 1 to 8"):
        kmer_vectors(["ACGT"], 0)
