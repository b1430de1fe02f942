from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from neuro_omics_assets.errors import WarehouseError
from neuro_omics_assets.warehouse.evaluation_tables import (
    build_folds,
    empty_frame,
    fold_vectors,
    fold_vectors_table,
    frame_table,
)


def vectors(seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    parts = []
    for fold in range(2):
        parts.append(fold_vectors_table(fold, "train", [f"S{fold}{i}" for i in range(4)], rng.normal(size=(4, 3))))
        parts.append(fold_vectors_table(fold, "test", [f"T{fold}{i}" for i in range(2)], rng.normal(size=(2, 3))))
    return pa.concat_tables(parts)


def test_fold_vectors_round_trip():
    table = vectors()
    read = fold_vectors(table)
    assert sorted(read) == [0, 1]
    ids, matrix = read[1]["test"]
    assert ids == ["T10", "T11"] and matrix.shape == (2, 3)
    rows = table.to_pandas().query("fold == 1 and split == 'test'")
    np.testing.assert_array_equal(matrix, np.stack(rows["vector"].to_numpy()))


def test_build_folds_aligns_brain_rows_and_refuses_stale_tables():
    gene = fold_vectors(vectors(0))
    brain = {f: {s: (ids[::-1], m[::-1] + 100) for s, (ids, m) in splits.items()} for f, splits in gene.items()}
    subjects = [i for f in gene.values() for ids, _ in f.values() for i in ids]
    design = pd.DataFrame(np.ones((len(subjects), 1)), index=subjects)
    folds = build_folds(gene, brain, design, None, n_gene_components=2)
    # brain rows were stored in reverse order: they come back in reverse, and gene rows follow them
    np.testing.assert_array_equal(folds[0].gene_train, gene[0]["train"][1][::-1, :2])
    assert folds[0].train_ids == gene[0]["train"][0][::-1]
    stale = {**brain, 1: {**brain[1], "test": (["X"], np.zeros((1, 3)))}}
    with pytest.raises(WarehouseError, match="brain_features holds 1 subjects"):
        build_folds(gene, stale, design, None, 2)


def test_frame_tables_validate_and_empty_frames_have_every_column():
    empty = empty_frame("phenotype_prediction")
    assert len(empty) == 0 and "p_value" in empty.columns
    assert frame_table(empty, "phenotype_prediction").num_rows == 0
    with pytest.raises(WarehouseError, match="missing columns"):
        frame_table(pd.DataFrame({"encoder": ["x"]}), "gene_brain_cca")
