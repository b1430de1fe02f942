from __future__ import annotations

import neuro_omics_assets.warehouse as warehouse


def test_public_api_is_exported():
    assert set(warehouse.__all__) == {
        "TABLES",
        "UNPARTITIONED",
        "Catalog",
        "LineageRecord",
        "read_parquet_metadata",
        "validate",
        "vectors_from_arrow",
        "vectors_to_arrow",
        "write_parquet_atomic",
    }
    assert warehouse.UNPARTITIONED == "all"
