"""Arrow tables of the cohort outputs, and the arrays the cohort-wide assets read back from them.

Each builder returns a table of its ``cohort_schemas`` schema; each reader inverts one
(``covariates_from_table``, ``pca_bases``, ``fold_inputs``); ``factorized_subject_matrix`` reads the
subject matrix from the haplotype map and the distinct vectors (``subject_embeddings`` is a view), so every asset
reads exactly what its upstream asset wrote.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from ..cohort.covariates import Covariates, CovariateSpec, design_column_names, design_matrix
from ..cohort.factorized import FactorizedMatrix
from ..cohort.folds import FoldAssignment, train_test
from ..cohort.matrix import Combine
from ..cohort.pca import PcaBasis, explained_variance_table
from ..embedding.engine import EmbeddingResult
from ..errors import WarehouseError
from ..variants.haplotypes import PersonalSequences
from .cohort_schemas import (
    pca_basis_schema,
    pca_components_schema,
    pca_mean_schema,
    personal_gene_vectors_schema,
    residualized_embeddings_schema,
    subject_folds_schema,
    subject_haplotypes_schema,
    unique_sequences_schema,
)
from .schemas import validate, vectors_from_arrow, vectors_to_arrow
from .tables import pooled_columns

_SHOWN = 10


def unique_sequences_table(personal: PersonalSequences, chunk: int) -> pa.Table:
    """One row per distinct (gene, sequence) of one chunk, with how many haplotypes carry it, numbered by
    ``haplotype_index`` (``chunk * 2**32`` + the row's position: genes in id order, per gene the most
    carried sequences first, so most subjects' vectors of a gene share its first row group)."""
    rows = (
        personal.assignments.groupby(["gene_id", "sha256"], sort=False)
        .agg(gene_name=("gene_name", "first"), n_variants=("n_variants", "min"), n_haplotypes=("haplotype", "size"))
        .reset_index()
        .sort_values(["gene_id", "n_haplotypes", "sha256"], ascending=[True, False, True], kind="stable")
    )
    rows["haplotype_index"] = haplotype_index_base(chunk) + np.arange(len(rows), dtype=np.int64)
    rows["sequence"] = rows["sha256"].map(personal.unique).astype(object)
    rows["length"] = rows["sequence"].map(len).astype(np.int64)
    rows["chunk"] = chunk
    return validate(pa.Table.from_pandas(rows, preserve_index=False), unique_sequences_schema(), "unique_sequences")


def haplotype_index_base(chunk: int) -> int:
    """The first ``haplotype_index`` of a chunk: chunks own disjoint ranges of 2**32 indices."""
    return chunk << 32


def subject_haplotypes_table(personal: PersonalSequences, chunk: int, sequences: pa.Table) -> pa.Table:
    """The haplotype map of one chunk: ``personal.assignments``, each haplotype's ``haplotype_index`` taken
    from ``sequences`` (that chunk's ``unique_sequences_table``), sorted by subject (then gene and
    haplotype) so that a query for one subject reads one row group per chunk (``cohort_views``)."""
    keys = pd.MultiIndex.from_arrays([sequences["gene_id"].to_numpy(zero_copy_only=False),
                                      sequences["sha256"].to_numpy(zero_copy_only=False)])
    frame = personal.assignments
    at = keys.get_indexer(pd.MultiIndex.from_arrays([frame["gene_id"], frame["sha256"]]))
    if (at < 0).any():
        raise WarehouseError(f"{int((at < 0).sum())} haplotypes of chunk {chunk} name a sequence missing from its "
                             "unique_sequences rows; build both tables from the same PersonalSequences.")
    frame = frame.assign(haplotype_index=sequences["haplotype_index"].to_numpy()[at], chunk=chunk)
    frame = frame.sort_values(["subject_id", "gene_id", "haplotype"], kind="stable")
    return validate(pa.Table.from_pandas(frame, preserve_index=False), subject_haplotypes_schema(), "subject_haplotypes")


def sequence_ids(sequences: pd.DataFrame) -> list[str]:
    """Embedding ids of ``unique_sequences`` rows: ``gene_id:sha256`` (unique per row)."""
    return [f"{gene}:{sha}" for gene, sha in zip(sequences["gene_id"], sequences["sha256"], strict=True)]


def personal_gene_vectors_table(result: EmbeddingResult, sequences: pd.DataFrame, chunk: int) -> pa.Table:
    """One vector per ``unique_sequences`` row, embedded under the ids of ``sequence_ids``, in
    ``haplotype_index`` order (every encoder's table in the one order the shared haplotype map defines)."""
    schema = personal_gene_vectors_schema(result.hidden_size)
    ids = sequence_ids(sequences)
    if not ids:
        return schema.empty_table()
    table = pa.table(
        {
            "sha256": sequences["sha256"].tolist(),
            "haplotype_index": sequences["haplotype_index"].to_numpy(np.int64),
            "gene_id": sequences["gene_id"].tolist(),
            "gene_name": sequences["gene_name"].tolist(),
            "chunk": np.full(len(ids), chunk, dtype=np.int32),
            **pooled_columns(result, list(ids)),
        }
    )
    return validate(table.sort_by("haplotype_index"), schema, "personal_gene_vectors")


def vectors_by_sha256(personal_gene_vectors: pa.Table) -> dict[str, np.ndarray]:
    """sha256 -> float32 (H,) vector of ``personal_gene_vectors`` rows."""
    vectors = vectors_from_arrow(personal_gene_vectors["embedding"])
    return dict(zip(personal_gene_vectors["sha256"].to_pylist(), vectors, strict=True))


def factorized_subject_matrix(
    haplotypes: Iterable[pa.Table], vectors: Iterable[pa.Table], gene_ids: Sequence[str], combine: Combine,
) -> tuple[list[str], FactorizedMatrix]:
    """The subject matrix as factors, read one gene chunk at a time (no subjects x genes x H array).

    ``haplotypes``/``vectors``: the ``subject_haplotypes`` and ``personal_gene_vectors`` partitions of
    the same chunks, in the same order; ``gene_ids`` in manifest order (the matrix's gene blocks).
    Returns (subject ids in order of first appearance, the matrix). WarehouseError when a haplotype
    names a sequence without a vector.
    """
    genes = pd.Index(list(gene_ids))
    subjects: dict[str, int] = {}
    subject_pos, vector_pos, blocks, vector_gene, offset = [], [], [], [], 0
    for hap, vec in zip(haplotypes, vectors, strict=True):
        vector_pos.append(_vector_rows(hap, vec) + offset)
        names = hap["subject_id"].dictionary_encode().combine_chunks()
        local = np.array([subjects.setdefault(name, len(subjects)) for name in names.dictionary.to_pylist()], np.int64)
        subject_pos.append(local[names.indices.to_numpy()])
        blocks.append(vectors_from_arrow(vec["embedding"]))
        vector_gene.append(genes.get_indexer(vec["gene_id"].to_numpy(zero_copy_only=False)))
        offset += vec.num_rows
    matrix = FactorizedMatrix.from_codes(
        np.concatenate(subject_pos), np.concatenate(vector_pos), np.concatenate(blocks),
        np.concatenate(vector_gene), len(subjects), len(genes), combine,
    )
    return list(subjects), matrix


def _vector_rows(hap: pa.Table, vec: pa.Table) -> np.ndarray:
    """Per ``hap`` row, the row of ``vec`` holding its vector (same ``haplotype_index``), int64 (hap rows,).

    WarehouseError when a haplotype has no vector or the vector's sequence hash differs (vectors written
    from an older ``unique_sequences`` of the chunk than the haplotype map).
    """
    index = hap["haplotype_index"].to_numpy()
    rows = pd.Index(vec["haplotype_index"].to_numpy()).get_indexer(index)
    distinct, first = np.unique(index, return_index=True)
    found = rows[first] >= 0
    stale = np.asarray(vec["sha256"].take(rows[first][found])) != np.asarray(hap["sha256"].take(first[found]))
    if not found.all() or stale.any():
        raise WarehouseError(
            f"personal_gene_vectors lacks {int((~found).sum())} and holds another sequence for {int(stale.sum())} of "
            f"the {len(distinct)} haplotype vectors a subject_haplotypes chunk names; re-materialize "
            "personal_gene_vectors for the same chunks after subject_haplotypes."
        )
    return rows


def covariates_table(covariates: Covariates) -> pa.Table:
    """``subject_id`` plus one column per covariate: float64 for numeric ones, string for labels."""
    return pa.Table.from_pandas(covariates.table.reset_index(), preserve_index=False)


def covariates_from_table(table: pa.Table, categorical: Sequence[str]) -> Covariates:
    """Inverse of ``covariates_table``; ``categorical`` names the label columns."""
    frame = table.to_pandas().set_index("subject_id")
    columns = tuple(frame.columns)
    spec = CovariateSpec(columns=columns, categorical=tuple(c for c in categorical if c in columns))
    return Covariates(table=frame, spec=spec, source="the warehouse table covariates")


def subject_folds_table(folds: FoldAssignment) -> pa.Table:
    return validate(pa.Table.from_pandas(folds.table, preserve_index=False), subject_folds_schema(), "subject_folds")


def subjects_sha256(subject_ids: Sequence[str]) -> str:
    """SHA-256 of an ordered subject list: which subjects a fold's basis was fitted on."""
    return hashlib.sha256("\n".join(subject_ids).encode("utf-8")).hexdigest()


def pca_tables(fold: int, basis: PcaBasis, order: str, train_ids: Sequence[str]) -> dict[str, pa.Table]:
    """The ``pca_basis``, ``pca_components`` and ``pca_mean`` rows of one fold's basis."""
    k = basis.n_components
    rows = explained_variance_table(basis).assign(
        fold=fold, n_train=basis.n_train, n_components_requested=basis.n_components_requested, n_components=k,
        cap_reason=basis.cap_reason, solver=basis.solver, order=order, seed=basis.seed,
        n_oversamples=basis.n_oversamples, n_power_iterations=basis.n_power_iterations,
    )
    components = pa.table(
        {"fold": np.full(k, fold, np.int32), "component": np.arange(1, k + 1, dtype=np.int32),
         "loading": vectors_to_arrow(basis.components)}
    )
    mean = pa.table(
        {"fold": [fold], "n_train": [basis.n_train], "train_subjects_sha256": [subjects_sha256(train_ids)],
         "mean": vectors_to_arrow(basis.mean[None, :])}
    )
    return {
        "pca_basis": validate(pa.Table.from_pandas(rows, preserve_index=False), pca_basis_schema(), "pca_basis"),
        "pca_components": validate(components, pca_components_schema(basis.n_features), "pca_components"),
        "pca_mean": validate(mean, pca_mean_schema(basis.n_features), "pca_mean"),
    }


@dataclass(frozen=True, eq=False)
class StoredBasis:
    """One fold's basis as read back: the basis (float64), its order and training-subject hash."""

    basis: PcaBasis
    order: str
    train_subjects_sha256: str


def pca_bases(
    basis: pa.Table, mean: pa.Table, components_of: Callable[[int], pa.Table]
) -> Iterator[tuple[int, StoredBasis]]:
    """Inverse of ``pca_tables``: (fold, its stored basis) for each fold in order, reading one fold's
    ``pca_components`` rows at a time through ``components_of(fold)`` (a fold's are k x genes * H)."""
    rows = basis.to_pandas().sort_values(["fold", "component"])
    mean_folds = mean["fold"].to_numpy()
    for fold, fold_rows in rows.groupby("fold"):
        first, at = fold_rows.iloc[0], int(np.flatnonzero(mean_folds == fold)[0])
        components = components_of(int(fold))
        mine = np.flatnonzero(components["fold"].to_numpy() == fold)
        mine = mine[np.argsort(components["component"].to_numpy()[mine], kind="stable")]
        yield int(fold), StoredBasis(
            basis=PcaBasis(
                mean=vectors_from_arrow(mean["mean"].take([at]))[0].astype(np.float64),
                components=vectors_from_arrow(components["loading"].take(mine)).astype(np.float64),
                explained_variance=fold_rows["explained_variance"].to_numpy(np.float64),
                explained_variance_ratio=fold_rows["explained_variance_ratio"].to_numpy(np.float64),
                solver=first["solver"],
                n_components_requested=int(first["n_components_requested"]),
                n_components=int(first["n_components"]),
                cap_reason=first["cap_reason"],
                n_train=int(first["n_train"]),
                seed=int(first["seed"]),
                n_oversamples=_optional_int(first["n_oversamples"]),
                n_power_iterations=_optional_int(first["n_power_iterations"]),
            ),
            order=str(first["order"]),
            train_subjects_sha256=mean["train_subjects_sha256"][at].as_py(),
        )


def _optional_int(value: object) -> int | None:
    return None if pd.isna(value) else int(value)


def fold_partition(fold: int) -> str:
    """The ``residualized_embeddings`` partition of one fold (``fold_0``, ...): each fold is written as it is
    computed, so the asset never holds all folds' scores (5 x N x k float64) at once."""
    return f"fold_{fold}"


def residualized_table(fold: int, split: str, subject_ids: Sequence[str], scores: np.ndarray) -> pa.Table:
    """Rows of one fold and split: ``scores`` float64 (len(subject_ids), k)."""
    n, k = scores.shape
    values = pa.array(np.ascontiguousarray(scores, dtype=np.float64).reshape(-1))
    table = pa.table(
        {"subject_id": list(subject_ids), "fold": np.full(n, fold, np.int32), "split": [split] * n,
         "vector": pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32) * k), values)}
    )
    return validate(table, residualized_embeddings_schema(), "residualized_embeddings")


@dataclass(frozen=True, eq=False)
class FoldInputs:
    """What every fold fits on, rows in ``subject_folds`` order.

    matrix: the factorized subject matrix (n, genes * H) (genes in manifest order); design: float64
    (n, p) OLS design with columns ``design_columns``; folds: columns subject_id, test_fold.
    """

    subject_ids: list[str]
    matrix: FactorizedMatrix
    design: np.ndarray
    design_columns: tuple[str, ...]
    folds: pd.DataFrame

    @property
    def fold_ids(self) -> list[int]:
        return sorted(int(f) for f in self.folds["test_fold"].unique())

    def split(self, fold: int) -> tuple[np.ndarray, np.ndarray]:
        """(train, test) row positions of ``fold``."""
        train, test = train_test(self.folds, fold)
        index = pd.Index(self.subject_ids)
        return index.get_indexer(train), index.get_indexer(test)

    def ids(self, rows: np.ndarray) -> list[str]:
        """Subject ids of row positions ``rows``."""
        return [self.subject_ids[i] for i in rows]


def fold_inputs(
    subjects: Sequence[str], matrix: FactorizedMatrix, covariates: pa.Table, folds: pa.Table,
    design_columns: Sequence[str], categorical: Sequence[str],
) -> FoldInputs:
    """Align the subject matrix (rows ``subjects``) and the stored covariates to the stored folds.

    WarehouseError when a subject of ``folds`` has no embedding or no covariates (a stale table).
    """
    fold_table = folds.to_pandas()
    ids = fold_table["subject_id"].tolist()
    aligned = covariates_from_table(covariates, categorical)
    for name, present in (("subject_embeddings", subjects), ("covariates", aligned.subject_ids)):
        absent = sorted(set(ids) - set(present))
        if absent:
            raise WarehouseError(
                f"{len(absent)} subjects of subject_folds are not in {name} ({', '.join(absent[:_SHOWN])}); "
                f"re-materialize the cohort assets from {name} on so that they agree."
            )
    cov = Covariates(aligned.table.loc[ids], aligned.spec, aligned.source)
    columns = tuple(design_columns)
    return FoldInputs(
        subject_ids=ids,
        matrix=matrix.rows(pd.Index(list(subjects)).get_indexer(ids)),
        design=design_matrix(cov, columns),
        design_columns=design_column_names(cov, columns),
        folds=fold_table,
    )
