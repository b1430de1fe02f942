from __future__ import annotations

import hashlib
import random
import re

import numpy as np
import pytest

from neuro_omics_assets.embedding.windows import (
    WINDOW_ALGORITHM,
    WindowSpec,
    cut_windows,
    normalise_sequence,
    tokenize_windows,
)
from neuro_omics_assets.errors import ConfigError, SequenceError
from neuro_omics_assets.genome.sequence import reverse_complement
from neuro_omics_assets.models import TokenizedSequence
from neuro_omics_assets.models.dnabert2 import DnaBert2Tokenizer


def _segment(rng: random.Random) -> str:
    """One stretch of a test sequence, of a kind that stresses BPE differently."""
    kind = rng.choice(["random", "n_run", "homopolymer", "repeat", "iupac", "lowercase"])
    length = rng.randint(1, 600)
    if kind == "random":
        return "".join(rng.choice("ACGT") for _ in range(length))
    if kind == "n_run":  # one [UNK] per base: a run longer than a window at small max_tokens
        return "N" * length
    if kind == "homopolymer":  # long merges: many bases per token
        return rng.choice("ACGT") * length
    if kind == "repeat":  # dinucleotide repeats have 32-base tokens
        return (rng.choice(["CA", "TG", "AT", "GC"]) * length)[:length]
    if kind == "iupac":
        return "".join(rng.choice("ACGTRYKMSWBDHVN") for _ in range(length))
    return "".join(rng.choice("acgtn") for _ in range(length))  # soft-masked; upper-cased below


def _random_sequence(seed: int) -> str:
    rng = random.Random(seed)
    raw = "".join(_segment(rng) for _ in range(rng.randint(1, 8)))
    return normalise_sequence(f"random{seed}", raw).sequence


def _assert_valid_cut(sequence: str, tokenizer: DnaBert2Tokenizer, spec: WindowSpec) -> None:
    windows = cut_windows(sequence, tokenizer, spec)
    assert [w.index for w in windows] == list(range(len(windows)))
    assert windows[0].start == 0 and windows[-1].end == len(sequence)
    for before, after in zip(windows, windows[1:], strict=False):
        assert before.end == after.start  # contiguous, no overlap: every base exactly once
    for w in windows:
        assert w.start < w.end
        forward = sequence[w.start : w.end]
        fwd, rc = tokenizer.encode([forward, reverse_complement(forward)])
        assert len(fwd.ids) <= spec.max_tokens and len(rc.ids) <= spec.max_tokens


@pytest.mark.parametrize("max_tokens", [8, 16, 64, 300])  # 8 = smallest allowed window
@pytest.mark.parametrize("seed", range(12))
def test_random_sequences_are_covered_once_and_every_window_fits(
    tokenizer: DnaBert2Tokenizer, seed: int, max_tokens: int
) -> None:
    _assert_valid_cut(_random_sequence(seed), tokenizer, WindowSpec(max_tokens=max_tokens))


@pytest.mark.parametrize(
    "sequence",
    [
        "A",  # 1 bp: one window of one base
        "ACGT" * 10 + "N" * 500 + "ACGT" * 10,  # N run far longer than a 16-token window
        "A" * 5000,  # homopolymer: few, long tokens
        "CA" * 2000,  # dinucleotide repeat
        "GATTACA" * 300,
    ],
)
def test_edge_case_sequences_are_covered_once_and_every_window_fits(
    tokenizer: DnaBert2Tokenizer, sequence: str
) -> None:
    _assert_valid_cut(sequence, tokenizer, WindowSpec(max_tokens=16))


def test_long_random_sequence_uses_nearly_full_windows(tokenizer: DnaBert2Tokenizer) -> None:
    rng = random.Random(7)
    sequence = "".join(rng.choice("ACGT") for _ in range(200_000))
    sequence = min(sequence, reverse_complement(sequence))  # the canonical orientation: cut from its start
    spec = WindowSpec(max_tokens=2048)  # DNABERT-2's default window
    windows = tokenize_windows(sequence, tokenizer, spec)
    assert sum(w.window.end - w.window.start for w in windows) == len(sequence)
    full = [len(w.forward.ids) for w in windows[:-1]]
    # 1/64 headroom for the reverse strand: every window but the last holds >= 98% of the budget
    assert min(full) >= 0.98 * spec.max_tokens
    assert max(max(len(w.forward.ids), len(w.reverse.ids)) for w in windows) <= spec.max_tokens
    assert 19 <= len(windows) <= 23  # ~4.5 bases per token: 200 kb / ~9.2 kb


def test_a_sequence_that_fits_is_one_window(tokenizer: DnaBert2Tokenizer) -> None:
    sequence = "ACGTAGCATCGGATCTATCTATCGACACTTGGTTATCGATCTACGAGCATCTCGTTAGC"  # 17 tokens
    windows = tokenize_windows(sequence, tokenizer, WindowSpec(max_tokens=64))
    assert [(w.window.start, w.window.end) for w in windows] == [(0, len(sequence))]
    assert windows[0].forward.ids.tolist() == tokenizer.encode([sequence])[0].ids.tolist()
    assert windows[0].reverse.ids.tolist() == tokenizer.encode([reverse_complement(sequence)])[0].ids.tolist()


def test_cut_is_deterministic(tokenizer: DnaBert2Tokenizer) -> None:
    sequence = _random_sequence(3) * 5
    spec = WindowSpec(max_tokens=32)
    assert cut_windows(sequence, tokenizer, spec) == cut_windows(sequence, tokenizer, spec)


def test_n_run_windows_hold_one_base_per_token(tokenizer: DnaBert2Tokenizer) -> None:
    windows = cut_windows("N" * 100, tokenizer, WindowSpec(max_tokens=8))
    # 6 [UNK] per window (8 minus [CLS]/[SEP]); the 1/64 headroom rounds down to 0 tokens
    assert [(w.start, w.end) for w in windows] == [(i, min(i + 6, 100)) for i in range(0, 100, 6)]


@pytest.mark.parametrize("max_tokens", [8, 16, 64])
@pytest.mark.parametrize("seed", range(6))
def test_reverse_complement_is_cut_at_mirrored_positions(
    tokenizer: DnaBert2Tokenizer, seed: int, max_tokens: int
) -> None:
    sequence = _random_sequence(seed)
    spec, n = WindowSpec(max_tokens=max_tokens), len(sequence)
    given = tokenize_windows(sequence, tokenizer, spec)
    flipped = tokenize_windows(reverse_complement(sequence), tokenizer, spec)
    mirrored = [(n - w.window.end, n - w.window.start) for w in reversed(flipped)]
    assert [(w.window.start, w.window.end) for w in given] == mirrored
    for mine, theirs in zip(given, reversed(flipped), strict=True):  # the same bases, strands swapped
        assert mine.forward.ids.tolist() == theirs.reverse.ids.tolist()
        assert mine.reverse.ids.tolist() == theirs.forward.ids.tolist()
    _assert_valid_cut(reverse_complement(sequence), tokenizer, spec)


def test_a_sequence_is_cut_from_the_start_of_its_canonical_orientation(tokenizer: DnaBert2Tokenizer) -> None:
    # 'T' + 99 N: its reverse complement (99 N + 'A') is lexicographically smaller, so that one is
    # cut from its start into 6-base windows ([UNK] per N, 8 tokens with [CLS]/[SEP]) and mirrored:
    # the short window lands at the 5' end of the sequence as given.
    windows = cut_windows("T" + "N" * 99, tokenizer, WindowSpec(max_tokens=8))
    assert [(w.start, w.end) for w in windows] == [(0, 4)] + [(i, i + 6) for i in range(4, 100, 6)]
    assert [w.index for w in windows] == list(range(17))
    windows = cut_windows("N" * 99 + "A", tokenizer, WindowSpec(max_tokens=8))  # canonical as given
    assert [(w.start, w.end) for w in windows] == [(i, min(i + 6, 100)) for i in range(0, 100, 6)]


def test_empty_sequence_is_rejected(tokenizer: DnaBert2Tokenizer) -> None:
    with pytest.raises(SequenceError, match="empty"):
        cut_windows("", tokenizer, WindowSpec(max_tokens=2048))


@pytest.mark.parametrize("max_tokens", [7, 0, -5, 2048.0, True])  # too small, or not an int
def test_window_spec_rejects_bad_max_tokens(max_tokens: object) -> None:
    with pytest.raises(ConfigError, match="max_tokens"):
        WindowSpec(max_tokens=max_tokens)  # type: ignore[arg-type]


def test_the_window_algorithm_is_named_for_the_identity() -> None:
    # part of every embedding identity and cache key: renamed whenever the cut changes
    assert WINDOW_ALGORITHM == "bpe-piece-shrink-canonical-v3"


def test_normalise_upper_cases_and_counts_ambiguity_codes() -> None:
    record = normalise_sequence("g1", "acgtNNryACGT")
    assert record.sequence == "ACGTNNRYACGT"
    assert (record.n_count, record.iupac_count) == (2, 2)
    assert record.sha256 == hashlib.sha256(b"ACGTNNRYACGT").hexdigest()  # of the normalised sequence


def test_normalise_names_id_and_position_of_a_bad_character() -> None:
    with pytest.raises(SequenceError, match=r"'gene7' holds 'X' at 0-based position 5 of 8"):
        normalise_sequence("gene7", "ACGTAXGT")


@pytest.mark.parametrize("blank", ["\n", " ", "\t", "\r"])
def test_normalise_rejects_whitespace_inside_a_sequence(blank: str) -> None:
    with pytest.raises(
        SequenceError, match=r"'gene8' holds whitespace .* at 0-based position 3 .*line breaks"
    ):
        normalise_sequence("gene8", f"ACG{blank}TACG")


def test_normalise_rejects_non_ascii_letters_that_case_fold_to_dna() -> None:
    # U+212A KELVIN SIGN folds to 'k' in Unicode; it is not DNA
    with pytest.raises(SequenceError, match="position 2"):
        normalise_sequence("gene9", "AC\u212aGT")


def test_normalise_rejects_empty_sequence_with_its_id() -> None:
    with pytest.raises(SequenceError, match="'gene10' is empty"):
        normalise_sequence("gene10", "")


class _AsymmetricTokenizer:
    """A toy tokenizer: runs of up to 10 'A' are one token, every other base is its own token, so a
    window of A's is 1 token forward but one token per base on the reverse strand (T's)."""

    special_tokens = 2  # [CLS] and [SEP], as DNABERT-2
    one_token_per_base = False

    def encode(self, sequences: list[str]) -> list[TokenizedSequence]:
        out = []
        for sequence in sequences:
            lengths = [len(m.group()) for m in re.finditer(r"A{1,10}|[^A]", sequence)]
            ids = np.arange(len(lengths) + 2, dtype=np.int64)
            out.append(TokenizedSequence(ids, np.array([0, *lengths, 0], dtype=np.int32)))
        return out


def test_window_is_split_below_one_token_when_its_reverse_strand_does_not_fit() -> None:
    sequence = "A" * 10 + "CG" + "A" * 3
    windows = cut_windows(sequence, _AsymmetricTokenizer(), WindowSpec(max_tokens=8))
    # [0, 10) is one forward token but ten reverse tokens: only 6 bases fit on the reverse strand.
    # Then [6, 15) is 9 reverse tokens + 2 (3 too many): shrinking by 3 forward tokens leaves [6, 10).
    assert [(w.start, w.end) for w in windows] == [(0, 6), (6, 10), (10, 15)]
