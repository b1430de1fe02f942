"""The warehouse: one Parquet file per partition plus a DuckDB catalog of views and lineage.

Layout of a warehouse root ``R``::

    R/parquet/<table>/<partition>.parquet   one file per partition ("all" for unpartitioned tables)
    R/parquet/<ns>/<table>/<partition>.parquet   a table of namespace ``ns`` (an encoder): ``<ns>.<table>``
    R/neuro_omics.duckdb                    views over the Parquet files, ``lineage``, ``catalog_meta``
    R/.catalog.lock                         flock serialising writers

Concurrency contract:

* Writers (``write_partition``, ``delete_partition``, ``refresh_*``, ``record_lineage``, ``set_meta``)
  take the flock first, then open DuckDB read-write for the few statements they need. Writers in
  several processes therefore queue on the flock and never fail on DuckDB's lock; they wait up to
  ``busy_timeout_s`` for readers to close.
* Readers (``query``, ``lineage``, ``connect_read_only``) open DuckDB read-only without the flock,
  retrying with backoff while a writer holds the file, for up to ``busy_timeout_s``.
* Parquet files appear by atomic rename, so a view never reads a half-written partition.

The views embed absolute paths: after moving or copying the warehouse run ``Catalog(new_root).refresh_all()``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from neuro_omics_assets.errors import ConfigError, WarehouseError
from neuro_omics_assets.warehouse.lineage import LineageRecord, insert_lineage
from neuro_omics_assets.warehouse.locking import connect_with_retry, exclusive_lock
from neuro_omics_assets.warehouse.parquet import (
    fsync_directory,
    read_parquet_metadata,
    remove_stale_temp_files,
    write_parquet_atomic,
)
from neuro_omics_assets.warehouse.schemas import (
    TABLES,
    WAREHOUSE_SCHEMA_VERSION,
    TableSpec,
    infer_hidden_size,
    lineage_schema,
    table_spec,
    validate,
)

log = logging.getLogger(__name__)

DB_NAME = "neuro_omics.duckdb"
LOCK_NAME = ".catalog.lock"
PARQUET_DIR = "parquet"
UNPARTITIONED = "all"
_PARTITION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.=-]*")
_NAMESPACE = re.compile(r"[a-z][a-z0-9_]*")
# DuckDB would expand these as glob patterns inside the views' read_parquet paths.
_GLOB_CHARACTERS = frozenset("*?[]{}")
# What ``query`` runs: SELECT (also DESCRIBE, SHOW, SUMMARIZE, FROM ..., VALUES) and EXPLAIN. A read-only
# connection protects the catalog file only; COPY ... TO, EXPORT DATABASE or INSTALL would still write
# files (a COPY into parquet/<table>/ adds a partition to the views without lineage), so they are refused.
_READ_STATEMENTS = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})
#: Settings of every read-only connection. Views that join a few filtered rows to a large table (the
#: ``subject_embeddings`` view: one subject's haplotypes to the distinct vectors) are written with the large
#: table on the probe side, where the join's dynamic filter prunes its row groups; DuckDB's build/probe flip
#: would undo that on its 20 % selectivity guess for string filters over Parquet (``cohort_views``). The IN
#: list threshold covers one subject's haplotype indices (2 x genes), exact where a Bloom filter is not.
QUERY_SETTINGS = {"disabled_optimizers": "build_side_probe_side", "dynamic_or_filter_threshold": 4096}


def _sql_string(value: str) -> str:
    """``value`` as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _quote(identifier: str) -> str:
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
    return f"{_quote(namespace)}.{_quote(base)}" if namespace else _quote(base)


def view_sql(spec: TableSpec, glob: str, hidden_size: int | None, table_name: str | None = None) -> str:
    """``CREATE OR REPLACE VIEW`` over the Parquet files matching ``glob``, vectors as ``FLOAT[H]``; the view is
    named ``table_name`` (default: the spec's name)."""
    names = spec.schema(hidden_size).names
    columns = [
        f"CAST({_quote(name)} AS FLOAT[{hidden_size}]) AS {_quote(name)}"
        if name in spec.vector_columns
        else _quote(name)
        for name in names
    ]
    if spec.open_columns:
        columns.append(f"* EXCLUDE ({', '.join(_quote(name) for name in names)})")
    return (
        f"CREATE OR REPLACE VIEW {view_identifier(table_name or spec.name)} AS SELECT {', '.join(columns)} "
        f"FROM read_parquet({_sql_string(glob)}, union_by_name = true)"
    )


def _vector_width(spec: TableSpec, files: Sequence[Path]) -> int | None:
    """The one vector width of ``files`` (None for tables without vectors or no files).

    Raises WarehouseError when files disagree, i.e. were written by encoders of different hidden sizes.
    """
    if not spec.vector_columns or not files:
        return None
    by_width: dict[int, list[Path]] = {}
    for path in files:
        width = pq.read_schema(path).field(spec.vector_columns[0]).type.list_size
        by_width.setdefault(width, []).append(path)
    if len(by_width) > 1:
        examples = "; ".join(f"width {w}: {[p.name for p in ps[:3]]}" for w, ps in sorted(by_width.items()))
        raise WarehouseError(
            f"table {spec.name} mixes vector widths ({examples}); the encoder changed between writes. "
            "Delete the partitions of the old encoder (Catalog.delete_partition) or re-materialize them."
        )
    return next(iter(by_width))


class Catalog:
    """A warehouse rooted at ``root`` (see the module docstring for layout and concurrency)."""

    def __init__(self, root: Path, *, busy_timeout_s: float = 30.0, lock_timeout_s: float = 120.0) -> None:
        self.root = Path(root).resolve()
        if _GLOB_CHARACTERS & set(str(self.root)):
            raise ConfigError(
                f"warehouse root {self.root} contains one of {''.join(sorted(_GLOB_CHARACTERS))}, which "
                "DuckDB would read as a glob pattern; choose a directory name without them."
            )
        self.busy_timeout_s = busy_timeout_s
        self.lock_timeout_s = lock_timeout_s
        self.db_path = self.root / DB_NAME
        self.lock_path = self.root / LOCK_NAME

    def table_dir(self, table_name: str) -> Path:
        """``R/parquet/<table>`` (``R/parquet/<ns>/<table>`` for ``<ns>.<table>``), the directory of a registered
        table's partition files."""
        namespace, base = split_table_name(table_name)
        return self.root / PARQUET_DIR / Path(*filter(None, [namespace, table_spec(base).name]))

    def table_names(self) -> list[str]:
        """Every registered table, plain and namespaced, that has a directory in this warehouse."""
        parquet = self.root / PARQUET_DIR
        names = [name for name in TABLES if (parquet / name).is_dir()]
        for directory in sorted(parquet.glob("*/*/")) if parquet.is_dir() else []:
            if directory.parent.name not in TABLES and directory.name in TABLES:
                names.append(f"{directory.parent.name}.{directory.name}")
        return names

    def partition_path(self, table_name: str, partition: str) -> Path:
        """``R/parquet/<table>/<partition>.parquet``; ConfigError for names unsafe as file names."""
        if not _PARTITION_NAME.fullmatch(partition):
            raise ConfigError(
                f"partition {partition!r} of table {table_name} is not a valid file name; use letters, "
                "digits, '_', '-', '.', '=' and start with a letter or digit."
            )
        return self.table_dir(table_name) / f"{partition}.parquet"

    def partitions(self, table_name: str) -> list[str]:
        """Sorted names of the partitions of ``table_name`` present on disk."""
        return sorted(path.stem for path in self.table_dir(table_name).glob("*.parquet"))

    def read_partition(self, table_name: str, partition: str, filters: list[tuple] | None = None) -> pa.Table:
        """One partition as an Arrow table (its rows passing ``filters``, pyarrow's DNF, row groups that
        cannot match are not read); WarehouseError when it has not been written."""
        path = self.partition_path(table_name, partition)
        if not path.exists():
            raise WarehouseError(
                f"no partition {partition!r} of table {table_name} at {path}; materialize it first "
                f"(present: {self.partitions(table_name) or 'none'})."
            )
        return pq.read_table(path, filters=filters)

    def partition_metadata(self, table_name: str, partition: str) -> dict[str, str]:
        """The key-value metadata (lineage settings) stored in one partition's Parquet file."""
        return read_parquet_metadata(self.partition_path(table_name, partition))

    def write_partition(
        self,
        table_name: str,
        partition: str,
        table: pa.Table,
        metadata: Mapping[str, str] | None = None,
        lineage: LineageRecord | None = None,
    ) -> Path:
        """Validate ``table`` against the table's schema, write it atomically, refresh the view.

        ``metadata`` lands in the Parquet schema metadata; ``lineage``, when given, is appended to the
        ``lineage`` table in the same catalog transaction as the view refresh. Vector width is taken
        from the vector columns; it must equal that of the table's other partitions. Returns the path.
        """
        spec = table_spec(split_table_name(table_name)[1])
        path = self.partition_path(table_name, partition)
        hidden_size = infer_hidden_size(table, spec)
        schema = spec.schema(hidden_size)
        if spec.open_columns:
            schema = pa.schema([*schema, *(field for field in table.schema if field.name not in schema.names)])
        validated = validate(table, schema, what=f"{table_name}/{partition}")
        with exclusive_lock(self.lock_path, self.lock_timeout_s):
            path.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_temp_files(path.parent)
            others = [p for p in sorted(path.parent.glob("*.parquet")) if p != path]
            existing = _vector_width(spec, others)
            if existing not in (None, hidden_size):
                raise WarehouseError(
                    f"{table_name}/{partition} has vectors of width {hidden_size} but the table's other "
                    f"partitions have width {existing}; the encoder changed. Delete the old partitions "
                    "(Catalog.delete_partition) or use a new warehouse root."
                )
            write_parquet_atomic(validated, path, metadata, spec.row_group_rows)
            with self._connect_rw() as con:
                self._refresh_view_locked(con, table_name)
                if lineage is not None:
                    insert_lineage(con, lineage)
        log.info("wrote %s/%s (%d rows) to %s", table_name, partition, validated.num_rows, path)
        return path

    def delete_partition(self, table_name: str, partition: str) -> bool:
        """Remove one partition file and refresh the view; returns whether the file existed."""
        path = self.partition_path(table_name, partition)
        with exclusive_lock(self.lock_path, self.lock_timeout_s):
            existed = path.exists()
            if existed:
                path.unlink()
                fsync_directory(path.parent)
            with self._connect_rw() as con:
                self._refresh_view_locked(con, table_name)
        log.info("deleted %s/%s: %s", table_name, partition, "removed" if existed else "was absent")
        return existed

    def refresh_view(self, table_name: str) -> None:
        """Re-create the view of ``table_name`` over its current files (drop it when there are none)."""
        with exclusive_lock(self.lock_path, self.lock_timeout_s), self._connect_rw() as con:
            self._refresh_view_locked(con, table_name)

    def refresh_all(self) -> None:
        """Create the catalog if needed, remove stale temp files and re-create every view.

        Run it after moving the warehouse, since views hold absolute paths.
        """
        with exclusive_lock(self.lock_path, self.lock_timeout_s), self._connect_rw() as con:
            for table_name in sorted({*TABLES, *self.table_names()}):
                remove_stale_temp_files(self.table_dir(table_name))
                self._refresh_view_locked(con, table_name)
        log.info("refreshed all views of %s", self.db_path)

    def define_view(self, name: str, select_sql: str, lineage: LineageRecord | None = None) -> None:
        """Create or replace the view ``name`` as ``select_sql`` over other views (no Parquet files of its own),
        recording ``lineage`` in the same transaction. WarehouseError when the SELECT does not bind."""
        namespace, base = split_table_name(name)
        if base in TABLES:
            raise ConfigError(f"{name} is a Parquet table; define views only under names of no registered table.")
        with exclusive_lock(self.lock_path, self.lock_timeout_s), self._connect_rw() as con:
            try:
                if namespace:
                    con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(namespace)}")
                con.execute(f"CREATE OR REPLACE VIEW {view_identifier(name)} AS {select_sql}")
            except duckdb.Error as exc:
                raise WarehouseError(f"view {name} of {self.db_path} does not bind ({exc}); materialize the "
                                     "tables it reads first.") from exc
            qualified = f"{namespace}.{base}" if namespace else base
            con.execute("INSERT OR REPLACE INTO catalog_meta VALUES (?, ?)", [f"view_sql:{qualified}", select_sql])
            if lineage is not None:
                insert_lineage(con, lineage)

    def record_lineage(self, record: LineageRecord) -> None:
        """Append ``record`` to the DuckDB table ``lineage``."""
        with exclusive_lock(self.lock_path, self.lock_timeout_s), self._connect_rw() as con:
            insert_lineage(con, record)

    def lineage(self, asset_key: str | None = None) -> pd.DataFrame:
        """Lineage rows (all, or of one asset), oldest first; columns as in ``lineage_schema()``."""
        where, params = ("WHERE asset_key = ?", [asset_key]) if asset_key is not None else ("", [])
        return self.query(f"SELECT * FROM lineage {where} ORDER BY written_at, asset_key, partition", params)

    def set_meta(self, key: str, value: str) -> None:
        """Store ``key = value`` in the catalog's ``catalog_meta`` table (replacing an older value)."""
        with exclusive_lock(self.lock_path, self.lock_timeout_s), self._connect_rw() as con:
            con.execute("INSERT OR REPLACE INTO catalog_meta VALUES (?, ?)", [key, value])

    def get_meta(self, key: str) -> str | None:
        """The value of ``key`` in ``catalog_meta`` (e.g. ``schema_version``), None when unset."""
        frame = self.query("SELECT value FROM catalog_meta WHERE key = ?", [key])
        return None if frame.empty else str(frame["value"].iloc[0])

    def query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run ``sql`` on a read-only connection and return the result; vectors come back as arrays.

        Raises WarehouseError when the catalog is missing, stays busy past ``busy_timeout_s``, a statement
        is not a read (``_READ_STATEMENTS``), or the statement fails.
        """
        with self.connect_read_only() as con:
            try:
                refused = [s.type.name for s in con.extract_statements(sql) if s.type not in _READ_STATEMENTS]
                if refused:
                    raise WarehouseError(
                        f"query on {self.db_path} refused {', '.join(refused)}: queries are read-only (SELECT, "
                        "DESCRIBE, SHOW, SUMMARIZE, EXPLAIN). Write through Catalog; to export a result, use "
                        f"--format csv or json and redirect it. SQL: {sql}"
                    )
                return con.execute(sql, params).df()
            except duckdb.Error as exc:
                raise WarehouseError(
                    f"query on {self.db_path} failed: {exc}. Queries run read-only (write through Catalog); "
                    "views exist only for tables with partitions; if Parquet files were moved or deleted "
                    f"by hand, run Catalog(root).refresh_all(). SQL: {sql}"
                ) from exc

    @contextmanager
    def connect_read_only(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only DuckDB connection (with ``QUERY_SETTINGS``) for the ``with`` block; keep the block
        short, it blocks writers."""
        if not self.db_path.exists():
            raise WarehouseError(
                f"no catalog at {self.db_path}; run `neuro-omics demo` or materialize an asset first"
            )
        con = connect_with_retry(self.db_path, read_only=True, timeout_s=self.busy_timeout_s)
        try:
            for name, value in QUERY_SETTINGS.items():
                con.execute(f"SET {name} = ?", [value])
            yield con
        finally:
            con.close()

    @contextmanager
    def _connect_rw(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Read-write connection with the catalog tables in place; call only while holding the flock."""
        con = connect_with_retry(self.db_path, read_only=False, timeout_s=self.busy_timeout_s)
        try:
            _ensure_catalog_tables(con, self.db_path)
            yield con
        finally:
            con.close()

    def _refresh_view_locked(self, con: duckdb.DuckDBPyConnection, table_name: str) -> None:
        """Re-create (or drop) the view of ``table_name`` on ``con``; caller holds the flock."""
        namespace, base = split_table_name(table_name)
        spec, directory = table_spec(base), self.table_dir(table_name)
        files = sorted(directory.glob("*.parquet"))
        key = f"view_sql:{namespace}.{base}" if namespace else f"view_sql:{base}"
        if not files:
            if not namespace or con.execute("SELECT 1 FROM duckdb_schemas() WHERE schema_name = ?",
                                            [namespace]).fetchall():
                con.execute(f"DROP VIEW IF EXISTS {view_identifier(table_name)}")
            con.execute("DELETE FROM catalog_meta WHERE key = ?", [key])
            return
        sql = view_sql(spec, str(directory / "*.parquet"), _vector_width(spec, files), table_name)
        # The view globs its directory, so a new partition needs no new view: re-create only on change.
        if con.execute("SELECT value FROM catalog_meta WHERE key = ?", [key]).fetchall() == [(sql,)]:
            if con.execute("SELECT 1 FROM duckdb_views() WHERE schema_name = ? AND view_name = ?",
                           [namespace or "main", base]).fetchall():
                return
        if namespace:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(namespace)}")
        con.execute(sql)
        con.execute("INSERT OR REPLACE INTO catalog_meta VALUES (?, ?)", [key, sql])


def _ensure_catalog_tables(con: duckdb.DuckDBPyConnection, db_path: Path) -> None:
    """Create ``catalog_meta`` and ``lineage`` when missing; check the stored schema version."""
    con.execute("CREATE TABLE IF NOT EXISTS catalog_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
    con.register("_lineage_template", lineage_schema().empty_table())
    con.execute("CREATE TABLE IF NOT EXISTS lineage AS SELECT * FROM _lineage_template")
    con.unregister("_lineage_template")
    rows = con.execute("SELECT value FROM catalog_meta WHERE key = 'schema_version'").fetchall()
    if not rows:
        con.execute("INSERT INTO catalog_meta VALUES ('schema_version', ?)", [WAREHOUSE_SCHEMA_VERSION])
    elif rows[0][0] != WAREHOUSE_SCHEMA_VERSION:
        raise WarehouseError(
            f"catalog {db_path} has warehouse schema version {rows[0][0]} but this code writes version "
            f"{WAREHOUSE_SCHEMA_VERSION}; move the old warehouse aside and re-materialize the assets."
        )
