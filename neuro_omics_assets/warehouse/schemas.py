"""One pyarrow schema per warehouse table, a registry of them, and the validation writers run.

Conventions shared by every table:

* coordinates are 0-based, half-open (``start``/``end``, ``window_start``/``window_end``);
* vectors are ``fixed_size_list<float32>[H]`` where ``H`` is the encoder's hidden size (768 for
  DNABERT-2-117M); the DuckDB views expose them as ``FLOAT[H]``;
* ``sha256`` is the hex SHA-256 of the exact (uppercased) model input sequence;
* ``chunk`` is the gene chunk (the partition of the gene-level assets).

``TABLES`` maps each Parquet table name to its ``TableSpec``; the catalog uses it to know which
columns are vectors. ``lineage`` and ``catalog_meta`` live inside the DuckDB file, not in Parquet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

from neuro_omics_assets.errors import ConfigError, WarehouseError

#: Bumped when a table's columns change incompatibly; stored in ``catalog_meta``. A catalog of another
#: version is refused on its first write (``Catalog``: move it aside and re-materialize). 2: ``pca_basis``
#: records the randomized solver's settings; ``haplotype_index`` in the cohort tables, vectors sorted by
#: it; ``subject_embeddings`` a view (so a version-1 warehouse's ``parquet/subject_embeddings/`` files,
#: the former dense table, never meet this code); the embedding-derived tables live per encoder under
#: ``parquet/<encoder>/<table>/`` and are views in the encoder's DuckDB schema.
WAREHOUSE_SCHEMA_VERSION = "2"


def vector_type(hidden_size: int) -> pa.DataType:
    """The on-disk type of one embedding vector: ``fixed_size_list<float32>[hidden_size]``."""
    if hidden_size < 1:
        raise ConfigError(f"hidden size must be a positive integer, got {hidden_size}; pass the model's H.")
    return pa.list_(pa.float32(), hidden_size)


def genes_schema() -> pa.Schema:
    """One row per selected gene: annotation, chosen transcript, blocks, chunk and content hash.

    ``exons``/``cds`` are lists of ``[start, end)`` genomic blocks (0-based, half-open) of the chosen
    transcript; ``manifest_index`` is the gene's position in the gene list (the subject-embedding
    order); ``content_hash`` covers everything that shapes the gene's extracted sequence.
    """
    block = pa.list_(pa.list_(pa.int64()))
    return pa.schema(
        [
            pa.field("gene_id", pa.string(), nullable=False),
            pa.field("gene_version", pa.string()),
            pa.field("gene_name", pa.string()),
            pa.field("gene_type", pa.string()),
            pa.field("contig", pa.string(), nullable=False),
            pa.field("start", pa.int64(), nullable=False),
            pa.field("end", pa.int64(), nullable=False),
            pa.field("strand", pa.string(), nullable=False),
            pa.field("transcript_id", pa.string()),
            pa.field("transcript_version", pa.string()),
            pa.field("transcript_rule", pa.string(), nullable=False),
            pa.field("exons", block, nullable=False),
            pa.field("cds", block, nullable=False),
            pa.field("tss", pa.int64(), nullable=False),
            pa.field("manifest_index", pa.int64(), nullable=False),
            pa.field("chunk", pa.int32(), nullable=False),
            pa.field("content_hash", pa.string(), nullable=False),
        ]
    )


def gene_sequences_schema() -> pa.Schema:
    """One row per gene: the strand-aware model input sequence and its base counts."""
    return pa.schema(
        [
            pa.field("gene_id", pa.string(), nullable=False),
            pa.field("gene_name", pa.string()),
            pa.field("gene_type", pa.string()),
            pa.field("contig", pa.string(), nullable=False),
            pa.field("start", pa.int64(), nullable=False),
            pa.field("end", pa.int64(), nullable=False),
            pa.field("strand", pa.string(), nullable=False),
            pa.field("region", pa.string(), nullable=False),
            pa.field("transcript_id", pa.string()),
            pa.field("transcript_rule", pa.string()),
            pa.field("length", pa.int64(), nullable=False),
            pa.field("n_count", pa.int64(), nullable=False),
            pa.field("iupac_count", pa.int64(), nullable=False),
            pa.field("all_n", pa.bool_(), nullable=False),
            pa.field("sequence", pa.large_string(), nullable=False),
            pa.field("sha256", pa.string(), nullable=False),
            pa.field("chunk", pa.int32(), nullable=False),
        ]
    )


def token_embeddings_schema(hidden_size: int) -> pa.Schema:
    """One row per (sequence, window, strand): sufficient statistics of the token vectors.

    ``window_start``/``window_end`` are 0-based half-open offsets into the forward sequence;
    ``strand`` is ``"forward"`` or ``"reverse_complement"``; ``n_tokens`` counts real tokens
    (no CLS/SEP/padding); ``token_sum`` is the sum of token vectors, each weighted by its base
    length, so ``token_sum / n_bases`` is the base-weighted mean; ``cls`` is the CLS vector.
    """
    vec = vector_type(hidden_size)
    return pa.schema(
        [
            pa.field("chunk", pa.int32(), nullable=False),
            pa.field("gene_id", pa.string(), nullable=False),
            pa.field("gene_name", pa.string()),
            pa.field("sha256", pa.string(), nullable=False),
            pa.field("window_index", pa.int32(), nullable=False),
            pa.field("window_start", pa.int64(), nullable=False),
            pa.field("window_end", pa.int64(), nullable=False),
            pa.field("strand", pa.string(), nullable=False),
            pa.field("n_tokens", pa.int32(), nullable=False),
            pa.field("n_bases", pa.int32(), nullable=False),
            pa.field("token_sum", vec, nullable=False),
            pa.field("cls", vec, nullable=False),
        ]
    )


def pooled_vector_fields(hidden_size: int) -> list[pa.Field]:
    """The columns of one pooled vector: its windows, bases, tokens, pooling, RC flag, vector, rc_cosine."""
    return [
        pa.field("n_windows", pa.int32(), nullable=False),
        pa.field("n_bases", pa.int64(), nullable=False),
        pa.field("n_tokens", pa.int64(), nullable=False),
        pa.field("pooling", pa.string(), nullable=False),
        pa.field("rc_averaged", pa.bool_(), nullable=False),
        pa.field("embedding", vector_type(hidden_size), nullable=False),
        pa.field("rc_cosine", pa.float64()),
    ]


def gene_vectors_schema(hidden_size: int) -> pa.Schema:
    """One row per gene sequence: the pooled embedding and its stability diagnostics.

    ``rc_cosine`` is the cosine between the forward and reverse-complement vectors and
    ``cls_mean_cosine`` the cosine between CLS and mean pooling; both are null when not computed.
    """
    return pa.schema(
        [
            pa.field("chunk", pa.int32(), nullable=False),
            pa.field("gene_id", pa.string(), nullable=False),
            pa.field("gene_name", pa.string()),
            pa.field("sha256", pa.string(), nullable=False),
            *pooled_vector_fields(hidden_size),
            pa.field("cls_mean_cosine", pa.float64()),
        ]
    )


def embedding_stability_schema() -> pa.Schema:
    """One row per gene: how stable its vector is under reverse complement and pooling choice."""
    return pa.schema(
        [
            pa.field("gene_id", pa.string(), nullable=False),
            pa.field("gene_name", pa.string()),
            pa.field("rc_cosine", pa.float64()),
            pa.field("cls_rc_cosine", pa.float64()),
            pa.field("cls_mean_cosine", pa.float64()),
        ]
    )


def embedding_stability_summary_schema() -> pa.Schema:
    """One row per pooling strategy: agreement of its gene-gene similarity structure with the others."""
    return pa.schema(
        [
            pa.field("strategy", pa.string(), nullable=False),
            pa.field("similarity_structure_corr", pa.float64()),
            pa.field("mean_rc_cosine", pa.float64()),
        ]
    )


def lineage_schema() -> pa.Schema:
    """One row per written partition (DuckDB table ``lineage``); JSON columns hold string maps."""
    return pa.schema(
        [
            pa.field("asset_key", pa.string(), nullable=False),
            pa.field("partition", pa.string(), nullable=False),
            pa.field("run_id", pa.string(), nullable=False),
            pa.field("code_version", pa.string(), nullable=False),
            pa.field("input_checksums", pa.string(), nullable=False),
            pa.field("rows", pa.int64(), nullable=False),
            pa.field("written_at", pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field("path", pa.string(), nullable=False),
            pa.field("metadata", pa.string(), nullable=False),
        ]
    )


@dataclass(frozen=True)
class TableSpec:
    """A Parquet table of the warehouse: its schema factory and which columns are vectors.

    ``build`` takes the hidden size when ``vector_columns`` is non-empty, and nothing otherwise.
    ``open_columns``: the schema fixes the leading columns only; further columns are kept as
    written (tables shaped by the user's data, such as one column per configured covariate).
    ``row_group_rows``: Parquet row-group size (None: pyarrow's default); small groups of a sorted
    table let DuckDB skip the groups a filter excludes, by their min/max statistics.
    """

    name: str
    build: Callable[..., pa.Schema]
    vector_columns: tuple[str, ...] = ()
    open_columns: bool = False
    row_group_rows: int | None = None

    def schema(self, hidden_size: int | None = None) -> pa.Schema:
        """The table's schema; ``hidden_size`` is required exactly when the table holds vectors."""
        if not self.vector_columns:
            return self.build()
        if hidden_size is None:
            raise ConfigError(
                f"table {self.name} holds vectors {list(self.vector_columns)}; pass its hidden size "
                "(or give the vector columns a fixed_size_list type so it can be inferred)."
            )
        return self.build(hidden_size)


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec("genes", genes_schema),
        TableSpec("gene_sequences", gene_sequences_schema),
        TableSpec("token_embeddings", token_embeddings_schema, ("token_sum", "cls")),
        TableSpec("gene_vectors", gene_vectors_schema, ("embedding",)),
        TableSpec("embedding_stability", embedding_stability_schema),
        TableSpec("embedding_stability_summary", embedding_stability_summary_schema),
    )
}


def table_spec(name: str) -> TableSpec:
    """The registered spec of Parquet table ``name``; ConfigError listing known tables otherwise."""
    try:
        return TABLES[name]
    except KeyError:
        raise ConfigError(
            f"unknown warehouse table {name!r}; known tables: {', '.join(sorted(TABLES))}. "
            "Add a schema to neuro_omics_assets/warehouse/schemas.py before writing a new table."
        ) from None


def infer_hidden_size(table: pa.Table, spec: TableSpec) -> int | None:
    """The vector width of ``table`` for ``spec``: None for tables without vectors.

    Read from a ``fixed_size_list`` type, or from the list lengths of a variable-size list column
    (all lists must then have one length). Raises WarehouseError when it cannot be determined.
    """
    if not spec.vector_columns:
        return None
    absent = [name for name in spec.vector_columns if name not in table.column_names]
    if absent:
        raise WarehouseError(
            f"table {spec.name} lacks vector columns {absent}; expected columns: {spec.vector_columns}."
        )
    widths: set[int] = set()
    for name in spec.vector_columns:
        column = table[name]
        if pat.is_fixed_size_list(column.type):
            widths.add(column.type.list_size)
        elif pat.is_list(column.type) or pat.is_large_list(column.type):
            lengths = pc.unique(pc.list_value_length(column)).to_pylist()
            widths.update(int(n) for n in lengths if n is not None)
    if len(widths) != 1:
        raise WarehouseError(
            f"cannot infer the hidden size of table {spec.name}: vector columns "
            f"{list(spec.vector_columns)} have widths {sorted(widths) or 'none'}; every vector must have "
            "the model's hidden size. Build them with vectors_to_arrow(matrix)."
        )
    return widths.pop()


def vectors_to_arrow(matrix: np.ndarray) -> pa.FixedSizeListArray:
    """``float (n, H)`` array -> ``fixed_size_list<float32>[H]`` array of n vectors (copied to float32)."""
    if matrix.ndim != 2:
        raise ConfigError(f"vectors must be a 2-D array (n, H), got shape {matrix.shape}.")
    flat = pa.array(np.ascontiguousarray(matrix, dtype=np.float32).reshape(-1))
    return pa.FixedSizeListArray.from_arrays(flat, matrix.shape[1])


def vectors_from_arrow(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """``fixed_size_list<float32>[H]`` column without nulls -> ``float32 (n, H)`` numpy array."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if array.null_count:
        raise WarehouseError(f"vector column has {array.null_count} null rows; cannot build a dense matrix.")
    width = array.type.list_size
    return array.flatten().to_numpy(zero_copy_only=False).astype(np.float32).reshape(-1, width)


def _type_family(data_type: pa.DataType) -> str:
    """Coarse family used to decide which casts ``validate`` may apply."""
    families: Sequence[tuple[Callable[[pa.DataType], bool], str]] = (
        (pat.is_null, "null"),
        (pat.is_boolean, "bool"),
        (lambda t: pat.is_integer(t) or pat.is_floating(t), "number"),
        (lambda t: pat.is_string(t) or pat.is_large_string(t), "string"),
        (pat.is_timestamp, "timestamp"),
        (lambda t: pat.is_list(t) or pat.is_large_list(t) or pat.is_fixed_size_list(t), "list"),
    )
    return next((family for test, family in families if test(data_type)), str(data_type))


def _conform_column(column: pa.ChunkedArray, field: pa.Field) -> tuple[pa.ChunkedArray | None, str | None]:
    """Cast ``column`` to ``field``; returns (cast column, None) or (None, why it does not fit)."""
    if column.type != field.type:
        source = _type_family(column.type)
        if source not in ("null", _type_family(field.type)):
            return None, f"{field.name}: {column.type} is not {field.type}"
        try:
            column = pc.cast(column, field.type, safe=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            return None, f"{field.name}: cannot cast {column.type} to {field.type} ({exc})"
    if not field.nullable and column.null_count:
        return None, f"{field.name}: {column.null_count} null values in a non-nullable column"
    return column, None


def validate(table: pa.Table, schema: pa.Schema, what: str = "table") -> pa.Table:
    """Return ``table`` with exactly ``schema``'s columns, order and types.

    Compatible columns are cast (wider/narrower numbers within range, string -> large_string, lists of
    the right length -> fixed_size_list, all-null columns). Raises WarehouseError naming every missing,
    unexpected or mistyped column of ``what`` (e.g. ``"gene_vectors/chunk_007"``). Table metadata is kept.
    """
    missing = [name for name in schema.names if name not in table.column_names]
    extra = [name for name in table.column_names if name not in schema.names]
    problems = [f"missing columns {missing}"] if missing else []
    problems += [f"unexpected columns {extra}"] if extra else []
    columns = []
    for field in schema:
        if field.name in missing:
            continue
        column, problem = _conform_column(table[field.name], field)
        if problem:
            problems.append(problem)
        columns.append(column)
    if problems:
        raise WarehouseError(
            f"{what} does not match its schema: {'; '.join(problems)}. Expected columns: "
            f"{', '.join(f'{f.name} {f.type}' for f in schema)} (see neuro_omics_assets/warehouse/schemas.py)."
        )
    return pa.Table.from_arrays(columns, schema=schema.with_metadata(table.schema.metadata))
