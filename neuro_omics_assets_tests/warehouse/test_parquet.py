from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from neuro_omics_assets.errors import WarehouseError
from neuro_omics_assets.warehouse import parquet
from neuro_omics_assets.warehouse.parquet import (
    read_parquet_metadata,
    remove_stale_temp_files,
    write_parquet_atomic,
)


def _table(values: list[int]) -> pa.Table:
    return pa.table({"x": pa.array(values, pa.int64())})


def test_atomic_write_leaves_only_the_final_file_with_metadata(tmp_path):
    table = _table([1, 2, 3]).replace_schema_metadata({"origin": "table", "shared": "old"})

    path = write_parquet_atomic(table, tmp_path / "all.parquet", {"model_sha256": "abc", "shared": "new"})

    assert path == tmp_path / "all.parquet"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all.parquet"]
    assert pq.read_table(path)["x"].to_pylist() == [1, 2, 3]
    # the table's own metadata is kept and the caller's wins on equal keys
    assert read_parquet_metadata(path) == {"origin": "table", "shared": "new", "model_sha256": "abc"}


def test_atomic_write_replaces_an_existing_file(tmp_path):
    path = write_parquet_atomic(_table([1]), tmp_path / "p.parquet")
    write_parquet_atomic(_table([2, 3]), path)
    assert pq.read_table(path)["x"].to_pylist() == [2, 3]
    assert [p.name for p in tmp_path.iterdir()] == ["p.parquet"]


def _partial_write_then_fail(error: BaseException):
    def write_table(table, where, **kwargs):
        where.write(b"PAR1 half a file")
        raise error

    return write_table


# KeyboardInterrupt too: a Ctrl-C mid-write must not leave a temp file behind.
@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_failed_write_leaves_no_file_and_no_temp(tmp_path, monkeypatch, error):
    monkeypatch.setattr(parquet.pq, "write_table", _partial_write_then_fail(error))
    with pytest.raises(type(error)):
        write_parquet_atomic(_table([1]), tmp_path / "p.parquet", {"k": "v"})
    assert list(tmp_path.iterdir()) == []


def test_failed_overwrite_keeps_the_previous_file(tmp_path, monkeypatch):
    path = write_parquet_atomic(_table([1, 2]), tmp_path / "p.parquet", {"version": "1"})
    monkeypatch.setattr(parquet.pq, "write_table", _partial_write_then_fail(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        write_parquet_atomic(_table([9]), path, {"version": "2"})
    assert [p.name for p in tmp_path.iterdir()] == ["p.parquet"]
    assert pq.read_table(path)["x"].to_pylist() == [1, 2]
    assert read_parquet_metadata(path) == {"version": "1"}


def test_metadata_values_must_be_strings(tmp_path):
    with pytest.raises(WarehouseError, match="'rows': int"):
        write_parquet_atomic(_table([1]), tmp_path / "p.parquet", {"rows": 1})
    assert list(tmp_path.iterdir()) == []


def test_remove_stale_temp_files_keeps_finished_files(tmp_path):
    (tmp_path / "chunk_001.parquet").write_bytes(b"x")
    (tmp_path / ".chunk_002.parquet.123.abcd.tmp").write_bytes(b"partial")

    removed = remove_stale_temp_files(tmp_path)

    assert removed == [tmp_path / ".chunk_002.parquet.123.abcd.tmp"]
    assert [p.name for p in tmp_path.iterdir()] == ["chunk_001.parquet"]
    assert remove_stale_temp_files(tmp_path / "absent") == []


def test_read_metadata_of_a_non_parquet_file_says_so(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(WarehouseError, match="cannot read Parquet metadata of .*bad.parquet"):
        read_parquet_metadata(bad)
