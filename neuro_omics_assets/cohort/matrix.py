"""From embedded haplotypes to per-subject gene vectors and the subject matrix.

Each unique personal sequence is embedded once (keyed by its SHA-256); an assignments table says
which sequence each subject carries on each haplotype of each gene. This module rebuilds the
per-subject tensor ``[subjects, genes, H]`` from that map, and flattens it into the subject
matrix ``[subjects, genes * H]`` (recipe step 6: concatenate in gene-list order). This dense form is
the reference for small cohorts, tests and the benchmark's dense path; the cohort assets never build
it and work on ``cohort.factorized.FactorizedMatrix`` (the same numbers, memory set by the distinct
haplotypes). ``Combine`` and the combination rules are shared by both.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from neuro_omics_assets.errors import ConfigError

log = logging.getLogger(__name__)

Combine = Literal["mean", "sum"]
ASSIGNMENT_COLUMNS: tuple[str, ...] = ("subject_id", "gene_id", "haplotype", "sha256")
_SHOWN = 10


def subject_matrix(gene_vectors: np.ndarray) -> np.ndarray:
    """Concatenate each subject's gene vectors in gene order.

    gene_vectors: float32 (subjects, genes, H) -> float32 (subjects, genes * H); columns
    ``[g * H, (g + 1) * H)`` hold gene ``g``.
    """
    if gene_vectors.ndim != 3:
        raise ConfigError(f"gene_vectors must be (subjects, genes, H); got shape {gene_vectors.shape}.")
    subjects, genes, hidden = gene_vectors.shape
    return np.ascontiguousarray(gene_vectors, dtype=np.float32).reshape(subjects, genes * hidden)


def combine_haplotypes(per_haplotype: np.ndarray, how: Combine = "mean") -> np.ndarray:
    """Combine the haplotypes of each subject and gene (summed in float64).

    per_haplotype: float32 (subjects, genes, haplotypes, H) -> float32 (subjects, genes, H).
    ``mean`` keeps the scale of one haplotype whatever the ploidy; ``sum`` is the dosage-like total.
    """
    _check_combine(how)
    if per_haplotype.ndim != 4 or per_haplotype.shape[2] < 1:
        raise ConfigError(
            f"per_haplotype must be (subjects, genes, haplotypes >= 1, H); got shape {per_haplotype.shape}."
        )
    total = per_haplotype.sum(axis=2, dtype=np.float64)
    if how == "mean":
        total /= per_haplotype.shape[2]
    return total.astype(np.float32)


def build_subject_gene_tensor(
    assignments: pd.DataFrame,
    vectors: Mapping[str, np.ndarray],
    subject_ids: Sequence[str],
    gene_ids: Sequence[str],
    combine: Combine = "mean",
) -> np.ndarray:
    """Per-subject gene vectors from the haplotype map, float32 (len(subject_ids), len(gene_ids), H).

    assignments: one row per (subject_id, gene_id, haplotype) with the ``sha256`` of the sequence
    carried there; rows of other subjects or genes are ignored. vectors: sha256 -> float32 (H,).
    ``mean`` averages the haplotypes present for each pair (a hemizygous pair averages one);
    ``sum`` requires the same haplotype count for every pair. Every (subject, gene) pair must have
    at least one haplotype, and every referenced hash a vector; otherwise ``ConfigError``.
    """
    _check_combine(combine)
    rows = _requested_rows(assignments, subject_ids, gene_ids)
    subject_pos = pd.Index([str(s) for s in subject_ids]).get_indexer(rows["subject_id"])
    gene_pos = pd.Index([str(g) for g in gene_ids]).get_indexer(rows["gene_id"])
    counts = np.zeros((len(subject_ids), len(gene_ids)), dtype=np.int64)
    np.add.at(counts, (subject_pos, gene_pos), 1)
    check_haplotype_counts(counts, combine, subject_ids, gene_ids)
    table, hashes = _vector_table(rows["sha256"], vectors)
    vector_pos = pd.Index(hashes).get_indexer(rows["sha256"])
    total = np.zeros((*counts.shape, table.shape[1]), dtype=np.float64)
    # slot k = k-th haplotype of its pair: within one slot every (subject, gene) occurs once, so a
    # fancy-indexed += never collides and the tensor fills in one pass per haplotype slot
    slot = rows.groupby(["subject_id", "gene_id"], sort=False).cumcount().to_numpy()
    for k in range(int(slot.max()) + 1):
        in_slot = slot == k
        total[subject_pos[in_slot], gene_pos[in_slot]] += table[vector_pos[in_slot]]
    if combine == "mean":
        total /= counts[:, :, None]
    return total.astype(np.float32)


def _check_combine(how: str) -> None:
    if how not in ("mean", "sum"):
        raise ConfigError(f"haplotype combination {how!r} is not supported; use 'mean' or 'sum'.")


def _requested_rows(
    assignments: pd.DataFrame, subject_ids: Sequence[str], gene_ids: Sequence[str]
) -> pd.DataFrame:
    missing = [c for c in ASSIGNMENT_COLUMNS if c not in assignments.columns]
    if missing:
        raise ConfigError(
            f"the assignments table lacks columns {missing} (has {list(assignments.columns)}); "
            f"it needs {list(ASSIGNMENT_COLUMNS)}."
        )
    for name, ids in (("subject_ids", subject_ids), ("gene_ids", gene_ids)):
        if not len(ids) or len(set(ids)) != len(ids):
            raise ConfigError(
                f"{name} must be non-empty and without repeats; got {len(ids)} ids, {len(set(ids))} distinct."
            )
    rows = assignments[list(ASSIGNMENT_COLUMNS)].astype({"subject_id": str, "gene_id": str, "sha256": str})
    wanted = rows["subject_id"].isin([str(s) for s in subject_ids]) & rows["gene_id"].isin(
        [str(g) for g in gene_ids]
    )
    rows = rows[wanted]
    repeated = rows[rows.duplicated(["subject_id", "gene_id", "haplotype"])]
    if not repeated.empty:
        first = repeated.iloc[0]
        raise ConfigError(
            f"the assignments table lists subject {first.subject_id}, gene {first.gene_id}, haplotype "
            f"{first.haplotype} more than once ({len(repeated)} repeats); keep one row per haplotype."
        )
    return rows.reset_index(drop=True)


def _vector_table(used: pd.Series, vectors: Mapping[str, np.ndarray]) -> tuple[np.ndarray, list[str]]:
    """Stack the vectors the rows use: (float64 (n_unique, H), their hashes in row order)."""
    hashes = list(dict.fromkeys(used))
    absent = [h for h in hashes if h not in vectors]
    if absent:
        raise ConfigError(
            f"{len(absent)} sequence hashes in the assignments table have no embedding vector "
            f"(first: {', '.join(absent[:3])}); embed those sequences first."
        )
    widths = {np.asarray(vectors[h]).shape for h in hashes}
    if len(widths) != 1 or len(next(iter(widths))) != 1:
        raise ConfigError(f"embedding vectors must all be 1-D of one width H; got shapes {sorted(widths)}.")
    return np.stack([np.asarray(vectors[h], dtype=np.float64) for h in hashes]), hashes


def check_haplotype_counts(
    counts: np.ndarray, combine: str, subject_ids: Sequence[str] | None = None, gene_ids: Sequence[str] | None = None
) -> None:
    """ConfigError unless every (subject, gene) pair has a haplotype and, for ``sum``, all pairs the same count.

    counts: int (subjects, genes) haplotypes per pair; pairs are named by ``subject_ids``/``gene_ids``
    when given, else by their positions. Shared by the dense tensor and ``cohort.factorized``.
    """
    lacking = np.argwhere(counts == 0)
    if len(lacking):
        def name(ids: Sequence[str] | None, i: int, what: str) -> str:
            return f"{what} {i}" if ids is None else str(ids[i])

        pairs = ", ".join(f"{name(subject_ids, s, 'subject')}/{name(gene_ids, g, 'gene')}" for s, g in lacking[:_SHOWN])
        raise ConfigError(
            f"{len(lacking)} (subject, gene) pairs have no haplotype in the assignments table "
            f"(first: {pairs}); rebuild the haplotype map for these subjects or drop them."
        )
    if combine == "sum" and counts.min() != counts.max():
        raise ConfigError(
            f"combine='sum' needs the same number of haplotypes for every (subject, gene) pair, got "
            f"{int(counts.min())} to {int(counts.max())}; use combine='mean' for mixed ploidy."
        )
