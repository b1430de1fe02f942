"""Warehouse layer: Parquet files per partition plus a DuckDB catalog of views and lineage (no Dagster).

Start with ``Catalog(root)``; table schemas live in ``schemas``, atomic files in ``parquet``, and
the writers' lock in ``locking``.
"""

import neuro_omics_assets.warehouse.comparison_schemas  # noqa: F401  (registers the encoder-comparison tables)
import neuro_omics_assets.warehouse.cross_species_schemas  # noqa: F401  (registers the cross-species tables)
import neuro_omics_assets.warehouse.evaluation_schemas  # noqa: F401  (registers the evaluation tables)
import neuro_omics_assets.warehouse.token_schemas  # noqa: F401  (registers the BPE token tables)
from neuro_omics_assets.warehouse import cohort_schemas  # noqa: F401  (registers the cohort tables)
from neuro_omics_assets.warehouse.catalog import UNPARTITIONED, Catalog, LineageRecord
from neuro_omics_assets.warehouse.parquet import read_parquet_metadata, write_parquet_atomic
from neuro_omics_assets.warehouse.schemas import TABLES, validate, vectors_from_arrow, vectors_to_arrow

__all__ = [
    "TABLES",
    "UNPARTITIONED",
    "Catalog",
    "LineageRecord",
    "read_parquet_metadata",
    "validate",
    "vectors_from_arrow",
    "vectors_to_arrow",
    "write_parquet_atomic",
]
