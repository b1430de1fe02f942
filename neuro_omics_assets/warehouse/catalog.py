"""The warehouse: one Parquet file per partition plus a DuckDB catalog of views and lineage.

Layout of a warehouse root ``R`` (a local directory, or ``s3://bucket/prefix``: see ``storage``) and of
the catalog directory ``C`` (local; ``R`` itself when ``R`` is local)::

    R/parquet/<table>/<partition>.parquet   one file per partition ("all" for unpartitioned tables)
    R/parquet/<ns>/<table>/<partition>.parquet   a table of namespace ``ns`` (an encoder): ``<ns>.<table>``
    C/neuro_omics.duckdb                    views over the Parquet files, ``lineage``, ``catalog_meta``
    C/.catalog.lock                         flock serialising writers

The views (``views``) hold no location: they read ``getvariable('neuro_omics_root') || '/parquet/<table>/*.parquet'``,
and every connection the catalog opens first sets that variable to its root. A local warehouse moved or
copied elsewhere therefore keeps working, and one catalog can be pointed at a copy of its files. Another
DuckDB client sets the variable itself (the root is stored in ``catalog_meta``)::

    SET VARIABLE neuro_omics_root = (SELECT value FROM catalog_meta WHERE key = 'root');

Concurrency contract:

* Writers (``write_partition``, ``delete_partition``, ``refresh_*``, ``record_lineage``, ``set_meta``)
  take the flock first, then open DuckDB read-write for the few statements they need. Writers in
  several processes therefore queue on the flock and never fail on DuckDB's lock; they wait up to
  ``busy_timeout_s`` for readers to close.
* Readers (``query``, ``lineage``, ``connect_read_only``) open DuckDB read-only without the flock,
  retrying with backoff while a writer holds the file, for up to ``busy_timeout_s``.
* Parquet files appear whole (atomic rename locally, copy from a temporary key on S3), so a view never
  reads a half-written partition.
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

from neuro_omics_assets.errors import ConfigError, WarehouseError
from neuro_omics_assets.warehouse.lineage import LineageRecord, insert_lineage
from neuro_omics_assets.warehouse.locking import connect_with_retry, exclusive_lock
from neuro_omics_assets.warehouse.schemas import (
    TABLES,
    WAREHOUSE_SCHEMA_VERSION,
    infer_hidden_size,
    lineage_schema,
    table_spec,
    validate,
)
from neuro_omics_assets.warehouse.storage import LocalStorage, S3Options, open_storage
from neuro_omics_assets.warehouse.views import (
    PARQUET_DIR,
    ROOT_VARIABLE,
    quote,
    split_table_name,
    table_directory,
    vector_width,
    view_identifier,
    view_sql,
)

__all__ = ["DB_NAME", "UNPARTITIONED", "Catalog", "LineageRecord", "split_table_name", "view_identifier"]

log = logging.getLogger(__name__)

DB_NAME = "neuro_omics.duckdb"
LOCK_NAME = ".catalog.lock"
UNPARTITIONED = "all"
_PARTITION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.=-]*")
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


class Catalog:
    """A warehouse rooted at ``root`` (see the module docstring for layout and concurrency)."""

    def __init__(self, root: str | Path, *, catalog_dir: Path | None = None, s3: S3Options | None = None,
                 busy_timeout_s: float = 30.0, lock_timeout_s: float = 120.0) -> None:
        self.storage = open_storage(root, s3)
        if _GLOB_CHARACTERS & set(self.storage.root_url):
            raise ConfigError(
                f"warehouse root {self.storage.root_url} contains one of {''.join(sorted(_GLOB_CHARACTERS))}, "
                "which DuckDB would read as a glob pattern; choose a name without them."
            )
        if catalog_dir is None and not isinstance(self.storage, LocalStorage):
            raise ConfigError(
                f"the warehouse root {root} is on S3 but DuckDB writes its catalog to a local file: set the "
                "catalog directory (NEURO_OMICS_CATALOG_DIR) to a local directory of the Dagster host."
            )
        self.catalog_dir = Path(catalog_dir).expanduser().resolve() if catalog_dir else self.storage.root
        self.busy_timeout_s = busy_timeout_s
        self.lock_timeout_s = lock_timeout_s
        self.db_path = self.catalog_dir / DB_NAME
        self.lock_path = self.catalog_dir / LOCK_NAME

    @property
    def root(self) -> Path:
        """The local warehouse directory; WarehouseError for a warehouse on S3 (use ``partition_url``)."""
        if not isinstance(self.storage, LocalStorage):
            raise WarehouseError(f"the warehouse {self.storage.root_url} is not a local directory; address its "
                                 "files by URL (Catalog.partition_url) and read them through the Catalog.")
        return self.storage.root

    @property
    def root_url(self) -> str:
        """The warehouse root as DuckDB and lineage name it: a local path or ``s3://bucket/prefix``."""
        return self.storage.root_url

    def _relative(self, table_name: str, partition: str | None = None) -> str:
        """``parquet/[<ns>/]<table>`` or ``parquet/[<ns>/]<table>/<partition>.parquet``; ConfigError for unsafe
        names."""
        directory = table_directory(table_name, table_spec(split_table_name(table_name)[1]))
        if partition is None:
            return directory
        if not _PARTITION_NAME.fullmatch(partition):
            raise ConfigError(
                f"partition {partition!r} of table {table_name} is not a valid file name; use letters, "
                "digits, '_', '-', '.', '=' and start with a letter or digit."
            )
        return f"{directory}/{partition}.parquet"

    def table_dir(self, table_name: str) -> Path:
        """``R/parquet/<table>`` (``R/parquet/<ns>/<table>`` for ``<ns>.<table>``) of a local warehouse."""
        return self.root / self._relative(table_name)

    def table_names(self) -> list[str]:
        """Every registered table, plain and namespaced, that has a directory in this warehouse."""
        directories = self.storage.list_dirs(PARQUET_DIR)
        names = [name for name in TABLES if name in directories]
        for namespace in sorted(set(directories) - set(TABLES)):
            names += [f"{namespace}.{name}" for name in self.storage.list_dirs(f"{PARQUET_DIR}/{namespace}")
                      if name in TABLES]
        return names

    def partition_path(self, table_name: str, partition: str) -> Path:
        """``R/parquet/<table>/<partition>.parquet`` of a local warehouse; ConfigError for unsafe names."""
        return self.root / self._relative(table_name, partition)

    def partition_url(self, table_name: str, partition: str) -> str:
        """Where a partition lives, as a local path or an ``s3://`` URL (what lineage records)."""
        return self.storage.url(self._relative(table_name, partition))

    def partitions(self, table_name: str) -> list[str]:
        """Sorted names of the partitions of ``table_name`` present in the warehouse."""
        names = self.storage.list(self._relative(table_name), ".parquet")
        return sorted(name.removesuffix(".parquet") for name in names if not name.startswith("."))

    def read_partition(self, table_name: str, partition: str, filters: list[tuple] | None = None) -> pa.Table:
        """One partition as an Arrow table (its rows passing ``filters``, pyarrow's DNF, row groups that
        cannot match are not read); WarehouseError when it has not been written."""
        relative = self._relative(table_name, partition)
        if not self.storage.exists(relative):
            raise WarehouseError(
                f"no partition {partition!r} of table {table_name} at {self.storage.url(relative)}; materialize "
                f"it first (present: {self.partitions(table_name) or 'none'})."
            )
        return self.storage.read_table(relative, filters=filters)

    def partition_schema(self, table_name: str, partition: str) -> pa.Schema:
        """The Arrow schema of one partition's file (read from its footer only)."""
        return self.storage.read_schema(self._relative(table_name, partition))

    def partition_metadata(self, table_name: str, partition: str) -> dict[str, str]:
        """The key-value metadata (lineage settings) stored in one partition's Parquet file."""
        return self.storage.read_metadata(self._relative(table_name, partition))

    def write_file(self, table_name: str, name: str, data: bytes) -> str:
        """Store a side file (e.g. a plot) next to ``table_name``'s partitions, atomically; returns its URL."""
        return self.storage.write_bytes(f"{self._relative(table_name)}/{name}", data)

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
        from the vector columns; it must equal that of the table's other partitions. Returns the path
        (a ``Path`` for a local warehouse, the ``s3://`` URL otherwise).
        """
        spec = table_spec(split_table_name(table_name)[1])
        relative = self._relative(table_name, partition)
        hidden_size = infer_hidden_size(table, spec)
        schema = spec.schema(hidden_size)
        if spec.open_columns:
            schema = pa.schema([*schema, *(field for field in table.schema if field.name not in schema.names)])
        validated = validate(table, schema, what=f"{table_name}/{partition}")
        directory = self._relative(table_name)
        with exclusive_lock(self.lock_path, self.lock_timeout_s):
            self.storage.remove_stale_temp_files(directory)
            others = [f"{directory}/{name}.parquet" for name in self.partitions(table_name) if name != partition]
            existing = vector_width(spec, self.storage, others)
            if existing not in (None, hidden_size):
                raise WarehouseError(
                    f"{table_name}/{partition} has vectors of width {hidden_size} but the table's other "
                    f"partitions have width {existing}; the encoder changed. Delete the old partitions "
                    "(Catalog.delete_partition) or use a new warehouse root."
                )
            location = self.storage.write_parquet(relative, validated, metadata, spec.row_group_rows)
            with self._connect_rw() as con:
                self._refresh_view_locked(con, table_name)
                if lineage is not None:
                    insert_lineage(con, lineage)
        log.info("wrote %s/%s (%d rows) to %s", table_name, partition, validated.num_rows, location)
        return Path(location) if isinstance(self.storage, LocalStorage) else location

    def delete_partition(self, table_name: str, partition: str) -> bool:
        """Remove one partition file and refresh the view; returns whether the file existed."""
        relative = self._relative(table_name, partition)
        with exclusive_lock(self.lock_path, self.lock_timeout_s):
            existed = self.storage.delete(relative)
            with self._connect_rw() as con:
                self._refresh_view_locked(con, table_name)
        log.info("deleted %s/%s: %s", table_name, partition, "removed" if existed else "was absent")
        return existed

    def refresh_view(self, table_name: str) -> None:
        """Re-create the view of ``table_name`` over its current files (drop it when there are none)."""
        with exclusive_lock(self.lock_path, self.lock_timeout_s), self._connect_rw() as con:
            self._refresh_view_locked(con, table_name)

    def refresh_all(self) -> None:
        """Create the catalog if needed, remove stale temp files and re-create every view (after Parquet
        files were added or removed by hand)."""
        with exclusive_lock(self.lock_path, self.lock_timeout_s), self._connect_rw() as con:
            for table_name in sorted({*TABLES, *self.table_names()}):
                self.storage.remove_stale_temp_files(self._relative(table_name))
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
                    con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(namespace)}")
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
            self._point_at_root(con)
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
            self._point_at_root(con)
            _ensure_catalog_tables(con, self.db_path)
            if con.execute("SELECT value FROM catalog_meta WHERE key = 'root'").fetchall() != [(self.root_url,)]:
                con.execute("INSERT OR REPLACE INTO catalog_meta VALUES ('root', ?)", [self.root_url])
            yield con
        finally:
            con.close()

    def _point_at_root(self, con: duckdb.DuckDBPyConnection) -> None:
        """Give ``con`` what the views need: the root variable and, on S3, httpfs and the server settings."""
        self.storage.configure_duckdb(con)
        con.execute(f"SET VARIABLE {ROOT_VARIABLE} = ?", [self.root_url])

    def _refresh_view_locked(self, con: duckdb.DuckDBPyConnection, table_name: str) -> None:
        """Re-create (or drop) the view of ``table_name`` on ``con``; caller holds the flock."""
        namespace, base = split_table_name(table_name)
        spec, directory = table_spec(base), self._relative(table_name)
        files = [f"{directory}/{name}.parquet" for name in self.partitions(table_name)]
        key = f"view_sql:{namespace}.{base}" if namespace else f"view_sql:{base}"
        if not files:
            if not namespace or con.execute("SELECT 1 FROM duckdb_schemas() WHERE schema_name = ?",
                                            [namespace]).fetchall():
                con.execute(f"DROP VIEW IF EXISTS {view_identifier(table_name)}")
            con.execute("DELETE FROM catalog_meta WHERE key = ?", [key])
            return
        sql = view_sql(spec, vector_width(spec, self.storage, files), table_name)
        # The view globs its directory, so a new partition needs no new view: re-create only on change.
        if con.execute("SELECT value FROM catalog_meta WHERE key = ?", [key]).fetchall() == [(sql,)]:
            if con.execute("SELECT 1 FROM duckdb_views() WHERE schema_name = ? AND view_name = ?",
                           [namespace or "main", base]).fetchall():
                return
        if namespace:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(namespace)}")
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
