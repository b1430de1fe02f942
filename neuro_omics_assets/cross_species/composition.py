"""Composition-only controls: dinucleotide-preserving shuffles and k-mer composition vectors.

* ``dinucleotide_shuffle`` is the Altschul–Erickson shuffle (Altschul & Erickson 1985, Mol. Biol. Evol.
  2:526) by a random Eulerian walk (Kandel et al. 1996, Discrete Appl. Math. 71:171): the sequence is
  a walk on the graph whose vertices are its letters and whose edges are its dinucleotides; a random
  arborescence of "last exits" into the final letter is drawn (uniformly, by rejection), the other exits
  of each letter are put in random order, and the walk from the first letter is read off. The result has
  exactly the same dinucleotide counts (hence the same base counts), first and last letter, and is a
  uniform draw among all such sequences' edge orderings.
* ``kmer_vectors``: the frequency of every k-mer on both strands (each sequence's k-mers plus its reverse
  complement's, over A/C/G/T only), like the strand-averaged model vectors; no model involved.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neuro_omics_assets.errors import ConfigError, SequenceError
from neuro_omics_assets.genome.sequence import reverse_complement

_CODES = np.full(256, -1, dtype=np.int64)
for _i, _base in enumerate("ACGT"):
    _CODES[ord(_base)] = _i


def dinucleotide_shuffle(sequence: str, rng: np.random.Generator) -> str:
    """A random sequence with ``sequence``'s dinucleotide counts, first and last letter (see the module doc)."""
    if len(sequence) < 3:
        return sequence
    exits: dict[str, list[str]] = {}
    for left, right in zip(sequence, sequence[1:], strict=False):
        exits.setdefault(left, []).append(right)
    end = sequence[-1]
    last_exit = _last_exits(exits, end, rng)
    order: dict[str, list[str]] = {}
    for letter, targets in exits.items():
        targets = list(targets)
        kept = targets.pop(last_exit[letter]) if letter in last_exit else None
        order[letter] = [targets[i] for i in rng.permutation(len(targets))] + ([kept] if kept is not None else [])
    walk, position = [sequence[0]], dict.fromkeys(order, 0)
    for _ in range(len(sequence) - 1):
        current = walk[-1]
        walk.append(order[current][position[current]])
        position[current] += 1
    return "".join(walk)


def _last_exits(exits: dict[str, list[str]], end: str, rng: np.random.Generator) -> dict[str, int]:
    """For every letter but ``end``: the index of its last exit, such that last exits lead every letter to
    ``end`` (an arborescence); drawn uniformly over exits and redrawn until they form one."""
    letters = [letter for letter in exits if letter != end]
    while True:
        choice = {letter: int(rng.integers(len(exits[letter]))) for letter in letters}
        if all(_reaches(letter, end, exits, choice) for letter in letters):
            return choice


def _reaches(letter: str, end: str, exits: dict[str, list[str]], choice: dict[str, int]) -> bool:
    seen = set()
    while letter != end:
        if letter in seen:
            return False
        seen.add(letter)
        letter = exits[letter][choice[letter]]
    return True


def kmer_vectors(sequences: Sequence[str], k: int, ids: Sequence[str] | None = None) -> np.ndarray:
    """float64 (n, 4**k): row i the frequencies (summing to 1) of the k-mers of sequence i and of its reverse
    complement, columns in lexicographic order of ACGT k-mers; k-mers with another letter are skipped.
    ``SequenceError`` (naming ``ids[i]``) for a sequence without one complete A/C/G/T k-mer."""
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 8:
        raise ConfigError(f"k-mer length {k!r} must be an integer from 1 to 8 (3 gives 64 columns).")
    out = np.zeros((len(sequences), 4**k), dtype=np.float64)
    for row, sequence in enumerate(sequences):
        for strand in (sequence.upper(), reverse_complement(sequence.upper())):
            out[row] += np.bincount(_kmer_codes(strand, k), minlength=4**k)
        total = out[row].sum()
        if total == 0:
            name = ids[row] if ids is not None else f"#{row}"
            raise SequenceError(f"sequence {name} has no complete A/C/G/T {k}-mer; drop it or use a smaller k.")
        out[row] /= total
    return out


def _kmer_codes(sequence: str, k: int) -> np.ndarray:
    """The index (base-4 number, A=0 ... T=3) of every k-mer of ``sequence`` made only of A/C/G/T."""
    codes = _CODES[np.frombuffer(sequence.encode("ascii"), dtype=np.uint8)]
    if len(codes) < k:
        return np.empty(0, dtype=np.int64)
    windows = np.lib.stride_tricks.sliding_window_view(codes, k)
    valid = (windows >= 0).all(axis=1)
    return (windows[valid] * 4 ** np.arange(k - 1, -1, -1)).sum(axis=1)
