"""genome/sequence.py: IUPAC reverse complement, base counts, checksums."""

from __future__ import annotations

import pytest

from neuro_omics_assets.errors import SequenceError
from neuro_omics_assets.genome.sequence import (
    IUPAC_AMBIGUOUS,
    IUPAC_DNA,
    count_bases,
    invalid_characters,
    reverse_complement,
    sha256_hex,
)


@pytest.mark.parametrize(
    ("seq", "expected"),
    [
        ("ATGC", "GCAT"),  # plain bases
        ("AAACCC", "GGGTTT"),  # reversal, not only complement
        ("RYKMBVDH", "DHBVKMRY"),  # ambiguity codes swap pairwise: R<->Y, K<->M, B<->V, D<->H
        ("SWN", "NWS"),  # S, W and N are their own complement
        ("acgTn", "nAcgt"),  # soft-masked lower case stays lower case
        ("", ""),  # empty stays empty
    ],
)
def test_reverse_complement(seq: str, expected: str) -> None:
    assert reverse_complement(seq) == expected


def test_reverse_complement_is_an_involution_over_the_alphabet() -> None:
    alphabet = "".join(sorted(IUPAC_DNA))
    assert reverse_complement(reverse_complement(alphabet)) == alphabet
    assert len(IUPAC_DNA) == 15 and IUPAC_AMBIGUOUS == frozenset("RYSWKMBDHV")


@pytest.mark.parametrize("bad", ["ACGU", "AC-GT", "ACGX", "ACG T"])
def test_reverse_complement_rejects_non_iupac(bad: str) -> None:
    with pytest.raises(SequenceError, match="outside the IUPAC DNA alphabet") as info:
        reverse_complement(bad)
    assert f"first at 0-based offset {bad.index(invalid_characters(bad)[0])}" in str(info.value)


def test_count_bases_counts_n_and_other_codes_case_insensitively() -> None:
    assert count_bases("ACGTNNnRyswkmbdhv") == (3, 10)
    assert count_bases("acgt") == (0, 0)
    assert count_bases("") == (0, 0)


def test_count_bases_rejects_non_iupac() -> None:
    with pytest.raises(SequenceError, match=r"\['\*'\]"):
        count_bases("ACG*")


def test_sha256_hex_of_known_strings() -> None:
    assert sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
