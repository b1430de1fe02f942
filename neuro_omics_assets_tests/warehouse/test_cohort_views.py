"""The subject_embeddings view SQL on small inline tables, its row-group pruning on a warehouse of many
subjects (DuckDB's profile), and Catalog.define_view."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from neuro_omics_assets.errors import ConfigError, WarehouseError
from neuro_omics_assets.warehouse.catalog import Catalog
from neuro_omics_assets.warehouse.cohort_tables import haplotype_index_base
from neuro_omics_assets.warehouse.cohort_views import subject_embeddings_view_sql
from neuro_omics_assets.warehouse.profiling import parquet_scans, row_group_metrics_available
from neuro_omics_assets.warehouse.schemas import table_spec, vectors_to_arrow

VECTORS = {"a1": [1.0, 2.0], "a2": [3.0, 6.5], "b1": [0.25, -1.0], "b2": [0.5, 1.0]}
INDEX = {sha: i for i, sha in enumerate(VECTORS)}


def _tables(con: duckdb.DuckDBPyConnection, schema: str = "main") -> None:
    con.execute(f"create table {schema}.personal_gene_vectors as select gene_id, sha256, haplotype_index, "
                "embedding::FLOAT[2] as embedding from (values "
                f"{', '.join(f'({s[0].upper()!r}, {s!r}, {INDEX[s]}, {v})' for s, v in VECTORS.items())}) "
                "t(gene_id, sha256, haplotype_index, embedding)")


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("create table genes as select * from (values ('A', 0), ('B', 1)) t(gene_id, manifest_index)")
    _tables(con)
    rows = [("S1", "A", 0, "a1", 0), ("S1", "A", 1, "a2", 1), ("S1", "B", 0, "b1", 0), ("S1", "B", 1, "b2", 2),
            ("S2", "A", 0, "a1", 0), ("S2", "B", 0, "b2", 2)]
    values = ", ".join(f"({s!r}, {g!r}, {g!r}, {h}, {sha!r}, {INDEX[sha]}, {n})" for s, g, h, sha, n in rows)
    con.execute(f"create table subject_haplotypes as select * from (values {values}) "
                "t(subject_id, gene_id, gene_name, haplotype, sha256, haplotype_index, n_variants)")
    yield con
    con.close()


@pytest.mark.parametrize(("combine", "scale"), [("mean", 0.5), ("sum", 1.0)])
def test_view_combines_each_subjects_haplotypes(con, combine, scale):
    rows = con.execute(f"select * from ({subject_embeddings_view_sql(combine, 2)}) where subject_id = 'S1' "
                       "order by manifest_index").fetchall()
    assert [(r[0], r[1], r[3], r[4]) for r in rows] == [("S1", "A", 0, 1), ("S1", "B", 1, 2)]
    np.testing.assert_array_equal(rows[0][5], np.multiply(scale, [4.0, 8.5]))
    np.testing.assert_array_equal(rows[1][5], np.multiply(scale, [0.75, 0.0]))


def test_mean_of_one_haplotype_is_that_haplotype(con):
    # S2 is haploid here: its mean is its one vector, whatever others' ploidy
    rows = con.execute(f"select gene_id, embedding from ({subject_embeddings_view_sql('mean', 2)}) "
                       "where subject_id = 'S2' order by gene_id").fetchall()
    assert [(g, list(v)) for g, v in rows] == [("A", VECTORS["a1"]), ("B", VECTORS["b2"])]


def test_one_view_per_encoder_schema_reads_the_shared_haplotype_map(con):
    # a second encoder's vectors, twice the first's, in its own schema: the same haplotype map serves both
    con.execute("create schema caduceus_ps")
    _tables(con, "caduceus_ps")
    con.execute("update caduceus_ps.personal_gene_vectors set embedding = [2 * x for x in embedding]::FLOAT[2]")
    sql = subject_embeddings_view_sql("sum", 2, vectors="caduceus_ps.personal_gene_vectors")
    assert '"caduceus_ps"."personal_gene_vectors"' in sql
    rows = con.execute(f"select embedding from ({sql}) where subject_id = 'S1' order by manifest_index").fetchall()
    np.testing.assert_array_equal(rows[0][0], [8.0, 17.0])


def test_unknown_combination_is_refused():
    with pytest.raises(ConfigError, match="'median' is not supported"):
        subject_embeddings_view_sql("median", 768)


def test_define_view_refuses_table_names_and_unbound_sql(tmp_path):
    catalog = Catalog(tmp_path)
    catalog.refresh_all()
    with pytest.raises(ConfigError, match="is a Parquet table"):
        catalog.define_view("gene_vectors", "select 1")
    with pytest.raises(WarehouseError, match="does not bind"):
        catalog.define_view("subject_embeddings", subject_embeddings_view_sql("mean", 2))
    catalog.define_view("answer", "select 42 as x")
    assert catalog.query("select x from answer")["x"].tolist() == [42]


N_SUBJECTS, GENES_PER_CHUNK, DISTINCT_PER_GENE, HIDDEN = 5000, 2, 400, 4


def _many_subjects(catalog: Catalog, rng: np.random.Generator) -> None:
    """Two chunks of two genes, 5,000 diploid subjects, 400 distinct haplotypes per gene (few common,
    many rare), written as the pipeline writes them (haplotype map sorted by subject, vectors by index)."""
    subjects = np.array([f"S{i:05d}" for i in range(N_SUBJECTS)], dtype=object)
    genes = [f"G{g}" for g in range(2 * GENES_PER_CHUNK)]
    _write(catalog, "genes", "all", pa.table({"gene_id": genes, "manifest_index": np.arange(len(genes))}))
    for chunk in range(2):
        maps, vectors = [], []
        for local in range(GENES_PER_CHUNK):
            gene = genes[chunk * GENES_PER_CHUNK + local]
            index = haplotype_index_base(chunk) + local * DISTINCT_PER_GENE + np.arange(DISTINCT_PER_GENE)
            carried = np.minimum(rng.geometric(0.02, 2 * N_SUBJECTS) - 1, DISTINCT_PER_GENE - 1)
            maps.append(pa.table({"subject_id": np.repeat(subjects, 2), "gene_id": [gene] * 2 * N_SUBJECTS,
                                  "haplotype": np.tile(np.int32([0, 1]), N_SUBJECTS), "sha256": index[carried].astype(str),
                                  "haplotype_index": index[carried]}))
            vectors.append(pa.table({"sha256": index.astype(str), "haplotype_index": index,
                                     "gene_id": [gene] * DISTINCT_PER_GENE,
                                     "embedding": vectors_to_arrow(rng.standard_normal((DISTINCT_PER_GENE, HIDDEN)))}))
        hap = pa.concat_tables(maps).sort_by([("subject_id", "ascending"), ("gene_id", "ascending")])
        for name, table in (("subject_haplotypes", hap), ("personal_gene_vectors", pa.concat_tables(vectors))):
            _write(catalog, name, f"chunk_{chunk:03d}", table)
    catalog.define_view("subject_embeddings", subject_embeddings_view_sql("mean", HIDDEN))


def _write(catalog: Catalog, table_name: str, partition: str, table: pa.Table) -> None:
    """``table`` plus the schema's other columns (nulls, or zeros and empty values where required)."""
    hidden = HIDDEN if table_spec(table_name).vector_columns else None
    columns = {field.name: table[field.name] if field.name in table.column_names else _filler(field, table.num_rows)
               for field in table_spec(table_name).schema(hidden)}
    catalog.write_partition(table_name, partition, pa.table(columns))


def _filler(field: pa.Field, n: int) -> pa.Array:
    if field.nullable:
        return pa.nulls(n, field.type)
    empty = {pa.types.is_string: "", pa.types.is_boolean: False, pa.types.is_list: []}
    value = next((v for test, v in empty.items() if test(field.type)), 0)
    return pa.array([value] * n, field.type)


SUBJECT = "S01234"
ONE_SUBJECT_SQL = (f"select subject_id, flatten(list(embedding::FLOAT[] order by manifest_index)) as vector "
                   f"from subject_embeddings where subject_id = '{SUBJECT}' group by subject_id")


# Row groups scanned are in DuckDB's query profile from release 2 on; the project pins 1.5.5 (the release
# its httpfs extension wheel exists for), whose profile counts rows only.
@pytest.mark.skipif(not row_group_metrics_available(), reason=f"DuckDB {duckdb.__version__}'s query profile does "
                    "not report row groups scanned (DuckDB >= 2.0 does)")
def test_one_subject_reads_only_the_row_groups_of_its_rows(tmp_path):
    # DuckDB's profile of the view's one-subject query through a Catalog connection
    catalog = Catalog(tmp_path / "warehouse")
    _many_subjects(catalog, np.random.default_rng(7))
    subject, sql = SUBJECT, ONE_SUBJECT_SQL
    mine = catalog.query("select count(distinct haplotype_index) as n from subject_haplotypes "
                         f"where subject_id = '{subject}'")["n"].iloc[0]
    with catalog.connect_read_only() as con:
        scans = parquet_scans(con, sql)
    vectors_read, vector_groups = scans["personal_gene_vectors"].row_groups_read, scans["personal_gene_vectors"].row_groups
    rows_per_group = table_spec("personal_gene_vectors").row_group_rows
    total = 2 * GENES_PER_CHUNK * DISTINCT_PER_GENE
    assert vector_groups == -(-total // (2 * rows_per_group)) * 2  # 13 row groups of 32 vectors per chunk file
    # at most one row group per distinct vector the subject carries (common ones share a group)
    assert 1 <= vectors_read <= mine <= 2 * 2 * GENES_PER_CHUNK
    assert vectors_read * rows_per_group < total / 3
    # the haplotype map: 20,000 rows per chunk file in two row groups, one of which holds the subject
    assert (scans["subject_haplotypes"].row_groups_read, scans["subject_haplotypes"].row_groups) == (2, 4)


def test_one_subject_query_gives_its_mean_vectors_in_manifest_order(tmp_path):
    catalog = Catalog(tmp_path / "warehouse")
    _many_subjects(catalog, np.random.default_rng(7))
    subject = SUBJECT
    vector = catalog.query(ONE_SUBJECT_SQL)["vector"].iloc[0]
    expected = catalog.query(
        "select h.gene_id, avg(v.embedding[1]) as x from subject_haplotypes h join personal_gene_vectors v "
        f"using (haplotype_index) where subject_id = '{subject}' group by h.gene_id order by h.gene_id")["x"]
    np.testing.assert_allclose(np.asarray(vector)[::HIDDEN], expected, rtol=1e-6)
