"""Small random cohorts as factor codes, with their dense subject matrix built independently (loops)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuro_omics_assets.cohort.factorized import FactorizedMatrix


@dataclass(frozen=True)
class Cohort:
    matrix: FactorizedMatrix
    dense: np.ndarray  # float64 (n, genes * H), built by explicit loops
    design: np.ndarray  # float64 (n, 1 + covariates), intercept first


def random_cohort(
    n: int, genes: int, hidden: int, distinct: int, ploidy: str, combine: str, seed: int,
    structure: np.ndarray | None = None,
) -> Cohort:
    """``ploidy``: "diploid", "haploid" or "mixed" (each subject 1 or 2 haplotypes, per gene).

    Distinct vectors are Gaussian; with ``structure`` float (r, H) they are ``0.3^g z @ structure``
    plus 1e-3 noise, so the spectrum decays with gaps (gene 0's directions first).
    """
    rng = np.random.default_rng(seed)
    vectors, vector_gene = [], []
    for g in range(genes):
        if structure is None:
            block = rng.standard_normal((distinct, hidden))
        else:
            block = 0.3 ** g * rng.standard_normal((distinct, len(structure))) @ structure
            block += 1e-3 * rng.standard_normal(block.shape)
        vectors.append(block + g)  # a per-gene offset: means far from zero, as embeddings are
        vector_gene += [g] * distinct
    vectors = np.vstack(vectors)
    subject_pos, vector_pos = [], []
    dense = np.zeros((n, genes * hidden))
    for s in range(n):
        for g in range(genes):
            count = {"diploid": 2, "haploid": 1, "mixed": int(rng.integers(1, 3))}[ploidy]
            carried = g * distinct + rng.integers(0, distinct, size=count)
            subject_pos += [s] * count
            vector_pos += carried.tolist()
            total = sum(vectors[c] for c in carried)
            dense[s, g * hidden:(g + 1) * hidden] = total / count if combine == "mean" else total
    matrix = FactorizedMatrix.from_codes(np.array(subject_pos), np.array(vector_pos), vectors,
                                         np.array(vector_gene), n, genes, combine)
    design = np.column_stack([np.ones(n), rng.standard_normal((n, 3)), rng.integers(0, 2, n)])
    return Cohort(matrix, dense, design)
