"""Ortholog retrieval between two genomes' gene vectors, with a gene-label permutation null.

Definitions (genome a with n_a genes, genome b with n_b, P ortholog pairs (s_k, t_k)):

* **Cosine** S (n_a, n_b) between every a gene and every b gene.
* **Rank** a->b of pair k: the position of t_k among all b genes ordered by cosine to s_k, ties counted
  against the ortholog (rank = #{b genes j with S[s_k, j] >= S[s_k, t_k]}; 1 = the ortholog is the nearest).
  b->a likewise among all a genes for t_k. **top-1**, **top-k** (default 5): the share of pairs with rank
  1 / <= k; **MRR**: the mean of 1/rank; chance is 1/n, k/n and H_n/n for n candidates.
* **AUROC**: P(cosine of an ortholog pair > cosine of a non-ortholog pair), ties 1/2 (Mann–Whitney U / P N),
  over all n_a x n_b cells: the P ortholog cells against every other cell (pairs a table excluded as
  one-to-many count as non-orthologs). It has no direction.
* **Null**: the b genes' labels are permuted (the vectors stay, which b gene is whose ortholog changes):
  pair k's target becomes pi(t_k) in both directions. Ranks and AUROC under pi read precomputed
  per-row/per-column ranks and global midranks, so a permutation costs O(P). p = (1 + #{null >= observed})
  / (1 + n_permutations), from ``numpy.random.default_rng(seed)``.

Memory is O(n_a n_b) (the cosine matrix and its rank matrices): whole-genome tables need a gene subset.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from neuro_omics_assets.errors import ConfigError

METRICS = ("top1", "topk", "mrr", "auroc")


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """float64 (n_a, n_b) cosine between the rows of ``a`` (n_a, H) and ``b`` (n_b, H); zero rows refused."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ConfigError(f"vector matrices of shapes {a.shape} and {b.shape} cannot be compared; both must be "
                          f"(genes, H) from the same encoder.")
    norms = [np.linalg.norm(m, axis=1) for m in (a, b)]
    if any((n == 0).any() or not np.isfinite(n).all() for n in norms):
        raise ConfigError("a gene vector is zero or not finite, so its cosine is undefined; check the vectors.")
    return (a / norms[0][:, None]) @ (b / norms[1][:, None]).T


@dataclass(frozen=True)
class Direction:
    """One direction's per-pair results: ``ranks`` int64 (P,), ``best`` int64 (P,) the index of each
    query's nearest candidate, ``cosine`` float64 (P,) the ortholog's cosine; ``observed``, ``null``
    (float64 (n_permutations,) each) and ``p_values`` per metric of ``METRICS`` (AUROC: the shared value)."""

    ranks: np.ndarray
    best: np.ndarray
    cosine: np.ndarray
    n_candidates: int
    observed: dict[str, float]
    null: dict[str, np.ndarray]
    p_values: dict[str, float]


@dataclass(frozen=True)
class Transfer:
    """Both directions of one comparison: ``a_to_b`` queries a genes among b genes, ``b_to_a`` the reverse."""

    similarity: np.ndarray
    a_to_b: Direction
    b_to_a: Direction
    n_permutations: int
    seed: int
    top_k: int


def ortholog_transfer(
    vectors_a: np.ndarray, vectors_b: np.ndarray, index_a: np.ndarray, index_b: np.ndarray,
    n_permutations: int = 1000, seed: int = 0, top_k: int = 5,
) -> Transfer:
    """Retrieval and AUROC of the pairs ``(index_a[k], index_b[k])`` (row positions in ``vectors_a`` (n_a, H)
    and ``vectors_b`` (n_b, H)) with the label-permutation null (see the module doc)."""
    index_a, index_b = np.asarray(index_a, dtype=np.int64), np.asarray(index_b, dtype=np.int64)
    _check_pairs(index_a, index_b, len(vectors_a), len(vectors_b), n_permutations, top_k)
    similarity = cosine_similarity(vectors_a, vectors_b)
    rng = np.random.default_rng(seed)
    permuted = np.stack([rng.permutation(similarity.shape[1]) for _ in range(n_permutations)])[:, index_b]
    targets = np.vstack([index_b, permuted])  # (1 + J, P): observed first, then each permutation's targets
    row_ranks = _pessimistic_ranks(similarity)  # rank of each b gene in its a gene's row
    column_ranks = _pessimistic_ranks(similarity.T).T  # rank of each a gene in its b gene's column
    auroc = _auroc(rankdata(similarity, axis=None).reshape(similarity.shape), index_a, targets)
    directions = []
    for ranks, best in ((row_ranks[index_a[None, :], targets], similarity[index_a].argmax(axis=1)),
                        (column_ranks[index_a[None, :], targets], similarity[:, index_b].argmax(axis=0))):
        n_candidates = similarity.shape[1] if len(directions) == 0 else similarity.shape[0]
        values = {"top1": (ranks == 1).mean(axis=1), "topk": (ranks <= top_k).mean(axis=1),
                  "mrr": (1.0 / ranks).mean(axis=1), "auroc": auroc}
        directions.append(Direction(
            ranks=ranks[0], best=best, cosine=similarity[index_a, index_b], n_candidates=n_candidates,
            observed={m: float(v[0]) for m, v in values.items()},
            null={m: v[1:] for m, v in values.items()},
            p_values={m: float((1 + np.sum(v[1:] >= v[0] - 1e-12)) / (1 + n_permutations)) for m, v in values.items()},
        ))
    return Transfer(similarity, directions[0], directions[1], n_permutations, seed, top_k)


def chance(metric: str, n_candidates: int, top_k: int) -> float:
    """The expected value of ``metric`` when the ortholog's rank is uniform over ``n_candidates``."""
    if metric == "top1":
        return 1.0 / n_candidates
    if metric == "topk":
        return min(top_k, n_candidates) / n_candidates
    if metric == "mrr":
        return float(np.sum(1.0 / np.arange(1, n_candidates + 1)) / n_candidates)
    return 0.5


def _pessimistic_ranks(similarity: np.ndarray) -> np.ndarray:
    """int64, same shape: for each cell, the number of cells of its row with a cosine >= its own."""
    ordered = np.sort(similarity, axis=1)
    n = similarity.shape[1]
    return np.stack([n - np.searchsorted(row, values, side="left") for row, values in zip(ordered, similarity,
                                                                                          strict=True)])


def _auroc(midranks: np.ndarray, index_a: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """float64 (1 + J,): Mann–Whitney AUROC of the cells (index_a[k], targets[j, k]) against all other cells."""
    n_pos, n_neg = index_a.size, midranks.size - index_a.size
    rank_sum = midranks[index_a[None, :], targets].sum(axis=1)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _check_pairs(index_a: np.ndarray, index_b: np.ndarray, n_a: int, n_b: int, n_permutations: int, top_k: int) -> None:
    if index_a.shape != index_b.shape or index_a.ndim != 1 or index_a.size == 0:
        raise ConfigError(f"ortholog indices of shapes {index_a.shape} and {index_b.shape}: need two equal, "
                          f"non-empty 1-D arrays (one entry per pair).")
    if index_a.min() < 0 or index_a.max() >= n_a or index_b.min() < 0 or index_b.max() >= n_b:
        raise ConfigError(f"an ortholog index lies outside the {n_a} x {n_b} genes; build the indices from the "
                          f"vectors' gene order.")
    if len(set(index_a.tolist())) != index_a.size or len(set(index_b.tolist())) != index_b.size:
        raise ConfigError("a gene is in two ortholog pairs; pass one-to-one pairs (cross_species.orthologs).")
    if n_a * n_b <= index_a.size:
        raise ConfigError("every gene pair is an ortholog pair, so there is no non-ortholog pair to compare with.")
    if isinstance(n_permutations, bool) or not isinstance(n_permutations, int) or n_permutations < 1:
        raise ConfigError(f"n_permutations={n_permutations!r} must be an integer >= 1 (1000 resolves p to 0.001).")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ConfigError(f"top_k={top_k!r} must be an integer >= 1.")
