"""Match tokens to JASPAR motifs by PWM log-odds score, with an empirical p-value from shuffled tokens.

Statistical choices (also in the README):

* **Matrices.** JASPAR position frequency matrices (TRANSFAC format, read by ``Bio.motifs``) become
  log2-odds matrices against a uniform background with 0.25 pseudocount per base (Biopython's
  ``normalize(pseudocounts=0.25).log_odds()``).
* **Score.** A token and a matrix are aligned without gaps, on both strands, with the shorter one
  wholly inside the longer; the score is the sum of the log-odds of the aligned matrix columns and
  the token's bases, maximised over offsets and strands. The best match is the matrix with the
  highest score.
* **Empirical p.** The token's bases are shuffled ``n_shuffles`` times (same length and base
  composition) and every shuffle is scored like the token. ``jaspar_p`` = (1 + #{shuffles scoring
  >= the token against the matched matrix}) / (1 + n_shuffles): is the token closer to this matrix
  than its composition explains? ``jaspar_p_any_matrix`` uses each shuffle's best score over
  **all** matrices instead, so it includes the choice of the best of ~900 matrices; it is large for
  short tokens (a 7-mer's shuffles match some matrix about as well), so it is the stricter of the two.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from neuro_omics_assets.errors import InputFileError

log = logging.getLogger(__name__)

_BASES = "ACGT"
_INDEX = {base: i for i, base in enumerate(_BASES)}
# 0.25 per base (1 pseudo-observation per column): the JASPAR/Biopython convention for small counts.
PSEUDOCOUNT = 0.25
# 200 shuffles: p resolves down to 1/201 ~ 0.005, enough to call a match at 0.01, in milliseconds per token.
DEFAULT_SHUFFLES = 200
MATCH_COLUMNS = ("token", "jaspar_id", "jaspar_tf", "jaspar_score", "jaspar_max_score", "jaspar_strand", "jaspar_p",
                 "jaspar_p_any_matrix")


@dataclass(frozen=True)
class JasparMotif:
    """One JASPAR matrix: ``counts`` and ``log_odds`` are ``float64 (width, 4)`` with columns A, C, G, T."""

    matrix_id: str
    tf_name: str
    counts: np.ndarray
    log_odds: np.ndarray


def read_jaspar(path: str | Path) -> list[JasparMotif]:
    """Every matrix of a JASPAR TRANSFAC-format file (``AC`` = matrix id, ``ID`` = TF name)."""
    from Bio import motifs

    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"JASPAR file not found: {path}. Give a TRANSFAC-format JASPAR file (…_pfms_transfac.txt).")
    with open(path, encoding="utf-8") as handle:
        # strict=False: JASPAR's export separates keys and values by one space, TRANSFAC by two.
        records = motifs.parse(handle, "transfac", strict=False)
    out = []
    for record in records:
        counts = np.array([record.counts[base] for base in _BASES], dtype=np.float64).T
        pwm = record.counts.normalize(pseudocounts=PSEUDOCOUNT).log_odds()
        log_odds = np.array([pwm[base] for base in _BASES], dtype=np.float64).T
        out.append(JasparMotif(str(record.get("AC")), str(record.get("ID")), counts, log_odds))
    log.info("read %d JASPAR matrices from %s", len(out), path)
    return out


def one_hot(sequences: np.ndarray) -> np.ndarray:
    """``uint8 (S, L)`` base indices (A=0, C=1, G=2, T=3) -> ``float64 (S, L, 4)`` one-hot."""
    return np.eye(4)[sequences]


def encode(token: str) -> np.ndarray:
    """``int64 (L,)`` base indices of an ACGT token."""
    return np.array([_INDEX[base] for base in token], dtype=np.int64)


class MotifScorer:
    """Best log-odds score of many sequences of one length against every matrix, both strands.

    Every alignment is one dot product of flattened ``(length, 4)`` blocks, so each group of
    matrices of one width is scored with one matrix product per strand.
    """

    def __init__(self, motifs: list[JasparMotif]) -> None:
        self.motifs = motifs
        self._groups: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # width -> (motif indices, (n, W, 4))
        for width in sorted({m.log_odds.shape[0] for m in motifs}):
            index = np.array([i for i, m in enumerate(motifs) if m.log_odds.shape[0] == width])
            self._groups[width] = (index, np.stack([motifs[i].log_odds for i in index]))
        self._blocks: dict[tuple[int, int], np.ndarray] = {}  # (width, length) -> (n * O, length * 4)

    def scores(self, onehot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``onehot`` ``float64 (S, L, 4)`` -> ``(best, strand)``, both ``(S, n_motifs)``; strand 0 = +, 1 = -."""
        best = np.full((onehot.shape[0], len(self.motifs)), -np.inf)
        strand = np.zeros(best.shape, dtype=np.int8)
        for width, (index, matrices) in self._groups.items():
            for sign, sequences in enumerate((onehot, onehot[:, ::-1, ::-1])):  # RC: reverse, A<->T, C<->G
                score = self._aligned(width, matrices, sequences)
                better = score > best[:, index]
                best[:, index] = np.where(better, score, best[:, index])
                strand[:, index] = np.where(better, sign, strand[:, index])
        return best, strand

    def _aligned(self, width: int, matrices: np.ndarray, sequences: np.ndarray) -> np.ndarray:
        """Best ungapped score, the shorter inside the longer: ``(n, W, 4)`` x ``(S, L, 4)`` -> ``(S, n)``."""
        n, (count, length, _) = len(matrices), sequences.shape
        if length <= width:
            key = (width, length)
            if key not in self._blocks:
                windows = np.lib.stride_tricks.sliding_window_view(matrices, length, axis=1)  # (n, O, 4, L)
                self._blocks[key] = windows.transpose(0, 1, 3, 2).reshape(-1, length * 4)  # (n * O, L * 4)
            return (sequences.reshape(count, -1) @ self._blocks[key].T).reshape(count, n, -1).max(axis=2)
        windows = np.lib.stride_tricks.sliding_window_view(sequences, width, axis=1)  # (S, O, 4, W)
        blocks = windows.transpose(0, 1, 3, 2).reshape(-1, width * 4)  # (S * O, W * 4)
        return (blocks @ matrices.reshape(n, -1).T).reshape(count, -1, n).max(axis=1)


def best_matches(tokens: list[str], scorer: MotifScorer, n_shuffles: int = DEFAULT_SHUFFLES, seed: int = 0) -> pd.DataFrame:
    """One row per token (columns ``MATCH_COLUMNS``): its best JASPAR matrix and empirical p.

    ``jaspar_max_score`` is the matrix's best possible score over the aligned columns (how close the
    token is to the consensus). Shuffles come from ``numpy.random.default_rng(seed)``, token by token.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for token in tokens:
        bases = encode(token)
        shuffled = np.stack([bases, *(rng.permutation(bases) for _ in range(n_shuffles))])
        best, strand = scorer.scores(one_hot(shuffled))
        top = int(np.argmax(best[0]))
        observed = best[0, top]
        motif = scorer.motifs[top]
        rows.append({
            "token": token,
            "jaspar_id": motif.matrix_id,
            "jaspar_tf": motif.tf_name,
            "jaspar_score": float(observed),
            "jaspar_max_score": _max_aligned(motif.log_odds, len(token)),
            "jaspar_strand": "+-"[int(strand[0, top])],
            "jaspar_p": float((1 + np.sum(best[1:, top] >= observed)) / (1 + n_shuffles)),
            "jaspar_p_any_matrix": float((1 + np.sum(best[1:].max(axis=1) >= observed)) / (1 + n_shuffles)),
        })
    return pd.DataFrame(rows, columns=list(MATCH_COLUMNS))


def _max_aligned(log_odds: np.ndarray, length: int) -> float:
    """Highest score any sequence of ``length`` bases can reach against ``log_odds`` (same alignment rule)."""
    column_max = log_odds.max(axis=1)
    if length >= len(column_max):
        return float(column_max.sum())
    return float(np.convolve(column_max, np.ones(length), mode="valid").max())
