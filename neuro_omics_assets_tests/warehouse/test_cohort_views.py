"""The subject_embeddings view SQL on small inline tables, and Catalog.define_view."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from neuro_omics_assets.errors import ConfigError, WarehouseError
from neuro_omics_assets.warehouse.catalog import Catalog
from neuro_omics_assets.warehouse.cohort_views import subject_embeddings_sql

VECTORS = {"a1": [1.0, 2.0], "a2": [3.0, 6.5], "b1": [0.25, -1.0], "b2": [0.5, 1.0]}


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("create table genes as select * from (values ('A', 0), ('B', 1)) t(gene_id, manifest_index)")
    con.execute("create table personal_gene_vectors as select gene_id, sha256, embedding::FLOAT[2] as embedding from "
                f"(values {', '.join(f'({s[0].upper()!r}, {s!r}, {v})' for s, v in VECTORS.items())}) "
                "t(gene_id, sha256, embedding)")
    con.execute("create table subject_haplotypes as select * from (values "
                "('S1', 'A', 'A', 0, 'a1', 0), ('S1', 'A', 'A', 1, 'a2', 1), ('S1', 'B', 'B', 0, 'b1', 0), "
                "('S1', 'B', 'B', 1, 'b2', 2), ('S2', 'A', 'A', 0, 'a1', 0), ('S2', 'B', 'B', 0, 'b2', 2)) "
                "t(subject_id, gene_id, gene_name, haplotype, sha256, n_variants)")
    yield con
    con.close()


@pytest.mark.parametrize(("combine", "scale"), [("mean", 0.5), ("sum", 1.0)])
def test_view_combines_each_subjects_haplotypes(con, combine, scale):
    rows = con.execute(f"select * from ({subject_embeddings_sql(combine, 2)}) where subject_id = 'S1' "
                       "order by manifest_index").fetchall()
    assert [(r[0], r[1], r[3], r[4]) for r in rows] == [("S1", "A", 0, 1), ("S1", "B", 1, 2)]
    np.testing.assert_array_equal(rows[0][5], np.multiply(scale, [4.0, 8.5]))
    np.testing.assert_array_equal(rows[1][5], np.multiply(scale, [0.75, 0.0]))


def test_mean_of_one_haplotype_is_that_haplotype(con):
    # S2 is haploid here: its mean is its one vector, whatever others' ploidy
    rows = con.execute(f"select gene_id, embedding from ({subject_embeddings_sql('mean', 2)}) "
                       "where subject_id = 'S2' order by gene_id").fetchall()
    assert [(g, list(v)) for g, v in rows] == [("A", VECTORS["a1"]), ("B", VECTORS["b2"])]


def test_unknown_combination_is_refused():
    with pytest.raises(ConfigError, match="'median' is not supported"):
        subject_embeddings_sql("median", 768)


def test_define_view_refuses_table_names_and_unbound_sql(tmp_path):
    catalog = Catalog(tmp_path)
    catalog.refresh_all()
    with pytest.raises(ConfigError, match="is a Parquet table"):
        catalog.define_view("gene_vectors", "select 1")
    with pytest.raises(WarehouseError, match="does not bind"):
        catalog.define_view("subject_embeddings", subject_embeddings_sql("mean", 2))
    catalog.define_view("answer", "select 42 as x")
    assert catalog.query("select x from answer")["x"].tolist() == [42]
