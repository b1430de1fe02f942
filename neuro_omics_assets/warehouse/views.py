"""The SQL of the catalog's views: table names (plain or ``<namespace>.<table>``), and views that read their
Parquet files under the root held in a DuckDB variable, so that the catalog stores no location."""

from __future__ import annotations

import re
from collections.abc import Sequence

from neuro_omics_assets.errors import ConfigError, WarehouseError
from neuro_omics_assets.warehouse.schemas import TableSpec

PARQUET_DIR = "parquet"
#: the DuckDB variable the views read their root from (set on every connection the catalog opens)
ROOT_VARIABLE = "neuro_omics_root"
_NAMESPACE = re.compile(r"[a-z][a-z0-9_]*")


def sql_string(value: str) -> str:
    """``value`` as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def quote(identifier: str) -> str:
    """``identifier`` as a quoted SQL identifier (column names such as ``end`` are keywords)."""
    return '"' + identifier.replace('"', '""') + '"'


def split_table_name(table_name: str) -> tuple[str | None, str]:
    """``"dnabert2.gene_vectors"`` → ``("dnabert2", "gene_vectors")``; ``"genes"`` → ``(None, "genes")``.

    A namespaced table (one per encoder) is a DuckDB view in the schema of its namespace. The asset key
    spelling ``"dnabert2/gene_vectors"`` names the same table, so a lineage row's ``asset_key`` can be used."""
    namespace, _, base = table_name.replace("/", ".").rpartition(".")
    if namespace and not _NAMESPACE.fullmatch(namespace):
        raise ConfigError(f"table {table_name!r}: namespace {namespace!r} is not an encoder name (lower-case letters, "
                          "digits and _, a letter first); write <encoder>.<table>, e.g. dnabert2.gene_vectors.")
    return namespace or None, base


def view_identifier(table_name: str) -> str:
    """The quoted DuckDB name of the view of ``table_name`` (``"ns"."table"`` for a namespaced table)."""
    namespace, base = split_table_name(table_name)
    return f"{quote(namespace)}.{quote(base)}" if namespace else quote(base)


def table_directory(table_name: str, spec: TableSpec) -> str:
    """``parquet/<table>`` or ``parquet/<ns>/<table>``, relative to the warehouse root."""
    namespace, _ = split_table_name(table_name)
    return "/".join(filter(None, [PARQUET_DIR, namespace, spec.name]))


def view_sql(spec: TableSpec, hidden_size: int | None, table_name: str | None = None) -> str:
    """``CREATE OR REPLACE VIEW`` of ``table_name`` (default: the spec's name) over its Parquet files under the
    root in ``ROOT_VARIABLE``, vectors as ``FLOAT[H]``."""
    table_name = table_name or spec.name
    names = spec.schema(hidden_size).names
    columns = [
        f"CAST({quote(name)} AS FLOAT[{hidden_size}]) AS {quote(name)}"
        if name in spec.vector_columns
        else quote(name)
        for name in names
    ]
    if spec.open_columns:
        columns.append(f"* EXCLUDE ({', '.join(quote(name) for name in names)})")
    files = f"/{table_directory(table_name, spec)}/*.parquet"
    return (
        f"CREATE OR REPLACE VIEW {view_identifier(table_name)} AS SELECT {', '.join(columns)} "
        f"FROM read_parquet(getvariable({sql_string(ROOT_VARIABLE)}) || {sql_string(files)}, union_by_name = true)"
    )


def vector_width(spec: TableSpec, storage, files: Sequence[str]) -> int | None:
    """The one vector width of ``files`` (paths relative to ``storage``; None for tables without vectors
    or no files).

    Raises WarehouseError when files disagree, i.e. were written by encoders of different hidden sizes.
    """
    if not spec.vector_columns or not files:
        return None
    by_width: dict[int, list[str]] = {}
    for path in files:
        width = storage.read_schema(path).field(spec.vector_columns[0]).type.list_size
        by_width.setdefault(width, []).append(path)
    if len(by_width) > 1:
        examples = "; ".join(f"width {w}: {[p.rpartition('/')[2] for p in ps[:3]]}"
                             for w, ps in sorted(by_width.items()))
        raise WarehouseError(
            f"table {spec.name} mixes vector widths ({examples}); the encoder changed between writes. "
            "Delete the partitions of the old encoder (Catalog.delete_partition) or re-materialize them."
        )
    return next(iter(by_width))
