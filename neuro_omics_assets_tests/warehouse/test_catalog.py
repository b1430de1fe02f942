from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from neuro_omics_assets.errors import ConfigError, WarehouseError
from neuro_omics_assets.warehouse.catalog import Catalog, LineageRecord
from neuro_omics_assets.warehouse.parquet import read_parquet_metadata
from neuro_omics_assets.warehouse.schemas import WAREHOUSE_SCHEMA_VERSION, vectors_from_arrow
from neuro_omics_assets_tests.warehouse.builders import (
    gene_sequences_table,
    gene_vectors_table,
    token_embeddings_table,
)

MATRIX = np.array([[1, 0, 0, 0, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0, 0, 0], [0, 0, 3, 4, 0, 0, 0, 0]], np.float32)


@pytest.fixture
def catalog(tmp_path) -> Catalog:
    return Catalog(tmp_path / "wh")


def _column_types(catalog: Catalog, table: str) -> dict[str, str]:
    described = catalog.query(f"DESCRIBE {table}")
    return dict(zip(described["column_name"], described["column_type"], strict=True))


def test_layout_of_a_warehouse_root(catalog, tmp_path):
    path = catalog.write_partition("gene_vectors", "chunk_000", gene_vectors_table(MATRIX))
    assert path == tmp_path / "wh" / "parquet" / "gene_vectors" / "chunk_000.parquet"
    assert catalog.db_path == tmp_path / "wh" / "neuro_omics.duckdb"
    assert sorted(p.name for p in (tmp_path / "wh").iterdir()) == [
        ".catalog.lock",
        "neuro_omics.duckdb",
        "parquet",
    ]


def test_view_types_vectors_as_fixed_size_float_arrays(catalog):
    catalog.write_partition("gene_vectors", "chunk_000", gene_vectors_table(MATRIX))
    types = _column_types(catalog, "gene_vectors")
    assert types["embedding"] == "FLOAT[8]"
    assert types["n_bases"] == "BIGINT"
    assert types["chunk"] == "INTEGER"


def test_vectors_round_trip_through_view_and_partition(catalog):
    catalog.write_partition("gene_vectors", "chunk_000", gene_vectors_table(MATRIX))
    frame = catalog.query("SELECT embedding FROM gene_vectors ORDER BY gene_id")
    np.testing.assert_array_equal(np.stack(frame["embedding"].to_list()), MATRIX)
    stored = catalog.read_partition("gene_vectors", "chunk_000")
    np.testing.assert_array_equal(vectors_from_arrow(stored["embedding"]), MATRIX)


def test_array_cosine_similarity_between_rows(catalog):
    catalog.write_partition("gene_vectors", "chunk_000", gene_vectors_table(MATRIX))
    frame = catalog.query(
        "SELECT array_cosine_similarity(a.embedding, b.embedding) AS cosine "
        "FROM gene_vectors a, gene_vectors b WHERE a.gene_id = ? AND b.gene_id = ?",
        ["g0_0", "g0_1"],
    )
    assert frame["cosine"].iloc[0] == pytest.approx(1 / np.sqrt(2), abs=1e-6)


def test_view_spans_partitions_and_partition_metadata_is_kept(catalog):
    first = catalog.write_partition(
        "gene_vectors", "chunk_000", gene_vectors_table(MATRIX, 0), {"model": "m1"}
    )
    catalog.write_partition("gene_vectors", "chunk_001", gene_vectors_table(MATRIX[:2], 1))
    assert catalog.partitions("gene_vectors") == ["chunk_000", "chunk_001"]
    counts = catalog.query("SELECT chunk, count(*) AS n FROM gene_vectors GROUP BY chunk ORDER BY chunk")
    assert counts.to_dict("list") == {"chunk": [0, 1], "n": [3, 2]}
    assert read_parquet_metadata(first) == {"model": "m1"}


def test_rewriting_a_partition_replaces_its_rows(catalog):
    catalog.write_partition("gene_vectors", "chunk_000", gene_vectors_table(MATRIX))
    catalog.write_partition("gene_vectors", "chunk_000", gene_vectors_table(MATRIX[2:]))
    assert catalog.query("SELECT gene_id FROM gene_vectors")["gene_id"].to_list() == ["g0_0"]


def test_two_vector_columns_and_keyword_columns(catalog):
    catalog.write_partition("token_embeddings", "chunk_001", token_embeddings_table(6))
    catalog.write_partition("gene_sequences", "all", gene_sequences_table())
    types = _column_types(catalog, "token_embeddings")
    assert (types["token_sum"], types["cls"]) == ("FLOAT[6]", "FLOAT[6]")
    # "end" is an SQL keyword: the view must quote it
    frame = catalog.query('SELECT gene_id, "end" - start AS span FROM gene_sequences ORDER BY gene_id')
    assert frame.to_dict("list") == {"gene_id": ["ENSG01", "ENSG02"], "span": [8, 4]}


def test_delete_partition_and_drop_the_empty_view(catalog):
    catalog.write_partition("gene_vectors", "chunk_000", gene_vectors_table(MATRIX, 0))
    catalog.write_partition("gene_vectors", "chunk_001", gene_vectors_table(MATRIX, 1))
    assert catalog.delete_partition("gene_vectors", "chunk_000") is True
    assert catalog.query("SELECT DISTINCT chunk FROM gene_vectors")["chunk"].to_list() == [1]
    assert catalog.delete_partition("gene_vectors", "chunk_000") is False
    assert catalog.delete_partition("gene_vectors", "chunk_001") is True
    assert catalog.partitions("gene_vectors") == []
    with pytest.raises(WarehouseError, match="gene_vectors does not exist"):
        catalog.query("SELECT * FROM gene_vectors")


def test_a_different_vector_width_is_rejected_before_writing(catalog):
    catalog.write_partition("gene_vectors", "chunk_000", gene_vectors_table(MATRIX))
    with pytest.raises(WarehouseError, match="width 4 but the table's other partitions have width 8"):
        catalog.write_partition(
            "gene_vectors", "chunk_001", gene_vectors_table(np.ones((2, 4), np.float32), 1)
        )
    assert catalog.partitions("gene_vectors") == ["chunk_000"]
    assert _column_types(catalog, "gene_vectors")["embedding"] == "FLOAT[8]"


def test_schema_violation_names_the_column_and_writes_nothing(catalog):
    table = gene_vectors_table(MATRIX).drop_columns(["pooling"])
    with pytest.raises(WarehouseError, match=r"gene_vectors/chunk_000 .*missing columns \['pooling'\]"):
        catalog.write_partition("gene_vectors", "chunk_000", table)
    assert catalog.partitions("gene_vectors") == []


# names that would escape the table directory, hide the file, or be empty
@pytest.mark.parametrize("partition", ["../x", "a/b", ".hidden", ""])
def test_unsafe_partition_names_are_rejected(catalog, partition):
    with pytest.raises(ConfigError, match="not a valid file name"):
        catalog.write_partition("gene_vectors", partition, gene_vectors_table(MATRIX))


def test_unknown_table_is_rejected(catalog):
    with pytest.raises(ConfigError, match="unknown warehouse table 'vectors'"):
        catalog.partitions("vectors")


def test_missing_partition_read_says_what_is_present(catalog):
    catalog.write_partition("gene_vectors", "chunk_000", gene_vectors_table(MATRIX))
    with pytest.raises(WarehouseError, match=r"no partition 'chunk_009' .*present: \['chunk_000'\]"):
        catalog.read_partition("gene_vectors", "chunk_009")


def test_query_against_a_missing_catalog(catalog):
    with pytest.raises(WarehouseError) as info:
        catalog.query("SELECT 1")
    assert str(info.value) == (
        f"no catalog at {catalog.root}/neuro_omics.duckdb; run `neuro-omics demo` or materialize an asset first"
    )


def test_queries_cannot_write(catalog):
    catalog.refresh_all()
    with pytest.raises(WarehouseError, match="read-only"):
        catalog.query("INSERT INTO catalog_meta VALUES ('k', 'v')")
    assert catalog.get_meta("k") is None


def test_lineage_rows_are_recorded_and_filtered(catalog):
    when = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    catalog.record_lineage(
        LineageRecord(
            "gene_vectors",
            "chunk_000",
            "run-1",
            "v1",
            3,
            "/p/chunk_000.parquet",
            input_checksums={"token_embeddings/chunk_000": "abc"},
            metadata={"pooling": "mean", "rc": True},
            written_at=when,
        )
    )
    catalog.record_lineage(LineageRecord("gene_sequences", "all", "run-2", "v1", 2, "/p/all.parquet"))

    everything = catalog.lineage()
    rows = catalog.lineage("gene_vectors")

    assert everything["asset_key"].to_list() == ["gene_vectors", "gene_sequences"]
    assert len(rows) == 1
    row = rows.iloc[0]
    assert (row["partition"], row["run_id"], row["code_version"], row["rows"]) == (
        "chunk_000",
        "run-1",
        "v1",
        3,
    )
    assert json.loads(row["input_checksums"]) == {"token_embeddings/chunk_000": "abc"}
    assert json.loads(row["metadata"]) == {"pooling": "mean", "rc": True}
    assert row["written_at"].to_pydatetime() == when


def test_lineage_rejects_unserialisable_metadata_and_naive_times(catalog):
    with pytest.raises(WarehouseError, match="metadata of gene_vectors is not JSON-serialisable"):
        catalog.record_lineage(
            LineageRecord("gene_vectors", "all", "r", "v1", 1, "/p", metadata={"x": object()})
        )
    with pytest.raises(ConfigError, match="has no timezone"):
        LineageRecord("gene_vectors", "all", "r", "v1", 1, "/p", written_at=datetime(2025, 1, 1))
    assert LineageRecord("a", "b", "r", "v", 0, "/p").written_at - datetime.now(UTC) < timedelta(seconds=5)


def test_catalog_meta_holds_the_schema_version_and_other_keys(catalog):
    catalog.refresh_all()
    assert catalog.get_meta("schema_version") == WAREHOUSE_SCHEMA_VERSION
    catalog.set_meta("demo_seed", "42")
    catalog.set_meta("demo_seed", "43")
    assert catalog.get_meta("demo_seed") == "43"


def test_a_catalog_of_another_schema_version_is_refused(catalog):
    catalog.set_meta("schema_version", "0")
    with pytest.raises(WarehouseError, match="schema version 0 but this code writes version"):
        catalog.write_partition("gene_vectors", "chunk_000", gene_vectors_table(MATRIX))


def test_moved_warehouse_works_after_refresh_all(catalog, tmp_path):
    catalog.write_partition("gene_vectors", "chunk_000", gene_vectors_table(MATRIX))
    moved = Catalog(shutil.move(catalog.root, tmp_path / "moved"))
    # the views still point at the old absolute paths until refreshed
    with pytest.raises(WarehouseError, match="No files found .*run Catalog\\(root\\).refresh_all"):
        moved.query("SELECT count(*) AS n FROM gene_vectors")
    moved.refresh_all()
    assert moved.query("SELECT count(*) AS n FROM gene_vectors")["n"].iloc[0] == 3


def test_refresh_all_removes_temp_files_of_killed_writers(catalog):
    path = catalog.write_partition("gene_vectors", "chunk_000", gene_vectors_table(MATRIX))
    stale = path.with_name(".chunk_001.parquet.999.beef.tmp")
    stale.write_bytes(b"PAR1 partial")
    catalog.refresh_all()
    assert not stale.exists()
    assert catalog.query("SELECT count(*) AS n FROM gene_vectors")["n"].iloc[0] == 3


def test_unpartitioned_tables_use_the_all_partition(catalog):
    summary = pa.table(
        {"strategy": ["mean", "cls"], "similarity_structure_corr": [1.0, 0.8], "mean_rc_cosine": [0.9, None]}
    )
    catalog.write_partition("embedding_stability_summary", "all", summary)
    assert catalog.partitions("embedding_stability_summary") == ["all"]
    frame = catalog.query("SELECT strategy FROM embedding_stability_summary WHERE mean_rc_cosine IS NULL")
    assert frame["strategy"].to_list() == ["cls"]


def test_root_with_glob_characters_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="glob pattern"):
        Catalog(tmp_path / "run[1]")


def test_namespaced_tables_are_views_in_the_encoders_schema_and_keep_their_own_widths(catalog, tmp_path):
    wide = np.ones((2, 16), np.float32)
    path = catalog.write_partition("dnabert2.gene_vectors", "chunk_000", gene_vectors_table(MATRIX))
    catalog.write_partition("caduceus_ps.gene_vectors", "chunk_000", gene_vectors_table(wide))
    assert path == tmp_path / "wh" / "parquet" / "dnabert2" / "gene_vectors" / "chunk_000.parquet"
    assert catalog.partitions("caduceus_ps.gene_vectors") == ["chunk_000"] and catalog.partitions("gene_vectors") == []
    assert _column_types(catalog, "dnabert2.gene_vectors")["embedding"] == "FLOAT[8]"
    assert _column_types(catalog, "caduceus_ps.gene_vectors")["embedding"] == "FLOAT[16]"
    assert catalog.query("SELECT count(*) AS n FROM caduceus_ps.gene_vectors")["n"].iloc[0] == 2
    with pytest.raises(WarehouseError, match="does not exist"):
        catalog.query("SELECT * FROM gene_vectors")  # no unqualified view mixes the encoders
    assert sorted(catalog.table_names()) == ["caduceus_ps.gene_vectors", "dnabert2.gene_vectors"]


def test_namespaced_views_survive_refresh_all_and_vanish_with_their_last_partition(catalog):
    catalog.write_partition("dnabert2.gene_vectors", "chunk_000", gene_vectors_table(MATRIX))
    catalog.refresh_all()
    assert catalog.query("SELECT count(*) AS n FROM dnabert2.gene_vectors")["n"].iloc[0] == 3
    assert catalog.delete_partition("dnabert2.gene_vectors", "chunk_000")
    with pytest.raises(WarehouseError, match="does not exist"):
        catalog.query("SELECT * FROM dnabert2.gene_vectors")
    catalog.define_view("dnabert2.gene_count", "SELECT 1 AS n")
    assert catalog.query("SELECT n FROM dnabert2.gene_count")["n"].tolist() == [1]
    with pytest.raises(ConfigError, match="is a Parquet table"):
        catalog.define_view("dnabert2.gene_vectors", "SELECT 1 AS n")
