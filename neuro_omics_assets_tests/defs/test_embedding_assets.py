"""token_embeddings → gene_vectors → embedding_stability through Dagster with the small demo model."""

from __future__ import annotations

import dagster as dg
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from neuro_omics_assets.cli import main
from neuro_omics_assets.defs import build_definitions
from neuro_omics_assets.defs.instance import prepare_dagster_home
from neuro_omics_assets.genome.chunks import chunk_key, gene_chunk
from neuro_omics_assets.warehouse.catalog import Catalog
from neuro_omics_assets.warehouse.parquet import write_parquet_atomic
from neuro_omics_assets.warehouse.schemas import vectors_from_arrow, vectors_to_arrow

from ..conftest import CHRM_FASTA, CHRM_GTF

# Two chunks of chrM genes: MT-ND6 (minus strand, 525 bp) and MT-CO1 (plus strand, 1542 bp).
GENES = {"MT-ND6": "ENSG00000198695", "MT-CO1": "ENSG00000198804"}
CHUNK_JOB_ASSETS = [dg.AssetKey("gene_sequences"), dg.AssetKey(["dnabert2", "token_embeddings"]),
                    dg.AssetKey(["dnabert2", "gene_vectors"])]


def _chunks() -> list[str]:
    return sorted({chunk_key(gene_chunk(g)) for g in GENES.values()})


def _run_chunk(defs: dg.Definitions, instance: dg.DagsterInstance, chunk: str) -> dg.ExecuteInProcessResult:
    job = defs.resolve_job_def("gene_chunks_job")
    return job.execute_in_process(instance=instance, partition_key=chunk, asset_selection=CHUNK_JOB_ASSETS)


@pytest.fixture
def two_chunks(pipeline_env):
    prepare_dagster_home()
    defs = build_definitions()
    with dg.DagsterInstance.get() as instance:
        defs.resolve_job_def("reference_job").execute_in_process(instance=instance)
        for chunk in _chunks():
            assert _run_chunk(defs, instance, chunk).success
        yield defs, instance, Catalog(pipeline_env / "warehouse")


def _token_metadata(instance: dg.DagsterInstance, chunk: str) -> dict:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(["dnabert2", "token_embeddings"]), asset_partitions=[chunk]), limit=1
    ).records
    return {k: v.value for k, v in records[0].asset_materialization.metadata.items()}


def test_chunk_vectors_equal_cli_embed_output(two_chunks, tmp_path, demo_model_dir):
    _, _, catalog = two_chunks
    stored = catalog.query("select gene_id, embedding, rc_cosine from dnabert2.gene_vectors order by gene_id")
    assert set(GENES.values()) <= set(stored["gene_id"])
    extracted, embedded = tmp_path / "genes.parquet", tmp_path / "vectors.parquet"
    assert main(["extract", "--fasta", str(CHRM_FASTA), "--gtf", str(CHRM_GTF), "--genes", ",".join(GENES),
                 "--out", str(extracted)]) == 0
    assert main(["embed", "--model", str(demo_model_dir), "--sequences", str(extracted), "--out", str(embedded),
                 "--device", "cpu"]) == 0
    cli = pq.read_table(embedded).to_pandas().set_index("gene_id")
    for gene_id in GENES.values():
        row = stored.set_index("gene_id").loc[gene_id]
        np.testing.assert_allclose(np.asarray(row["embedding"]), cli.loc[gene_id, "embedding"], atol=1e-5)
        assert row["rc_cosine"] == pytest.approx(cli.loc[gene_id, "rc_cosine"], abs=1e-6)


def test_rematerializing_unchanged_chunk_makes_no_model_call(two_chunks):
    defs, instance, _ = two_chunks
    chunk = _chunks()[0]
    first = _token_metadata(instance, chunk)
    assert first["model_calls"] >= 1 and first["cache_hits"] == 0
    assert _run_chunk(defs, instance, chunk).success
    again = _token_metadata(instance, chunk)
    assert again["model_calls"] == 0 and again["cache_hits"] == again["genes"] >= 1
    assert again["model_sha256"] == first["model_sha256"]


def test_vectors_queryable_as_float_arrays(two_chunks):
    _, _, catalog = two_chunks
    types = catalog.query("describe dnabert2.gene_vectors").set_index("column_name")["column_type"]
    assert types["embedding"] == "FLOAT[64]"
    cos = catalog.query(
        "select array_cosine_similarity(a.embedding, b.embedding) as c from dnabert2.gene_vectors a, dnabert2.gene_vectors b "
        f"where a.gene_id = '{GENES['MT-ND6']}' and b.gene_id = '{GENES['MT-CO1']}'"
    )["c"].iloc[0]
    vectors = catalog.query("select gene_id, embedding from dnabert2.gene_vectors").set_index("gene_id")["embedding"]
    a, b = (np.asarray(vectors[GENES[g]], dtype=np.float64) for g in ("MT-ND6", "MT-CO1"))
    assert cos == pytest.approx(a @ b / np.linalg.norm(a) / np.linalg.norm(b), abs=1e-5)
    lineage = catalog.lineage("dnabert2/gene_vectors")
    assert set(lineage["partition"]) == set(_chunks())


@pytest.mark.parametrize(
    ("corruption", "check"),
    [
        ("nan", "gene_vectors_have_no_nan"),
        ("width", "gene_vectors_width_matches_model"),
        ("drop_gene", "gene_vectors_one_row_per_gene"),
    ],
)
def test_corrupted_vectors_fail_their_check(two_chunks, corruption, check):
    defs, instance, catalog = two_chunks
    chunk = chunk_key(gene_chunk(GENES["MT-CO1"]))
    table = catalog.read_partition("dnabert2.gene_vectors", chunk)
    vectors = vectors_from_arrow(table["embedding"])
    if corruption == "nan":
        vectors[0, 3] = np.nan
    elif corruption == "width":
        vectors = vectors[:, :-1]
    else:
        table, vectors = table.slice(1), vectors[1:]
    column = table.schema.get_field_index("embedding")
    broken = table.set_column(column, pa.field("embedding", vectors_to_arrow(vectors).type), vectors_to_arrow(vectors))
    # Corrupt the file on disk behind the catalog's back (the catalog itself refuses such writes).
    write_parquet_atomic(broken, catalog.partition_path("dnabert2.gene_vectors", chunk))
    result = defs.resolve_job_def("gene_vector_checks_job").execute_in_process(instance=instance, raise_on_error=False)
    outcomes = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert outcomes[check] is False
    others = {"gene_vectors_have_no_nan", "gene_vectors_width_matches_model", "gene_vectors_one_row_per_gene"} - {check}
    assert all(outcomes[name] for name in others)
    assert outcomes["gene_vector_reproduces_on_reembedding"] is (corruption == "drop_gene")


def test_embedding_stability_answers_the_recipe_questions(two_chunks):
    defs, instance, catalog = two_chunks
    assert defs.resolve_job_def("embedding_report_job").execute_in_process(instance=instance).success
    per_gene = catalog.query("select * from dnabert2.embedding_stability").set_index("gene_id")
    summary = catalog.query("select * from dnabert2.embedding_stability_summary").set_index("strategy")
    vectors = catalog.query("select gene_id, rc_cosine, cls_mean_cosine from dnabert2.gene_vectors").set_index("gene_id")
    for gene_id in GENES.values():
        assert per_gene.loc[gene_id, "rc_cosine"] == pytest.approx(vectors.loc[gene_id, "rc_cosine"], abs=1e-9)
    assert summary.loc["mean_rc_averaged", "similarity_structure_corr"] == pytest.approx(1.0)
    assert -1.0 <= summary.loc["cls_forward", "similarity_structure_corr"] <= 1.0
    event = instance.get_latest_materialization_event(dg.AssetKey(["dnabert2", "embedding_stability"]))
    plot = event.asset_materialization.metadata["rc_stability_plot"].value
    assert plot.startswith("![plot](data:image/png;base64,")


def test_gene_vector_does_not_depend_on_chunk_mates(two_chunks, demo_model_dir):
    from neuro_omics_assets.embedding.engine import EmbeddingEngine
    from neuro_omics_assets.models.dnabert2 import load_dnabert2

    _, _, catalog = two_chunks
    chunk = chunk_key(gene_chunk(GENES["MT-ND6"]))
    sequences = catalog.read_partition("gene_sequences", chunk).to_pandas().set_index("gene_id")
    stored = catalog.read_partition("dnabert2.gene_vectors", chunk).to_pandas().set_index("gene_id")
    engine = EmbeddingEngine(load_dnabert2(demo_model_dir, device="cpu", dtype="float32"))
    alone = engine.embed({"x": sequences.loc[GENES["MT-ND6"], "sequence"]})["x"].vector
    np.testing.assert_allclose(stored.loc[GENES["MT-ND6"], "embedding"], alone, atol=1e-5)


def test_backfill_of_many_chunks_loads_the_model_once(pipeline_env):
    from neuro_omics_assets.defs.jobs import partition_range_tags
    from neuro_omics_assets.defs.resources import _load_encoder

    prepare_dagster_home()
    defs = build_definitions()
    _load_encoder.cache_clear()
    with dg.DagsterInstance.get() as instance:
        defs.resolve_job_def("reference_job").execute_in_process(instance=instance)
        result = defs.resolve_job_def("gene_chunks_job").execute_in_process(
            instance=instance, tags=partition_range_tags("chunk_000", "chunk_015")
        )
    assert result.success
    assert _load_encoder.cache_info().misses == 1
    materialized = {
        e.partition for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(["dnabert2", "gene_vectors"])
    }
    assert materialized == {f"chunk_{i:03d}" for i in range(16)}
