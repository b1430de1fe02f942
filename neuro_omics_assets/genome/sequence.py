"""DNA sequence helpers shared by every layer: the IUPAC alphabet, reverse complement, base counts
and checksums.

Sequences are plain ``str``. Upper and lower case are both accepted (lower case marks soft-masked
repeats in UCSC/Ensembl FASTA); characters outside the IUPAC DNA alphabet raise ``SequenceError``.
"""

from __future__ import annotations

import hashlib

from neuro_omics_assets.errors import SequenceError

#: The IUPAC nucleotide codes for DNA, upper case. ``N`` is any base; the others are ambiguity codes.
IUPAC_DNA: frozenset[str] = frozenset("ACGTRYSWKMBDHVN")

#: Ambiguity codes other than ``N`` (counted as ``iupac_count``).
IUPAC_AMBIGUOUS: frozenset[str] = IUPAC_DNA - frozenset("ACGTN")

# Complement pairs: A<->T, C<->G, R<->Y, K<->M, B<->V, D<->H; S, W and N are their own complement.
_FORWARD = "ACGTRYKMBVDHSWN"
_COMPLEMENT = str.maketrans(_FORWARD + _FORWARD.lower(), "TGCAYRMKVBHDSWN" + "TGCAYRMKVBHDSWN".lower())
# Deleting every valid character leaves only the invalid ones.
_DELETE_VALID = str.maketrans("", "", _FORWARD + _FORWARD.lower())



def invalid_characters(seq: str) -> list[str]:
    """Return the distinct characters of ``seq`` outside the IUPAC DNA alphabet (either case), sorted."""
    return sorted(set(seq.translate(_DELETE_VALID)))


def _require_iupac(seq: str) -> None:
    bad = invalid_characters(seq)
    if bad:
        first = min(seq.index(c) for c in bad)
        raise SequenceError(
            f"sequence holds characters outside the IUPAC DNA alphabet: {bad!r} (first at 0-based "
            f"offset {first} of {len(seq)}). Use a DNA FASTA (not protein or an alignment with gaps) "
            f"or replace those characters with N."
        )


def reverse_complement(seq: str) -> str:
    """Return the reverse complement of ``seq``, IUPAC-aware and case-preserving.

    R<->Y, K<->M, B<->V, D<->H swap; S, W and N map to themselves.
    Raises ``SequenceError`` if ``seq`` holds a character outside the IUPAC DNA alphabet.
    """
    _require_iupac(seq)
    return seq.translate(_COMPLEMENT)[::-1]


def count_bases(seq: str) -> tuple[int, int]:
    """Return ``(n_count, iupac_count)`` for ``seq``, case-insensitively.

    ``n_count`` counts ``N``/``n``; ``iupac_count`` counts the other ambiguity codes (R, Y, S, W, K,
    M, B, D, H, V). Raises ``SequenceError`` for characters outside the IUPAC DNA alphabet.
    """
    _require_iupac(seq)
    upper = seq.upper()
    n_count = upper.count("N")
    acgt = sum(upper.count(base) for base in "ACGT")
    return n_count, len(upper) - acgt - n_count


def sha256_hex(seq: str) -> str:
    """Return the SHA-256 hex digest of ``seq`` encoded as UTF-8 (the content address of a sequence)."""
    return hashlib.sha256(seq.encode("utf-8")).hexdigest()

