from __future__ import annotations

import subprocess
import sys

import neuro_omics_assets.warehouse as warehouse


def test_warehouse_never_imports_dagster():
    code = "import sys, neuro_omics_assets.warehouse; print('dagster' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


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
