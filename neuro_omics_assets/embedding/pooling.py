"""Pooling math, in one place: token states → per-window sufficient statistics → sequence vectors.

Per window (one strand), from the per-token states ``h`` (S, H) and the bases covered by each
token ``b`` (S,) (0 at special tokens and padding):

* ``token_sum = Σ_t b_t · h_t`` over real tokens, float32 (H,), accumulated in float32 even when
  ``h`` is bfloat16; ``cls = h_0`` (NaN for an encoder without ``[CLS]``, e.g. Caduceus: there is no
  such state, and NaN makes any use of it visible); ``n_tokens`` real tokens; ``n_bases = Σ_t b_t``.

``h`` is the last hidden state, except for an RC-equivariant encoder (Caduceus-PS), where it is the
RC-invariant per-token state (``Encoder.rc_invariant_tokens``: mean of the forward half and the
channel-flipped RC half, as the official downstream code pools). Such an encoder runs each window once,
in the sequence's canonical orientation, and its reverse-complement rows are copies of its forward rows.

Per sequence and strand, windows are combined weighted by bases:

* mean vector ``Σ_w token_sum_w / Σ_w n_bases_w`` (the base-weighted mean over every base);
* CLS vector ``Σ_w n_bases_w · cls_w / Σ_w n_bases_w``.

RC averaging is the mean of the forward and reverse-complement vectors (for an RC-equivariant
encoder, whose two strands' rows are equal, it changes nothing). These statistics determine
every pooling variant, so vectors can be recomputed from stored statistics without the model
(``vectors_from_window_stats``), with the same functions the engine uses.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

import numpy as np
import torch

from neuro_omics_assets.errors import ConfigError

Pooling = Literal["mean", "cls"]
POOLINGS: tuple[str, ...] = ("mean", "cls")
FORWARD, REVERSE_COMPLEMENT = "forward", "reverse_complement"
STRANDS: tuple[str, str] = (FORWARD, REVERSE_COMPLEMENT)


@dataclass(frozen=True)
class WindowStats:
    """Sufficient statistics of one sequence's windows, both strands, one row per (strand, window).

    R = 2 * n_windows rows: forward rows in window order, then reverse-complement rows in window
    order. ``window_index`` int32 (R,); ``window_start``, ``window_end`` int64 (R,), 0-based
    half-open in the forward sequence's coordinates (a reverse-complement row covers the same
    bases); ``strand`` str (R,) "forward" | "reverse_complement"; ``n_tokens`` int32 (R,) tokens
    excluding special tokens; ``n_bases`` int64 (R,); ``token_sum`` float32 (R, H); ``cls`` float32
    (R, H), NaN without a ``[CLS]``. RC-equivariant encoders: reverse-complement rows equal forward rows.
    """

    window_index: np.ndarray
    window_start: np.ndarray
    window_end: np.ndarray
    strand: np.ndarray
    n_tokens: np.ndarray
    n_bases: np.ndarray
    token_sum: np.ndarray
    cls: np.ndarray

    @classmethod
    def empty(cls, hidden_size: int) -> WindowStats:
        """No rows, with every column's dtype (``token_sum``/``cls`` float32 (0, hidden_size))."""
        return cls(
            window_index=np.empty(0, dtype=np.int32),
            window_start=np.empty(0, dtype=np.int64),
            window_end=np.empty(0, dtype=np.int64),
            strand=np.empty(0, dtype=np.array(STRANDS).dtype),
            n_tokens=np.empty(0, dtype=np.int32),
            n_bases=np.empty(0, dtype=np.int64),
            token_sum=np.empty((0, hidden_size), dtype=np.float32),
            cls=np.empty((0, hidden_size), dtype=np.float32),
        )

    @property
    def hidden_size(self) -> int:
        return int(self.token_sum.shape[1])

    @property
    def n_windows(self) -> int:
        """Windows per strand."""
        return int(np.count_nonzero(self.strand == FORWARD))

    def arrays(self) -> dict[str, np.ndarray]:
        """The columns by field name (for the cache and per-window tables)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def strand_rows(self, strand: str) -> WindowStats:
        """The rows of one strand ("forward" or "reverse_complement")."""
        keep = self.strand == strand
        return WindowStats(**{name: column[keep] for name, column in self.arrays().items()})


@dataclass(frozen=True)
class PooledVectors:
    """A sequence's vectors, all float32 (H,): ``vector`` (configured pooling, RC-averaged when asked),
    base-weighted mean vectors ``forward`` and ``reverse`` (reverse complement), CLS vectors
    ``cls_forward`` and ``cls_reverse``; cosines between the strands (``rc_cosine`` for mean,
    ``cls_rc_cosine`` for CLS) and between the CLS and mean vectors (``cls_mean_cosine``, each
    RC-averaged when asked)."""

    vector: np.ndarray
    forward: np.ndarray
    reverse: np.ndarray
    cls_forward: np.ndarray
    cls_reverse: np.ndarray
    rc_cosine: float
    cls_rc_cosine: float
    cls_mean_cosine: float


def pool_token_states(
    hidden: torch.Tensor, base_lengths: torch.Tensor, *, has_cls: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Per-window ``(token_sum, cls)`` for a batch, vectorised (no loop over tokens).

    ``hidden`` float32 or bfloat16 (B, S, H), [CLS] at row 0 when ``has_cls``; ``base_lengths`` integer
    (B, S), the bases covered by each token, 0 at special tokens and padding. Returns ``token_sum``
    float32 (B, H) and ``cls`` float32 (B, H) (all NaN without ``has_cls``) as numpy arrays;
    accumulation is float32 whatever ``hidden``'s dtype.
    """
    states = hidden.to(torch.float32)
    weights = base_lengths.to(device=states.device, dtype=torch.float32)
    token_sum = torch.bmm(weights.unsqueeze(1), states).squeeze(1).cpu().numpy()  # (B, H)
    if not has_cls:
        return token_sum, np.full_like(token_sum, np.nan)
    return token_sum, states[:, 0, :].cpu().numpy()  # cls (B, H)


def mean_vector(stats: WindowStats) -> np.ndarray:
    """Base-weighted mean token state over all rows of ``stats``: float32 (H,)."""
    total = stats.token_sum.sum(axis=0, dtype=np.float64)
    return (total / stats.n_bases.sum()).astype(np.float32)


def cls_vector(stats: WindowStats) -> np.ndarray:
    """Base-weighted mean of the windows' CLS states over all rows of ``stats``: float32 (H,)."""
    weights = stats.n_bases.astype(np.float64)
    return (weights @ stats.cls.astype(np.float64) / weights.sum()).astype(np.float32)


def rc_average(forward: np.ndarray, reverse: np.ndarray) -> np.ndarray:
    """Mean of a forward and a reverse-complement vector: float32 (H,)."""
    return ((forward.astype(np.float64) + reverse) / 2).astype(np.float32)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors (H,), computed in float64; NaN if either is all zeros."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    norms = np.linalg.norm(a64) * np.linalg.norm(b64)
    return float(a64 @ b64 / norms) if norms > 0 else float("nan")


def vectors_from_window_stats(stats: WindowStats, pooling: Pooling, rc_averaged: bool) -> PooledVectors:
    """Every vector of one sequence from its window statistics (both strands), without the model."""
    if pooling not in POOLINGS:
        raise ConfigError(f"pooling={pooling!r} is unknown; use one of {POOLINGS}.")
    forward_rows, reverse_rows = stats.strand_rows(FORWARD), stats.strand_rows(REVERSE_COMPLEMENT)
    forward, reverse = mean_vector(forward_rows), mean_vector(reverse_rows)
    cls_forward, cls_reverse = cls_vector(forward_rows), cls_vector(reverse_rows)
    mean = rc_average(forward, reverse) if rc_averaged else forward
    cls = rc_average(cls_forward, cls_reverse) if rc_averaged else cls_forward
    return PooledVectors(
        vector=mean if pooling == "mean" else cls,
        forward=forward,
        reverse=reverse,
        cls_forward=cls_forward,
        cls_reverse=cls_reverse,
        rc_cosine=cosine(forward, reverse),
        cls_rc_cosine=cosine(cls_forward, cls_reverse),
        cls_mean_cosine=cosine(cls, mean),
    )
