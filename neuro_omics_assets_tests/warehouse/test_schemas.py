from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from neuro_omics_assets.errors import ConfigError, WarehouseError
from neuro_omics_assets.warehouse.schemas import (
    TABLES,
    infer_hidden_size,
    table_spec,
    validate,
    vector_type,
    vectors_from_arrow,
    vectors_to_arrow,
)
from neuro_omics_assets_tests.warehouse.builders import gene_sequences_table, gene_vectors_table


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_registered_schema_types_its_vectors_with_the_hidden_size(name):
    spec = TABLES[name]
    schema = spec.schema(16 if spec.vector_columns else None)
    assert spec.name == name
    for column in spec.vector_columns:
        assert schema.field(column).type == pa.list_(pa.float32(), 16)
    assert not [
        f for f in schema if f.name not in spec.vector_columns and pa.types.is_fixed_size_list(f.type)
    ]


def test_vector_table_schema_requires_hidden_size():
    with pytest.raises(ConfigError, match="gene_vectors holds vectors"):
        TABLES["gene_vectors"].schema()


def test_vector_type_rejects_non_positive_width():
    with pytest.raises(ConfigError, match="got 0"):
        vector_type(0)


def test_unknown_table_lists_known_tables():
    with pytest.raises(ConfigError, match="unknown warehouse table 'gene_sequence'.*gene_sequences"):
        table_spec("gene_sequence")


def test_validate_casts_compatible_columns_and_reorders():
    matrix = np.array([[1.0, 2.0], [3.0, 4.0]])
    table = gene_vectors_table(matrix.astype(np.float32))
    # float64 variable-size lists, int64 chunk, columns reversed: all fixable by a cast.
    loose = table.set_column(
        table.schema.get_field_index("embedding"), "embedding", pa.array(matrix.tolist())
    )
    loose = loose.set_column(0, "chunk", pa.array([7, 7], pa.int64()))
    loose = loose.select(list(reversed(loose.column_names)))
    schema = TABLES["gene_vectors"].schema(2)

    result = validate(loose, schema)

    assert result.schema.equals(schema)
    assert result["chunk"].to_pylist() == [7, 7]
    np.testing.assert_array_equal(vectors_from_arrow(result["embedding"]), matrix.astype(np.float32))


def test_validate_casts_all_null_and_string_columns():
    result = validate(gene_sequences_table(), TABLES["gene_sequences"].schema())
    assert result["transcript_id"].type == pa.string()
    assert result["transcript_id"].to_pylist() == [None, None]
    assert result["sequence"].type == pa.large_string()
    assert result["end"].to_pylist() == [3314, 14152]


def test_validate_keeps_table_metadata():
    table = gene_sequences_table().replace_schema_metadata({"source": "test"})
    assert validate(table, TABLES["gene_sequences"].schema()).schema.metadata == {b"source": b"test"}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        # a column dropped
        (lambda t: t.drop_columns(["n_count"]), r"missing columns \['n_count'\]"),
        # an unknown column added
        (lambda t: t.append_column("score", pa.array([1, 2])), r"unexpected columns \['score'\]"),
        # text where a number belongs is never parsed
        (lambda t: t.set_column(10, "length", pa.array(["8", "4"])), "length: string is not int64"),
        # a value that does not fit int32
        (lambda t: t.set_column(16, "chunk", pa.array([2**40, 1])), "chunk: cannot cast int64 to int32"),
        # null in a non-nullable column
        (lambda t: t.set_column(0, "gene_id", pa.array(["ENSG01", None])), "gene_id: 1 null values"),
    ],
)
def test_validate_names_the_bad_column(mutate, message):
    with pytest.raises(WarehouseError, match=message) as info:
        validate(mutate(gene_sequences_table()), TABLES["gene_sequences"].schema(), what="gene_sequences/all")
    assert str(info.value).startswith("gene_sequences/all does not match its schema")


def test_validate_rejects_vectors_of_the_wrong_length():
    table = gene_vectors_table(np.zeros((2, 3), np.float32))
    with pytest.raises(WarehouseError, match="embedding: cannot cast"):
        validate(table, TABLES["gene_vectors"].schema(4))


def test_infer_hidden_size_from_fixed_and_variable_lists():
    spec = TABLES["gene_vectors"]
    table = gene_vectors_table(np.zeros((2, 5), np.float32))
    assert infer_hidden_size(table, spec) == 5
    variable = table.set_column(9, "embedding", pa.array([[0.0] * 5, [1.0] * 5]))
    assert infer_hidden_size(variable, spec) == 5
    assert infer_hidden_size(gene_sequences_table(), TABLES["gene_sequences"]) is None


def test_infer_hidden_size_rejects_ragged_or_missing_vectors():
    spec = TABLES["gene_vectors"]
    table = gene_vectors_table(np.zeros((2, 5), np.float32))
    with pytest.raises(WarehouseError, match=r"widths \[2, 3\]"):
        infer_hidden_size(table.set_column(9, "embedding", pa.array([[0.0] * 2, [0.0] * 3])), spec)
    with pytest.raises(WarehouseError, match=r"lacks vector columns \['embedding'\]"):
        infer_hidden_size(table.drop_columns(["embedding"]), spec)


def test_vectors_round_trip_through_arrow():
    matrix = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    array = vectors_to_arrow(matrix)
    assert array.type == pa.list_(pa.float32(), 4)
    result = vectors_from_arrow(pa.chunked_array([array[:1], array[1:]]))
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, matrix)


def test_vectors_to_arrow_rejects_one_dimensional_input():
    with pytest.raises(ConfigError, match=r"shape \(4,\)"):
        vectors_to_arrow(np.zeros(4))
