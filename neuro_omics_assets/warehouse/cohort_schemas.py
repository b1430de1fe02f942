"""Schemas of the cohort tables (subjects, haplotypes, covariates, folds, PCA, residualized embeddings).

Registered into ``schemas.TABLES`` when the warehouse package is imported; conventions as in
``schemas``. Subject-level facts:

* ``subject_id`` is the VCF sample name; ``haplotype`` is 0/1 (0 only for haploid calls and in
  ``consensus`` mode); ``fold`` is the cross-validation fold in which a subject is held out.
* ``subject_embeddings`` is a DuckDB **view**, not a Parquet table: the un-projected per-gene vectors
  ``[subjects, genes, H]`` (leave-one-gene-out needs them) are combined on read from
  ``subject_haplotypes`` and ``personal_gene_vectors`` (``cohort_views``), so storage follows the
  distinct haplotypes, not subjects x genes x H. Its columns are ``subject_embeddings_schema``. The
  recipe's concatenation (step 6) is computed on read too. In DuckDB:
  ``select subject_id, flatten(list(embedding::FLOAT[] order by manifest_index)) as vector
  from subject_embeddings group by subject_id``; in Python ``cohort.factorized.FactorizedMatrix``.
* ``haplotype_index`` (int64) numbers the distinct (gene, sequence) pairs where they are enumerated
  (``unique_sequences``, per gene chunk: ``chunk * 2**32 + ordinal``, unique over all chunks);
  ``subject_haplotypes`` names each haplotype's vector by it, and every encoder's
  ``personal_gene_vectors`` is written sorted by it in small row groups, so the vectors one subject
  carries are found by row-group statistics instead of a scan of the whole table (``cohort_views``).
* ``pca_components.loading`` is float32 (``FLOAT[genes * H]``), one row per (fold, component): the
  fits run in float64 and the loadings are rounded once when stored (relative 6e-8).
* ``residualized_embeddings`` has one partition per fold (``fold_0``, ...: ``cohort_tables.fold_partition``);
  its ``vector`` is float64 (``DOUBLE[]``), not ``FLOAT[k]``: float32 rounding
  alone would leave training residuals correlated with the covariates at ~1e-8, and the number of
  components k may differ between folds (it is capped by each fold's training size).
"""

from __future__ import annotations

import pyarrow as pa

from neuro_omics_assets.warehouse.schemas import TABLES, TableSpec, pooled_vector_fields, vector_type


def subject_haplotypes_schema() -> pa.Schema:
    """One row per (subject, gene, haplotype): the SHA-256 of the personal sequence carried there.

    ``reference_only`` is true where no VCF covers the gene's contig, so the sequence is the
    reference's (only with the missing-contig policy ``reference``; else that is an error).
    """
    return pa.schema(
        [
            pa.field("subject_id", pa.string(), nullable=False),
            pa.field("gene_id", pa.string(), nullable=False),
            pa.field("gene_name", pa.string()),
            pa.field("haplotype", pa.int32(), nullable=False),
            pa.field("sha256", pa.string(), nullable=False),
            pa.field("haplotype_index", pa.int64(), nullable=False),
            pa.field("n_variants", pa.int32(), nullable=False),
            pa.field("reference_only", pa.bool_(), nullable=False),
            pa.field("chunk", pa.int32(), nullable=False),
        ]
    )


def unique_sequences_schema() -> pa.Schema:
    """One row per distinct personal sequence of a gene; ``n_variants`` 0 is the reference sequence.

    ``n_haplotypes`` counts the haplotypes (subject, haplotype) that carry it; rows are in
    ``haplotype_index`` order (per gene, the most carried sequences first).
    """
    return pa.schema(
        [
            pa.field("sha256", pa.string(), nullable=False),
            pa.field("haplotype_index", pa.int64(), nullable=False),
            pa.field("gene_id", pa.string(), nullable=False),
            pa.field("gene_name", pa.string()),
            pa.field("sequence", pa.large_string(), nullable=False),
            pa.field("length", pa.int64(), nullable=False),
            pa.field("n_variants", pa.int32(), nullable=False),
            pa.field("n_haplotypes", pa.int64(), nullable=False),
            pa.field("chunk", pa.int32(), nullable=False),
        ]
    )


def personal_gene_vectors_schema(hidden_size: int) -> pa.Schema:
    """One row per distinct personal sequence of a gene: its pooled vector, as in ``gene_vectors``; rows
    sorted by ``haplotype_index`` (that of ``unique_sequences``, whatever the encoder)."""
    return pa.schema(
        [
            pa.field("sha256", pa.string(), nullable=False),
            pa.field("haplotype_index", pa.int64(), nullable=False),
            pa.field("gene_id", pa.string(), nullable=False),
            pa.field("gene_name", pa.string()),
            pa.field("chunk", pa.int32(), nullable=False),
            *pooled_vector_fields(hidden_size),
        ]
    )


def covariates_schema() -> pa.Schema:
    """One row per subject with covariates; then one column per configured covariate (open columns):
    float64 for numeric covariates, string for categorical ones (and the label/group columns)."""
    return pa.schema([pa.field("subject_id", pa.string(), nullable=False)])


def subject_folds_schema() -> pa.Schema:
    """One row per subject: the fold in which it is a test subject."""
    return pa.schema(
        [
            pa.field("subject_id", pa.string(), nullable=False),
            pa.field("test_fold", pa.int32(), nullable=False),
        ]
    )


def subject_embeddings_schema(hidden_size: int) -> pa.Schema:
    """The columns of the ``subject_embeddings`` view (``cohort_views``): one row per (subject, gene), the
    haplotypes' vectors combined (mean by default), un-projected.

    ``manifest_index`` orders the genes of the concatenation; ``n_variants`` sums the haplotypes'.
    """
    return pa.schema(
        [
            pa.field("subject_id", pa.string(), nullable=False),
            pa.field("gene_id", pa.string(), nullable=False),
            pa.field("gene_name", pa.string()),
            pa.field("manifest_index", pa.int64(), nullable=False),
            pa.field("n_variants", pa.int32(), nullable=False),
            pa.field("embedding", vector_type(hidden_size), nullable=False),
        ]
    )


def pca_basis_schema() -> pa.Schema:
    """One row per (fold, component): explained variance and how the fold's basis was fitted.

    ``component`` is 1-based; ``cap_reason`` says why ``n_components`` is below the request (else null);
    ``n_oversamples``/``n_power_iterations``: the randomized solver's settings (null for other solvers).
    """
    return pa.schema(
        [
            pa.field("fold", pa.int32(), nullable=False),
            pa.field("component", pa.int32(), nullable=False),
            pa.field("explained_variance", pa.float64(), nullable=False),
            pa.field("explained_variance_ratio", pa.float64(), nullable=False),
            pa.field("cumulative_ratio", pa.float64(), nullable=False),
            pa.field("n_train", pa.int64(), nullable=False),
            pa.field("n_components_requested", pa.int32(), nullable=False),
            pa.field("n_components", pa.int32(), nullable=False),
            pa.field("cap_reason", pa.string()),
            pa.field("solver", pa.string(), nullable=False),
            pa.field("order", pa.string(), nullable=False),
            pa.field("seed", pa.int64(), nullable=False),
            pa.field("n_oversamples", pa.int32()),
            pa.field("n_power_iterations", pa.int32()),
        ]
    )


def pca_components_schema(n_features: int) -> pa.Schema:
    """One row per (fold, component): the unit loading vector over the subject matrix's columns."""
    return pa.schema(
        [
            pa.field("fold", pa.int32(), nullable=False),
            pa.field("component", pa.int32(), nullable=False),
            pa.field("loading", vector_type(n_features), nullable=False),
        ]
    )


def pca_mean_schema(n_features: int) -> pa.Schema:
    """One row per fold: the training mean the basis centres with (scores = (x - mean) @ loadings.T).

    ``train_subjects_sha256`` identifies the training subjects (``cohort_tables.subjects_sha256``).
    """
    return pa.schema(
        [
            pa.field("fold", pa.int32(), nullable=False),
            pa.field("n_train", pa.int64(), nullable=False),
            pa.field("train_subjects_sha256", pa.string(), nullable=False),
            pa.field("mean", vector_type(n_features), nullable=False),
        ]
    )


def residualized_embeddings_schema() -> pa.Schema:
    """One row per (subject, fold): the subject's final embedding, ``split`` 'train' or 'test'."""
    return pa.schema(
        [
            pa.field("subject_id", pa.string(), nullable=False),
            pa.field("fold", pa.int32(), nullable=False),
            pa.field("split", pa.string(), nullable=False),
            pa.field("vector", pa.list_(pa.float64()), nullable=False),
        ]
    )


COHORT_TABLES = (
    # sorted by subject_id (cohort_tables): one subject's rows sit in one small row group per chunk file
    TableSpec("subject_haplotypes", subject_haplotypes_schema, row_group_rows=16_384),
    TableSpec("unique_sequences", unique_sequences_schema),
    # sorted by haplotype_index: row-group statistics locate the few vectors one subject carries; 32 rows
    # (~100 KB at H = 768) per group bound what such a read fetches while keeping the footer small
    TableSpec("personal_gene_vectors", personal_gene_vectors_schema, ("embedding",), row_group_rows=32),
    TableSpec("covariates", covariates_schema, open_columns=True),
    TableSpec("subject_folds", subject_folds_schema),
    TableSpec("pca_basis", pca_basis_schema),
    # a fold's k loadings (genes * H wide each) span few row groups: fold by fold reads skip the others
    TableSpec("pca_components", pca_components_schema, ("loading",), row_group_rows=64),
    TableSpec("pca_mean", pca_mean_schema, ("mean",)),
    # one partition per fold (cohort_tables.fold_partition); 2,048 rows (8 MB at k = 512) per row group bound
    # the writer's buffers
    TableSpec("residualized_embeddings", residualized_embeddings_schema, row_group_rows=2048),
)
TABLES.update({spec.name: spec for spec in COHORT_TABLES})
