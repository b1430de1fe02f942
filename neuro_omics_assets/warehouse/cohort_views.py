"""DuckDB views computed on read from stored tables: ``subject_embeddings``.

``subject_embeddings`` has no Parquet files of its own. Per (subject, gene) it joins the subject's
haplotype rows (``subject_haplotypes``: which distinct sequence, by ``haplotype_index``, each haplotype
carries) to the vectors of those sequences (``personal_gene_vectors``, or one encoder's copy of it) and
the gene's ``manifest_index`` (``genes``), and combines the vectors on read: summed in float64 in
haplotype order, divided by the haplotype count for ``mean``, then cast to ``FLOAT[H]``, exactly as
``cohort.matrix.build_subject_gene_tensor`` does. Columns are those of
``cohort_schemas.subject_embeddings_schema``; storing the combined vectors instead would cost
subjects x genes x H floats.

One subject's query reads only that subject's rows:

* ``subject_haplotypes`` is sorted by subject: the ``subject_id`` filter skips all but one row group
  per chunk file;
* ``personal_gene_vectors`` is sorted by ``haplotype_index`` in row groups of 32: the join hands the
  subject's few hundred indices to the vector scan as a dynamic filter (DuckDB's join filter pushdown:
  an IN list up to ``dynamic_or_filter_threshold`` values, else a Bloom filter), and row-group
  statistics skip every group holding none of them.

That needs the vectors on the probe side of the hash join. The SQL puts them there, but DuckDB's
``build_side_probe_side`` optimizer would flip the join: over Parquet it estimates an equality filter
on a string column to keep 20 % of the rows, so the subject's rows look larger than the distinct
vectors. ``Catalog`` connections therefore run with ``catalog.QUERY_SETTINGS``; another DuckDB client
gets the same rows but reads every vector, unless it ``SET``s those settings first.

The recipe's concatenated subject vector (genes in manifest order) is one query away::

    select subject_id, flatten(list(embedding::FLOAT[] order by manifest_index)) as vector
    from subject_embeddings where subject_id = 'S1' group by subject_id
"""

from __future__ import annotations

from neuro_omics_assets.errors import ConfigError
from neuro_omics_assets.warehouse.catalog import view_identifier

SUBJECT_EMBEDDINGS = "subject_embeddings"
#: the tables the view reads; each must have partitions before the view can be queried
SUBJECT_EMBEDDINGS_SOURCES = ("subject_haplotypes", "personal_gene_vectors", "genes")


def subject_embeddings_view_sql(
    combine: str, hidden_size: int, *, haplotypes: str = "subject_haplotypes",
    vectors: str = "personal_gene_vectors", genes: str = "genes",
) -> str:
    """The SELECT behind a ``subject_embeddings`` view for haplotypes combined by ``combine``.

    ``haplotypes``/``vectors``/``genes``: warehouse table names (``catalog.view_identifier``: an encoder's
    namespaced ``caduceus_ps/personal_gene_vectors``) of the shared haplotype map, one encoder's
    ``personal_gene_vectors`` (written in ``haplotype_index`` order) and the gene table; one view per
    encoder reads the same haplotype map.
    """
    if combine not in ("mean", "sum"):
        raise ConfigError(f"haplotype combination {combine!r} is not supported; use 'mean' or 'sum'.")
    if hidden_size < 1:
        raise ConfigError(f"hidden size must be a positive integer, got {hidden_size}; pass the model's H.")
    # ordered by haplotype: a fixed float64 summation order, and it keeps DuckDB from pre-aggregating the
    # vectors below the join (which would read them all)
    total = ("list_reduce(list(CAST(v.embedding AS DOUBLE[]) ORDER BY h.haplotype), "
             "lambda a, b: list_transform(a, lambda x, i: x + b[i]))")
    combined = f"list_transform({total}, lambda x: x / count(*))" if combine == "mean" else total
    return (
        "SELECT h.subject_id, h.gene_id, any_value(h.gene_name) AS gene_name, "
        "any_value(g.manifest_index) AS manifest_index, CAST(sum(h.n_variants) AS INTEGER) AS n_variants, "
        f"CAST({combined} AS FLOAT[{hidden_size}]) AS embedding "
        # vectors first: the probe side of the join, filtered by the haplotype rows it is joined to
        f"FROM {view_identifier(vectors)} v "
        f"JOIN ({view_identifier(haplotypes)} h JOIN {view_identifier(genes)} g ON g.gene_id = h.gene_id) "
        "ON v.haplotype_index = h.haplotype_index AND v.sha256 = h.sha256 "
        "GROUP BY h.subject_id, h.gene_id"
    )

