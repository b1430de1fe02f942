"""DuckDB views computed on read from stored tables: ``subject_embeddings``.

``subject_embeddings`` has no Parquet files of its own. Per (subject, gene) it joins the subject's
haplotype rows (``subject_haplotypes``: which sequence, by SHA-256, each haplotype carries) to the
vectors of those sequences (``personal_gene_vectors``) and the gene's ``manifest_index`` (``genes``),
and combines the vectors on read: summed in float64, divided by the haplotype count for ``mean``,
then cast to ``FLOAT[H]``, exactly as ``cohort.matrix.build_subject_gene_tensor`` does. Columns are
those of ``cohort_schemas.subject_embeddings_schema``. A filter on ``subject_id`` is pushed down to
the ``subject_haplotypes`` scan, so one subject's query reads that subject's haplotype rows and the
vectors they name; storing the combined vectors instead would cost subjects x genes x H floats.

The recipe's concatenated subject vector (genes in manifest order) is one query away::

    select subject_id, flatten(list(embedding::FLOAT[] order by manifest_index)) as vector
    from subject_embeddings where subject_id = 'S1' group by subject_id
"""

from __future__ import annotations

from neuro_omics_assets.errors import ConfigError

SUBJECT_EMBEDDINGS = "subject_embeddings"
#: the tables the view reads; each must have partitions before the view can be queried
SUBJECT_EMBEDDINGS_SOURCES = ("subject_haplotypes", "personal_gene_vectors", "genes")


def subject_embeddings_sql(combine: str, hidden_size: int, vectors: str = "personal_gene_vectors") -> str:
    """The SELECT behind the ``subject_embeddings`` view for haplotypes combined by ``combine``, reading the
    vectors from the view ``vectors`` (a quoted DuckDB name: one encoder's ``personal_gene_vectors``)."""
    if combine not in ("mean", "sum"):
        raise ConfigError(f"haplotype combination {combine!r} is not supported; use 'mean' or 'sum'.")
    if hidden_size < 1:
        raise ConfigError(f"hidden size must be a positive integer, got {hidden_size}; pass the model's H.")
    total = ("list_reduce(list(CAST(v.embedding AS DOUBLE[])), "
             "lambda a, b: list_transform(a, lambda x, i: x + b[i]))")
    combined = f"list_transform({total}, lambda x: x / count(*))" if combine == "mean" else total
    return (
        "SELECT h.subject_id, h.gene_id, any_value(h.gene_name) AS gene_name, "
        "any_value(g.manifest_index) AS manifest_index, CAST(sum(h.n_variants) AS INTEGER) AS n_variants, "
        f"CAST({combined} AS FLOAT[{hidden_size}]) AS embedding "
        "FROM subject_haplotypes h "
        f"JOIN {vectors} v ON v.gene_id = h.gene_id AND v.sha256 = h.sha256 "
        "JOIN genes g ON g.gene_id = h.gene_id "
        "GROUP BY h.subject_id, h.gene_id"
    )
