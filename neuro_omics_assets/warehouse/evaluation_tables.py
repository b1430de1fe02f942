"""Arrow tables of the evaluation outputs, and the per-fold arrays the evaluation assets read back.

Builders return tables of their ``evaluation_schemas`` schema; ``fold_vectors`` inverts the per-fold
vector tables (``residualized_embeddings``, ``brain_features``) and ``build_folds`` joins them with the
covariate design and exchangeability blocks into the ``FoldData`` the evaluation fits on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..cohort.covariates import design_matrix
from ..errors import WarehouseError
from ..evaluation.confounds import FoldData, gene_components
from .cohort_tables import covariates_from_table
from .schemas import table_spec, validate


def frame_table(frame: pd.DataFrame, table_name: str) -> pa.Table:
    """``frame`` as a validated table of ``table_name``'s schema (columns in any order)."""
    return validate(pa.Table.from_pandas(frame, preserve_index=False), table_spec(table_name).schema(), table_name)


def empty_frame(table_name: str) -> pd.DataFrame:
    """A frame with no rows and the columns (and types) of ``table_name``."""
    return table_spec(table_name).schema().empty_table().to_pandas()


def fold_vectors_table(fold: int, split: str, subject_ids: Sequence[str], values: np.ndarray) -> pa.Table:
    """``brain_features`` rows of one fold and split: values float64 (len(subject_ids), w)."""
    n, w = values.shape
    flat = pa.array(np.ascontiguousarray(values, dtype=np.float64).reshape(-1))
    table = pa.table({"subject_id": list(subject_ids), "fold": np.full(n, fold, np.int32), "split": [split] * n,
                      "vector": pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32) * w), flat)})
    return validate(table, table_spec("brain_features").schema(), "brain_features")


def fold_vectors(table: pa.Table) -> dict[int, dict[str, tuple[list[str], np.ndarray]]]:
    """fold -> split ('train'/'test') -> (subject ids, float64 (n, k)) of a per-fold vector table."""
    frame = table.select(["subject_id", "fold", "split"]).to_pandas()
    lengths = pc.list_value_length(table["vector"]).to_numpy(zero_copy_only=False)
    values = pc.list_flatten(table["vector"]).to_numpy(zero_copy_only=False).astype(np.float64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    out: dict[int, dict[str, tuple[list[str], np.ndarray]]] = {}
    for (fold, split), rows in frame.groupby(["fold", "split"], sort=True):
        widths = set(lengths[rows.index])
        if len(widths) != 1:
            raise WarehouseError(f"fold {fold} ({split}) holds vectors of widths {sorted(widths)}; re-materialize it.")
        k = widths.pop()
        matrix = np.stack([values[offsets[i]:offsets[i] + k] for i in rows.index]) if len(rows) else np.empty((0, k))
        out.setdefault(int(fold), {})[str(split)] = (rows["subject_id"].tolist(), matrix)
    return out


def cohort_design(covariates: pa.Table, columns: Sequence[str], categorical: Sequence[str],
                  group_column: str | None) -> tuple[pd.DataFrame, pd.Series | None]:
    """(the OLS design float64 indexed by subject, the exchangeability block of each subject or None)."""
    aligned = covariates_from_table(covariates, categorical)
    design = pd.DataFrame(design_matrix(aligned, tuple(columns)), index=aligned.table.index)
    blocks = aligned.table[group_column].astype(str) if group_column else None
    return design, blocks


def build_folds(gene: dict, brain: dict | None, design: pd.DataFrame, blocks: pd.Series | None,
                n_gene_components: int) -> list[FoldData]:
    """FoldData per fold from ``fold_vectors`` of residualized embeddings (gene) and brain features (brain).

    Subjects without brain features (left out under the drop policy) are left out; without ``brain``
    (prediction) the brain arrays have no columns. WarehouseError when the two tables disagree on folds
    or brain_features holds subjects the embeddings lack (a stale table).
    """
    if brain is not None and sorted(gene) != sorted(brain):
        raise WarehouseError(f"residualized_embeddings has folds {sorted(gene)} but brain_features {sorted(brain)}; "
                             f"re-materialize brain_features after subject_folds.")
    folds = []
    for fold in sorted(gene):
        sides = {}
        for split in ("train", "test"):
            ids, vectors = gene[fold][split]
            if brain is None:
                sides[split] = (ids, vectors, np.empty((len(ids), 0)))
                continue
            brain_ids, brain_values = brain[fold][split]
            stale = set(brain_ids) - set(ids)
            if stale:
                raise WarehouseError(f"fold {fold} ({split}): brain_features holds {len(stale)} subjects that "
                                     f"residualized_embeddings lacks; re-materialize brain_features.")
            keep = pd.Index(ids).get_indexer(brain_ids)
            sides[split] = (brain_ids, vectors[keep], brain_values)
        (train_ids, gene_train, brain_train), (test_ids, gene_test, brain_test) = sides["train"], sides["test"]
        folds.append(FoldData(
            fold=fold, train_ids=train_ids, test_ids=test_ids,
            gene_train=gene_components(gene_train, n_gene_components, fold),
            gene_test=gene_components(gene_test, n_gene_components, fold),
            brain_train=brain_train, brain_test=brain_test,
            design_train=design.loc[train_ids].to_numpy(), design_test=design.loc[test_ids].to_numpy(),
            blocks_train=None if blocks is None else blocks.loc[train_ids].to_numpy(),
            blocks_test=None if blocks is None else blocks.loc[test_ids].to_numpy(),
        ))
    return folds
