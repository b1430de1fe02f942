"""Storage selection and settings (the S3 behaviour itself runs against a real server in services/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from neuro_omics_assets.errors import ConfigError
from neuro_omics_assets.warehouse.catalog import Catalog
from neuro_omics_assets.warehouse.storage import LocalStorage, S3Options, S3Storage, is_s3_url, open_storage


def test_an_s3_root_gets_s3_storage_and_a_directory_local_storage(tmp_path):
    assert isinstance(open_storage("s3://bucket/prefix", S3Options(endpoint="http://127.0.0.1:9")), S3Storage)
    assert isinstance(open_storage(tmp_path), LocalStorage)
    assert is_s3_url("s3://b") and not is_s3_url(tmp_path)
    storage = open_storage("s3://bucket/prefix/", S3Options(endpoint="http://127.0.0.1:9"))
    assert storage.url("parquet/genes/all.parquet") == "s3://bucket/prefix/parquet/genes/all.parquet"


@pytest.mark.parametrize(("options", "message"), [
    (dict(access_key_id="k"), "must be given together"),  # a key without its secret
    (dict(endpoint="minio:9000"), "needs its scheme"),  # scheme decides TLS: it must be explicit
])
def test_s3_options_refuse_inconsistent_settings(options, message):
    with pytest.raises(ConfigError, match=message):
        S3Options(**options)


def test_an_s3_warehouse_needs_a_local_catalog_directory(tmp_path):
    with pytest.raises(ConfigError, match="set the catalog directory"):
        Catalog("s3://bucket/wh", s3=S3Options(endpoint="http://127.0.0.1:9"))
    catalog = Catalog("s3://bucket/wh", catalog_dir=tmp_path, s3=S3Options(endpoint="http://127.0.0.1:9"))
    assert catalog.db_path == tmp_path / "neuro_omics.duckdb"
    assert catalog.partition_url("genes", "all") == "s3://bucket/wh/parquet/genes/all.parquet"


def test_s3_settings_with_a_local_root_are_refused(tmp_path: Path):
    with pytest.raises(ConfigError, match="is a local directory"):
        open_storage(tmp_path, S3Options())


def test_local_side_files_are_written_whole(tmp_path):
    storage = LocalStorage(tmp_path)
    url = storage.write_bytes("parquet/t/plot.png", b"png")
    assert Path(url).read_bytes() == b"png" == storage.read_bytes("parquet/t/plot.png")
    assert storage.list("parquet/t", ".png") == ["plot.png"]
    assert storage.delete("parquet/t/plot.png") and not storage.delete("parquet/t/plot.png")
