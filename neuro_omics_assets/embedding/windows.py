"""Normalise a DNA sequence and cut it into token-bounded windows in its own coordinates.

A window is a 0-based half-open base span ``[start, end)`` of the normalised sequence. The windows
of a sequence are contiguous, do not overlap and cover every base exactly once. The forward
sequence of each window **and** its reverse complement each tokenize to at most
``WindowSpec.max_tokens`` tokens, the tokenizer's special tokens included (DNABERT-2 ``[CLS]`` and
``[SEP]``, Caduceus ``[SEP]``); nothing is ever truncated.

How the cut is found: BPE cost grows with the length of a "word", and a whole gene is one word for
the Whitespace pre-tokenizer, so the cutter never tokenizes a whole gene at once. It tokenizes
pieces of about four windows' worth of bases (doubled while a low-complexity piece holds less than
a window) and proposes, from the current start, the token end that fills the window less a 1/64
headroom. BPE of a substring can differ from the slice of a longer tokenization, so each proposed
window is tokenized again, forward and reverse complement, and shrunk by the excess until both
strands fit (below one token if needed). A character tokenizer (``one_token_per_base``) tokenizes
both strands to the same length, so its windows take the whole budget (``max_tokens`` less the special
tokens, in bases) without headroom. The cut depends only on the sequence, the tokenizer, the
``WindowSpec`` and ``WINDOW_ALGORITHM`` (recorded in cache keys), never on batching.

Strand symmetry: the cut is made on the sequence's canonical orientation, the lexicographically
smaller of the sequence and its reverse complement, and mirrored onto the sequence when it is given
as the other one. So a locus read from either strand is cut at the same genomic positions: the
windows of ``reverse_complement(s)`` are the mirror images of the windows of ``s`` (window ``i`` of
``n`` spans ``[L - end, L - start)`` of window ``n - 1 - i``), with forward and reverse tokenizations
swapped, and an RC-averaged vector does not depend on the strand a gene is annotated on. The
orientation is decided by the first position where the sequence and its reverse complement differ
(usually its first base against the complement of its last), so a variant there can flip it. Each
``TokenizedWindow`` says which of its two tokenizations reads the canonical orientation
(``canonical``): an RC-equivariant encoder runs that one only, so a sequence and its reverse
complement feed the model the very same windows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from neuro_omics_assets.errors import ConfigError, SequenceError, TokenizerError
from neuro_omics_assets.genome.sequence import IUPAC_DNA, count_bases, reverse_complement, sha256_hex
from neuro_omics_assets.models import SequenceTokenizer, TokenizedSequence

#: Names the cutting procedure below; part of every cache key, so change it when the cut changes.
#: v3: special tokens per window from the tokenizer; no headroom for character tokenizers.
WINDOW_ALGORITHM = "bpe-piece-shrink-canonical-v3"

# Random DNA averages ~4.5 bases per token; 6 bases per token of budget lets a piece usually hold
# _PIECE_WINDOWS full windows, and low-complexity pieces are doubled until they hold one.
_PIECE_BASES_PER_TOKEN = 6
# BPE time per base grows with the piece length (0.25 us/base at 20 kb, 0.4 at 250 kb), while each
# piece costs a call: four windows per piece (~50 kb by default) balances the two.
_PIECE_WINDOWS = 4
# The reverse complement of a window often tokenizes to a few more tokens than its forward strand
# (+-20 on 2,046-token windows of random DNA), and each retry re-tokenizes both strands; proposing
# 1/64 fewer tokens than fit makes retries rare at a cost of ~1.5% more windows.
_HEADROOM_DIVISOR = 64
# A piece must hold this many tokens beyond the budget, so that its own cut end (where BPE may
# merge differently) is never the proposed window end.
_PIECE_MARGIN_TOKENS = 16
_NOT_IUPAC = re.compile(f"[^{''.join(sorted(IUPAC_DNA))}]", re.IGNORECASE | re.ASCII)


@dataclass(frozen=True)
class WindowSpec:
    """How sequences are cut into windows; part of an embedding's identity (and of its cache key).

    ``max_tokens``: tokens per tokenized window, special tokens included. Each encoder family has its
    default (``EngineTraits.default_window_tokens``: DNABERT-2 2048, about 10 kb; Caduceus its trained length),
    which ``EmbeddingSpec(window=None)`` takes.
    """

    max_tokens: int

    def __post_init__(self) -> None:
        if isinstance(self.max_tokens, bool) or not isinstance(self.max_tokens, int) or self.max_tokens < 8:
            raise ConfigError(
                f"WindowSpec.max_tokens={self.max_tokens!r} is invalid: it must be an integer >= 8 "
                f"(special tokens + room for the longest tokens of either strand). Leave it unset for "
                f"the encoder's default (DNABERT-2: 2048) unless memory forces a smaller window."
            )


@dataclass(frozen=True)
class Window:
    """One window: ``index`` (0-based, in sequence order) and the base span ``[start, end)``."""

    index: int
    start: int
    end: int


@dataclass(frozen=True)
class TokenizedWindow:
    """A window with the tokenization of its forward sequence and of its reverse complement;
    ``mirrored``: the sequence's canonical orientation is its reverse complement (see the module docstring)."""

    window: Window
    forward: TokenizedSequence
    reverse: TokenizedSequence
    mirrored: bool = False

    @property
    def canonical(self) -> TokenizedSequence:
        """The tokenization that reads the window in the sequence's canonical orientation."""
        return self.reverse if self.mirrored else self.forward


@dataclass(frozen=True)
class NormalisedSequence:
    """A validated model input: ``sequence`` is upper-case IUPAC DNA; ``sha256`` its content address;
    ``n_count`` counts N, ``iupac_count`` the other ambiguity codes (R, Y, S, W, K, M, B, D, H, V)."""

    sequence_id: str
    sequence: str
    sha256: str
    n_count: int
    iupac_count: int


def normalise_sequence(sequence_id: str, sequence: str) -> NormalisedSequence:
    """Upper-case ``sequence`` (soft-masked lower case would otherwise become one [UNK] per base).

    N and the other IUPAC codes are kept (the tokenizer maps each to one [UNK]) and counted.
    Raises ``SequenceError`` naming ``sequence_id`` for an empty sequence, and naming the first bad
    character and its 0-based position for whitespace or anything outside the IUPAC DNA alphabet.
    """
    if not sequence:
        raise SequenceError(
            f"sequence {sequence_id!r} is empty: there is nothing to embed. Check the region or "
            f"variant that produced it, or drop it from the input."
        )
    bad = _NOT_IUPAC.search(sequence)
    if bad is not None:
        char, pos = bad.group(), bad.start()
        if char.isspace():
            raise SequenceError(
                f"sequence {sequence_id!r} holds whitespace {char!r} at 0-based position {pos} of "
                f"{len(sequence)}: whitespace inside a sequence is not allowed (the tokenizer would "
                f"silently split there). Join FASTA lines and strip line breaks before embedding."
            )
        raise SequenceError(
            f"sequence {sequence_id!r} holds {char!r} at 0-based position {pos} of {len(sequence)}, "
            f"outside the IUPAC DNA alphabet (ACGTN RYKMSWBDHV, any case). Use a DNA sequence "
            f"(not protein or a gapped alignment) or replace such characters with N."
        )
    upper = sequence.upper()
    n_count, iupac_count = count_bases(upper)
    return NormalisedSequence(sequence_id, upper, sha256_hex(upper), n_count, iupac_count)


def cut_windows(sequence: str, tokenizer: SequenceTokenizer, spec: WindowSpec) -> list[Window]:
    """Cut a normalised sequence into windows (see the module docstring for the guarantees)."""
    return [tokenized.window for tokenized in tokenize_windows(sequence, tokenizer, spec)]


def tokenize_windows(sequence: str, tokenizer: SequenceTokenizer, spec: WindowSpec) -> list[TokenizedWindow]:
    """Cut a normalised sequence into windows and return each with both strands' tokenizations.

    Raises ``SequenceError`` for an empty sequence, or if the tokenizer's base lengths do not cover
    a window exactly (input that bypassed ``normalise_sequence``, e.g. with whitespace).
    """
    if not sequence:
        raise SequenceError(
            "cannot cut an empty sequence into windows; drop it or check how it was extracted."
        )
    reverse = reverse_complement(sequence)
    if reverse < sequence:  # the canonical orientation is the reverse complement: cut it, mirror the cut
        return _mirror(_cut(reverse, tokenizer, spec), len(sequence))
    return _cut(sequence, tokenizer, spec)


def _cut(sequence: str, tokenizer: SequenceTokenizer, spec: WindowSpec) -> list[TokenizedWindow]:
    """The windows of ``sequence`` as given, cut from its first base."""
    boundaries = _TokenBoundaries(sequence, tokenizer, spec)
    windows: list[TokenizedWindow] = []
    start = 0
    while start < len(sequence):
        tokenized = _next_window(sequence, start, len(windows), boundaries.after(start), tokenizer, spec)
        windows.append(tokenized)
        start = tokenized.window.end
    return windows


def _mirror(windows: list[TokenizedWindow], length: int) -> list[TokenizedWindow]:
    """The windows of the reverse complement of a ``length``-base sequence cut into ``windows``:
    spans mirrored, order reversed, forward and reverse tokenizations swapped."""
    return [
        TokenizedWindow(
            Window(index, length - w.window.end, length - w.window.start), w.reverse, w.forward, mirrored=True
        )
        for index, w in enumerate(reversed(windows))
    ]


def _next_window(
    sequence: str, start: int, index: int, ends: np.ndarray, tokenizer: SequenceTokenizer, spec: WindowSpec
) -> TokenizedWindow:
    """The window from ``start`` ending at the latest proposed token end ``ends`` where both strands fit."""
    # The last window may take all remaining tokens; others leave headroom for the reverse strand,
    # unless both strands tokenize to one token per base.
    last = ends[-1] == len(sequence)
    k = len(ends) if last or tokenizer.one_token_per_base else len(ends) - len(ends) // _HEADROOM_DIVISOR
    while k > 0:
        end = int(ends[k - 1])
        forward, reverse = _tokenize_both_strands(sequence, start, end, tokenizer)
        excess = max(len(forward.ids), len(reverse.ids)) - spec.max_tokens
        if excess <= 0:
            return TokenizedWindow(Window(index, start, end), forward, reverse)
        k -= excess
    # Even the first token's bases re-tokenize too long on one strand: shrink base by base. A single
    # base is one token, so with max_tokens >= 8 a window is always found.
    for end in range(int(ends[0]) - 1, start, -1):
        forward, reverse = _tokenize_both_strands(sequence, start, end, tokenizer)
        if max(len(forward.ids), len(reverse.ids)) <= spec.max_tokens:
            return TokenizedWindow(Window(index, start, end), forward, reverse)
    raise TokenizerError(
        f"base {start} alone tokenizes to more than max_tokens={spec.max_tokens} tokens; the "
        f"tokenizer breaks its contract (one token per unknown character). Check the tokenizer file."
    )


class _TokenBoundaries:
    """Proposed window ends: token ends from tokenizing pieces of several windows' worth of bases.

    BPE of a piece can differ from BPE of a window cut from it near the window's ends, so these
    are proposals that ``_next_window`` verifies.
    """

    def __init__(self, sequence: str, tokenizer: SequenceTokenizer, spec: WindowSpec) -> None:
        self._sequence = sequence
        self._tokenizer = tokenizer
        self._budget = spec.max_tokens - tokenizer.special_tokens
        self._piece_start = 0
        self._ends = np.empty(0, dtype=np.int64)  # absolute ends of the current piece's tokens

    def after(self, start: int) -> np.ndarray:
        """Ends (absolute, ascending, int64) of up to ``max_tokens`` less the special tokens from ``start``."""
        ends = self._ends_after(start)
        if ends is None or not self._enough(ends):
            ends = self._tokenize_piece(start)
        return ends[: self._budget]

    def _ends_after(self, start: int) -> np.ndarray | None:
        """The current piece's token ends after ``start``, if ``start`` is one of its token boundaries."""
        if start == self._piece_start:
            return self._ends
        i = int(np.searchsorted(self._ends, start))
        return self._ends[i + 1 :] if i < len(self._ends) and self._ends[i] == start else None

    def _enough(self, ends: np.ndarray) -> bool:
        """Whether ``ends`` reach the sequence end or hold a full window clear of the piece's end."""
        if len(ends) == 0:
            return False
        return int(ends[-1]) == len(self._sequence) or len(ends) > self._budget + _PIECE_MARGIN_TOKENS

    def _tokenize_piece(self, start: int) -> np.ndarray:
        piece = self._budget * _PIECE_BASES_PER_TOKEN * _PIECE_WINDOWS
        while True:
            stop = min(len(self._sequence), start + piece)
            tokens = self._tokenizer.encode([self._sequence[start:stop]])[0]
            lengths = tokens.base_lengths[tokens.base_lengths > 0]  # special tokens cover no base
            ends = start + np.cumsum(lengths, dtype=np.int64)
            _require_coverage(ends, start, stop)
            self._piece_start, self._ends = start, ends
            if self._enough(ends):
                return ends
            piece *= 2


def _tokenize_both_strands(
    sequence: str, start: int, end: int, tokenizer: SequenceTokenizer
) -> tuple[TokenizedSequence, TokenizedSequence]:
    """Tokenize ``sequence[start:end]`` and its reverse complement in one call."""
    forward_bases = sequence[start:end]
    forward, reverse = tokenizer.encode([forward_bases, reverse_complement(forward_bases)])
    return forward, reverse


def _require_coverage(ends: np.ndarray, start: int, stop: int) -> None:
    covered = int(ends[-1]) - start if len(ends) else 0
    if covered != stop - start:
        raise SequenceError(
            f"the tokens of bases [{start}, {stop}) cover {covered} bases, not {stop - start}: the "
            f"sequence holds characters the tokenizer drops (whitespace?). Pass it through "
            f"normalise_sequence (or EmbeddingEngine.embed) before cutting windows."
        )
