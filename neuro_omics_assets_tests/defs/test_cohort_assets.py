"""The cohort chain through Dagster: haplotypes → personal vectors → subject embeddings → folds → PCA → residuals.

One SYNTHETIC 60-subject chrM cohort (seed 42) over five genes, materialized once per module (haploid
like the demo, and diploid), then queried through DuckDB.
"""

from __future__ import annotations

import hashlib
import json

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pydantic
import pytest

from neuro_omics_assets import settings
from neuro_omics_assets.checksums import file_sha256
from neuro_omics_assets.cohort.matrix import build_subject_gene_tensor
from neuro_omics_assets.cohort.simulate import COVARIATES_NAME, VCF_NAME, simulate_cohort
from neuro_omics_assets.defs import build_definitions
from neuro_omics_assets.defs.instance import prepare_dagster_home
from neuro_omics_assets.defs.jobs import partition_range_tags
from neuro_omics_assets.errors import MissingContigError
from neuro_omics_assets.warehouse.catalog import Catalog
from neuro_omics_assets.warehouse.cohort_schemas import subject_embeddings_schema
from neuro_omics_assets.warehouse.cohort_tables import vectors_by_sha256

from ..conftest import CHRM_FASTA, CHRM_GTF
from ..variants.vcfdata import write_vcf

N_SUBJECTS = 60
# chunk_001..chunk_005 of 64 (chunk_004 holds none of them): 2 to 6 distinct sequences each in the cohort.
GENES = ("MT-CO2", "MT-ND4L", "MT-CO1", "MT-TA", "MT-CYB")
FIRST_CHUNK, LAST_CHUNK = "chunk_001", "chunk_005"
COHORT_TABLES = ("subject_haplotypes", "unique_sequences", "dnabert2.personal_gene_vectors", "covariates",
                 "subject_folds", "dnabert2.pca_basis", "dnabert2.pca_components", "dnabert2.pca_mean",
                 "dnabert2.residualized_embeddings")


def _metadata(instance: dg.DagsterInstance, asset: str) -> dict:
    """The latest materialization metadata of ``asset`` (``dnabert2/pca_basis`` or a shared ``covariates``)."""
    event = instance.get_latest_materialization_event(dg.AssetKey.from_user_string(asset))
    return {key: value.value for key, value in event.asset_materialization.metadata.items()}


def _vectors(column: pd.Series) -> np.ndarray:
    return np.stack(column.to_numpy()).astype(np.float64)


@pytest.fixture(scope="module", params=[1, 2], ids=["haploid", "diploid"])
def chain(request, tmp_path_factory, demo_model_dir):
    """The whole cohort chain materialized into a fresh instance and warehouse."""
    root = tmp_path_factory.mktemp(f"ploidy{request.param}")
    files = simulate_cohort(root / "cohort", CHRM_FASTA, n_subjects=N_SUBJECTS, seed=42, ploidy=request.param)
    (root / "genes.txt").write_text("\n".join(GENES) + "\n")
    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            "DAGSTER_HOME": root / "dagster_home", "NEURO_OMICS_WAREHOUSE": root / "warehouse",
            "NEURO_OMICS_CACHE_DIR": root / "cache", "NEURO_OMICS_MODEL_DIR": demo_model_dir,
            "NEURO_OMICS_FASTA": CHRM_FASTA, "NEURO_OMICS_GTF": CHRM_GTF, "NEURO_OMICS_DEVICE": "cpu",
            "NEURO_OMICS_GENE_LIST": root / "genes.txt", "NEURO_OMICS_VCF": files.vcf,
            "NEURO_OMICS_COVARIATES": files.covariates,
        }.items():
            env.setenv(name, str(value))
        prepare_dagster_home()
        defs = build_definitions()
        chunks = partition_range_tags(FIRST_CHUNK, LAST_CHUNK)
        with dg.DagsterInstance.get() as instance:
            results = {
                job: defs.resolve_job_def(job).execute_in_process(instance=instance, tags=tags)
                for job, tags in (("reference_job", None), ("gene_chunks_job", chunks), ("cohort_chunks_job", chunks),
                                  ("cohort_job", None))
            }
            yield {"defs": defs, "instance": instance, "catalog": Catalog(root / "warehouse"), "files": files,
                   "results": results, "ploidy": request.param}


def test_the_chain_materializes_to_residualized_embeddings(chain):
    assert all(result.success for result in chain["results"].values())
    catalog = chain["catalog"]
    counts = catalog.query("select fold, split, count(*) as n, min(len(vector)) as k_min, max(len(vector)) as k_max "
                           "from dnabert2.residualized_embeddings group by fold, split order by fold, split")
    assert sorted(counts["fold"].unique()) == [0, 1, 2, 3, 4]
    per_fold = counts.groupby("fold")["n"].sum()
    assert (per_fold == N_SUBJECTS).all()  # every subject once per fold, as train or test
    assert (counts["k_min"] == counts["k_max"]).all()
    tested = catalog.query("select subject_id, count(*) as n from dnabert2.residualized_embeddings where split = 'test' "
                           "group by subject_id")
    assert len(tested) == N_SUBJECTS and (tested["n"] == 1).all()  # held out in exactly one fold
    evaluations = chain["results"]["cohort_job"].get_asset_check_evaluations()
    assert [(e.check_name, e.passed) for e in evaluations] == [
        ("residualized_embeddings_uncorrelated_with_covariates", True)
    ]


def test_only_unique_sequences_reach_the_encoder(chain):
    catalog, instance = chain["catalog"], chain["instance"]
    haplotypes = catalog.query("select count(*) as rows, count(distinct sha256) as distinct_sha, "
                               "count(distinct sha256) filter (where n_variants = 0) as reference "
                               "from subject_haplotypes").iloc[0]
    vectors = catalog.query("select count(*) as n, count(distinct sha256) as shas from dnabert2.personal_gene_vectors").iloc[0]
    assert haplotypes["rows"] == N_SUBJECTS * chain["ploidy"] * len(GENES)
    assert vectors["n"] == vectors["shas"] == haplotypes["distinct_sha"] < haplotypes["rows"] / 10
    meta = _metadata(instance, "dnabert2/personal_gene_vectors")
    assert meta["distinct_sequences"] == haplotypes["distinct_sha"]
    # reference sequences were embedded by token_embeddings: cache hits; only the others reach the model
    assert meta["cache_hits"] == haplotypes["reference"] >= 1
    assert meta["sequences_to_model"] == haplotypes["distinct_sha"] - haplotypes["reference"]
    assert meta["model_calls"] >= 1 and meta["model_sha256"] == _metadata(instance, "dnabert2/token_embeddings")["model_sha256"]
    again = chain["defs"].resolve_job_def("cohort_chunks_job").execute_in_process(
        instance=instance, tags=partition_range_tags(FIRST_CHUNK, LAST_CHUNK))
    assert again.success
    rerun = _metadata(instance, "dnabert2/personal_gene_vectors")
    assert (rerun["sequences_to_model"], rerun["model_calls"], rerun["cache_hits"]) == (0, 0, meta["distinct_sequences"])


def test_subject_embedding_is_the_mean_of_its_haplotype_vectors(chain):
    catalog = chain["catalog"]
    expected = catalog.query(
        "select h.subject_id, h.gene_id, list(v.embedding) as vectors, count(*) as n_haplotypes "
        "from subject_haplotypes h join dnabert2.personal_gene_vectors v using (gene_id, sha256) group by h.subject_id, h.gene_id"
    ).set_index(["subject_id", "gene_id"])
    stored = catalog.query("select subject_id, gene_id, n_variants, embedding from dnabert2.subject_embeddings")
    stored = stored.set_index(["subject_id", "gene_id"]).loc[expected.index]
    assert len(stored) == N_SUBJECTS * len(GENES)
    assert (expected["n_haplotypes"] == chain["ploidy"]).all()
    means = np.stack([np.mean(np.stack(v), axis=0) for v in expected["vectors"]])
    np.testing.assert_allclose(_vectors(stored["embedding"]), means, atol=1e-6)
    # no variant in the gene: the reference sequence, hence exactly its gene_vectors row
    reference = catalog.query("select gene_id, embedding from dnabert2.gene_vectors").set_index("gene_id")["embedding"]
    plain = stored[stored["n_variants"] == 0]
    assert 0 < len(plain) < len(stored)
    genes = plain.index.get_level_values("gene_id")
    np.testing.assert_allclose(_vectors(plain["embedding"]), _vectors(reference.loc[genes]), atol=1e-6)


def test_subject_embeddings_view_equals_the_dense_table(chain):
    """The view against the table the dense path used to store: build_subject_gene_tensor over the same map."""
    catalog = chain["catalog"]
    chunks = catalog.partitions("subject_haplotypes")
    assignments = pd.concat([catalog.read_partition("subject_haplotypes", c).to_pandas() for c in chunks])
    vectors = vectors_by_sha256(pa.concat_tables([catalog.read_partition("dnabert2.personal_gene_vectors", c) for c in chunks]))
    genes = catalog.query("select gene_id, manifest_index from genes order by manifest_index")
    genes = genes[genes["gene_id"].isin(assignments["gene_id"])]
    subjects = sorted(assignments["subject_id"].unique())
    tensor = build_subject_gene_tensor(assignments, vectors, subjects, genes["gene_id"].tolist())
    view = catalog.query("select * from dnabert2.subject_embeddings order by subject_id, manifest_index")
    assert list(view.columns) == subject_embeddings_schema(tensor.shape[2]).names
    assert len(view) == tensor.shape[0] * tensor.shape[1]
    np.testing.assert_array_equal(np.stack(view["embedding"].to_numpy()), tensor.reshape(-1, tensor.shape[2]))
    assert (view["manifest_index"].to_numpy() == np.tile(genes["manifest_index"].to_numpy(), len(subjects))).all()
    variants = assignments.groupby(["subject_id", "gene_id"])["n_variants"].sum()
    assert (view.set_index(["subject_id", "gene_id"])["n_variants"] == variants.loc[view.set_index(
        ["subject_id", "gene_id"]).index]).all()
    types = catalog.query("describe dnabert2.subject_embeddings").set_index("column_name")["column_type"]
    assert types["embedding"] == f"FLOAT[{tensor.shape[2]}]"


def test_one_subject_query_reads_only_its_haplotype_rows(chain):
    catalog = chain["catalog"]
    with catalog.connect_read_only() as con:
        plan = con.execute("explain select * from dnabert2.subject_embeddings where subject_id = 'SYN0007'").fetchall()[0][1]
    # the filter reaches the subject_haplotypes scan (whose file is sorted by subject_id for row-group skipping);
    # box drawing and spacing of the plan differ between DuckDB releases, so compare without them
    assert "Filters:subject_id='SYN0007'" in "".join(plan.replace("│", "").split())
    row = catalog.query("select subject_id, flatten(list(embedding::FLOAT[] order by manifest_index)) as vector "
                        "from dnabert2.subject_embeddings where subject_id = 'SYN0007' group by subject_id")
    every = catalog.query("select * from dnabert2.subject_embeddings order by manifest_index")
    mine = every[every["subject_id"] == "SYN0007"]
    np.testing.assert_array_equal(row["vector"].iloc[0], np.concatenate(mine["embedding"].to_numpy()))
    files = [pq.ParquetFile(path) for path in sorted((catalog.root / "parquet" / "subject_haplotypes").glob("*.parquet"))]
    for file in files:
        ids = file.read(columns=["subject_id"])["subject_id"].to_pylist()
        assert ids == sorted(ids)


def test_pca_basis_is_fitted_on_the_training_subjects_only(chain):
    catalog, instance = chain["catalog"], chain["instance"]
    folds = _metadata(instance, "dnabert2/pca_basis")["folds"]
    train_rows = catalog.query("select fold, count(*) as n from dnabert2.residualized_embeddings where split = 'train' "
                               "group by fold").set_index("fold")["n"]
    held_out = catalog.query("select test_fold as fold, count(*) as n from subject_folds group by 1").set_index("fold")["n"]
    distinct = catalog.query("select f.test_fold, h.subject_id, h.gene_id, h.sha256 from subject_haplotypes h "
                             "join subject_folds f using (subject_id)")
    for row in folds:
        assert row["n_train"] == train_rows[row["fold"]] == N_SUBJECTS - held_out[row["fold"]]
        # rows are sums of per-gene vectors, and subjects share haplotypes: the rows' rank, at most
        # sum(distinct sequences - 1) over genes, caps the recipe's 512 well below n_train - 1
        train = distinct[distinct["test_fold"] != row["fold"]]
        span = int((train.groupby("gene_id")["sha256"].nunique() - 1).sum())
        assert 1 <= row["n_components"] <= span < row["n_train"] - 1
        assert row["cap_reason"].startswith(f"rank {row['n_components']}: the {row['n_train']} centred training rows")
    assert catalog.query("select min(explained_variance_ratio) as r from dnabert2.pca_basis")["r"].iloc[0] > 1e-9
    # the stored mean is the mean of the training subjects' concatenated vectors, not of all subjects
    matrix = catalog.query(
        "select e.subject_id, f.test_fold, flatten(list(e.embedding::FLOAT[] order by e.manifest_index)) as x "
        "from dnabert2.subject_embeddings e join subject_folds f using (subject_id) group by e.subject_id, f.test_fold")
    x, test_fold = _vectors(matrix["x"]), matrix["test_fold"].to_numpy()
    mean = catalog.query("select mean from dnabert2.pca_mean where fold = 0")["mean"].iloc[0]
    np.testing.assert_allclose(mean, x[test_fold != 0].mean(axis=0), atol=1e-6)
    assert not np.allclose(mean, x.mean(axis=0), atol=1e-6)


def test_training_residuals_are_uncorrelated_with_every_covariate(chain):
    catalog = chain["catalog"]
    covariates = catalog.query("select * from covariates").set_index("subject_id")
    numeric = covariates[["age", *(f"PC{i}" for i in range(1, 11))]]
    design = pd.concat([numeric, pd.get_dummies(covariates[["sex", "batch"]], drop_first=True, dtype=float)], axis=1)
    assert list(design.columns) == ["age", *(f"PC{i}" for i in range(1, 11)), "sex_M", "batch_b2", "batch_b3"]
    train = catalog.query("select subject_id, fold, vector from dnabert2.residualized_embeddings where split = 'train'")
    for fold, rows in train.groupby("fold"):
        y, c = _vectors(rows["vector"]), design.loc[rows["subject_id"]].to_numpy(np.float64)
        c = c[:, c.std(axis=0) > 0]  # e.g. an ancestry PC constant on these subjects: no correlation to speak of
        assert c.shape[1] >= design.shape[1] - 1
        r = np.corrcoef(np.column_stack([y, c]), rowvar=False)[: y.shape[1], y.shape[1]:]
        assert np.abs(r).max() < 1e-8, f"fold {fold}"
        np.testing.assert_allclose(y.std(axis=0), 1.0, atol=1e-8)  # z-scored on the training subjects


def test_covariates_view_has_one_column_per_covariate(chain):
    catalog = chain["catalog"]
    ages = catalog.query("select subject_id, age from covariates order by subject_id").set_index("subject_id")["age"]
    written = pd.read_csv(chain["files"].covariates, sep="\t").set_index("subject_id")["age"]
    pd.testing.assert_series_equal(ages, written.astype(float).loc[ages.index], check_names=False)
    types = catalog.query("describe covariates").set_index("column_name")["column_type"]
    assert (types["age"], types["sex"], types["PC10"]) == ("DOUBLE", "VARCHAR", "DOUBLE")


def test_every_cohort_output_records_its_settings_and_lineage(chain):
    catalog, instance = chain["catalog"], chain["instance"]
    lineage = catalog.lineage()
    for table in COHORT_TABLES:
        assert lineage["path"].str.contains(f"/parquet/{table.replace('.', '/')}/").any(), table
    view = lineage[lineage["asset_key"] == "dnabert2/subject_embeddings"]
    assert view["path"].str.endswith("neuro_omics.duckdb#view:dnabert2.subject_embeddings").all()
    assert (view["rows"] == 0).all()
    assert not (catalog.root / "parquet" / "dnabert2" / "subject_embeddings").exists()  # nothing stored per subject
    assert set(lineage.loc[lineage["asset_key"] == "subject_haplotypes", "partition"]) == {
        f"chunk_{i:03d}" for i in range(1, 6)}
    # one partition per fold, each written as soon as it is computed
    assert set(lineage.loc[lineage["asset_key"] == "dnabert2/residualized_embeddings", "partition"]) == {
        f"fold_{f}" for f in range(5)}
    recorded = json.loads(lineage.loc[lineage["asset_key"] == "dnabert2/residualized_embeddings", "metadata"].iloc[-1])
    meta = _metadata(instance, "dnabert2/residualized_embeddings")
    for settings_of in (recorded, meta):
        assert settings_of["order"] == "pca_then_residualize" and settings_of["n_components_requested"] == 512
        assert settings_of["seed"] == settings_of["fold_seed"] == 42 and settings_of["splitter"] == "KFold"
        assert settings_of["mode"] == "haplotypes" and settings_of["combine"] == "mean"
        assert settings_of["covariate_columns"] == ["age", "sex", *(f"PC{i}" for i in range(1, 11)), "batch"]
        assert [f["fold"] for f in settings_of["folds"]] == [0, 1, 2, 3, 4]
        assert {f["solver"] for f in settings_of["folds"]} == {"randomized"}
        assert (settings_of["oversamples"], settings_of["power_iterations"]) == (10, 7)
    stored = catalog.query("select distinct solver, n_oversamples, n_power_iterations from dnabert2.pca_basis")
    assert stored.to_dict("records") == [{"solver": "randomized", "n_oversamples": 10, "n_power_iterations": 7}]


def test_residualize_then_pca_is_a_recorded_setting(chain):
    catalog, instance = chain["catalog"], chain["instance"]
    config = {"ops": {"dnabert2__pca_basis": {"config": {"order": "residualize_then_pca", "n_components": 5}}}}
    # a fold partition of an earlier, larger n_splits: the rerun deletes it (else its k = 512 rows would stay)
    table = "dnabert2/residualized_embeddings"
    catalog.write_partition(table, "fold_9", catalog.read_partition(table, "fold_0"))
    result = chain["defs"].resolve_job_def("cohort_job").execute_in_process(
        instance=instance, run_config=config,
        asset_selection=[dg.AssetKey(["dnabert2", "pca_basis"]), dg.AssetKey(["dnabert2", "residualized_embeddings"])])
    assert result.success
    orders = catalog.query('select distinct "order", n_components, cap_reason from dnabert2.pca_basis')
    assert orders.to_dict("records") == [{"order": "residualize_then_pca", "n_components": 5, "cap_reason": None}]
    assert _metadata(instance, "dnabert2/residualized_embeddings")["order"] == "residualize_then_pca"
    assert catalog.query("select distinct len(vector) as k from dnabert2.residualized_embeddings")["k"].tolist() == [5]
    assert catalog.partitions("dnabert2/residualized_embeddings") == [f"fold_{f}" for f in range(5)]
    assert all(e.passed for e in result.get_asset_check_evaluations())


def test_covariates_report_subjects_missing_on_either_side(pipeline_env, monkeypatch):
    files = simulate_cohort(pipeline_env / "cohort", CHRM_FASTA, n_subjects=30, seed=3, ploidy=1)
    table = pd.read_csv(files.covariates, sep="\t")
    table.loc[1, "age"] = None
    edited = pd.concat([table.drop(index=0), table.iloc[[2]].assign(subject_id="NOT_GENOTYPED")])
    edited.to_csv(pipeline_env / "covariates.csv", index=False)
    for name, value in {"NEURO_OMICS_VCF": files.vcf, "NEURO_OMICS_COVARIATES": pipeline_env / "covariates.csv",
                        "NEURO_OMICS_COVARIATE_MISSING": "drop"}.items():
        monkeypatch.setenv(name, str(value))
    prepare_dagster_home()
    with dg.DagsterInstance.get() as instance:
        result = build_definitions().resolve_job_def("cohort_job").execute_in_process(
            instance=instance, asset_selection=[dg.AssetKey("covariates")])
        meta = _metadata(instance, "covariates")
    assert result.success
    assert meta["dropped_for_missing_values"] == ["SYN0002"]
    assert meta["genotyped_without_covariates"] == ["SYN0001", "SYN0002"]
    assert meta["covariates_not_genotyped"] == ["NOT_GENOTYPED"]
    assert (meta["subjects_genotyped"], meta["subjects_with_covariates"]) == (30, 28)


def test_cohort_assets_in_the_graph(pipeline_env):
    defs = build_definitions()  # one encoder (NEURO_OMICS_MODEL_DIR set): dnabert2
    graph = defs.resolve_asset_graph()
    cohort = {key.to_user_string(): graph.get(key).partitions_def is not None
              for key in graph.get_all_asset_keys() if graph.get(key).group_name == "cohort"}
    assert cohort == {"subject_haplotypes": True, "dnabert2/personal_gene_vectors": True, "covariates": False,
                      "subject_folds": False, "dnabert2/subject_embeddings": False, "dnabert2/pca_basis": False,
                      "dnabert2/residualized_embeddings": False}
    assert defs.resolve_assets_def(dg.AssetKey(["dnabert2", "personal_gene_vectors"])).op.pool == "gpu"
    assert "residualized_embeddings_uncorrelated_with_covariates" in {k.name for k in graph.asset_check_keys}


def test_demo_cohort_paths_are_the_files_simulate_writes():
    assert (settings.demo_cohort_vcf().name, settings.demo_cohort_covariates().name) == (VCF_NAME, COVARIATES_NAME)


def test_subject_haplotypes_records_the_vcf_set_and_flags_no_gene(chain):
    catalog, instance, vcf = chain["catalog"], chain["instance"], chain["files"].vcf
    meta = _metadata(chain["instance"], "subject_haplotypes")
    expected = [{"file": VCF_NAME, "bytes": vcf.stat().st_size, "index_sha256": file_sha256(f"{vcf}.tbi")}]
    assert meta["vcf_files"] == expected
    assert meta["vcf_set_sha256"] == hashlib.sha256(json.dumps(expected, sort_keys=True).encode()).hexdigest()
    assert (meta["missing_contig"], meta["reference_only_genes"], meta["reference_only_gene_ids"]) == ("error", 0, [])
    assert catalog.query("select count(*) filter (where reference_only) as n from subject_haplotypes")["n"][0] == 0
    lineage = catalog.lineage("subject_haplotypes")
    assert {row["vcf_set_sha256"] for row in lineage["input_checksums"].map(json.loads)} == {meta["vcf_set_sha256"]}
    assert _metadata(instance, "covariates")["vcf_set_sha256"] == meta["vcf_set_sha256"]


def test_vcf_setting_and_missing_contig_policy_come_from_the_environment(pipeline_env, monkeypatch):
    from neuro_omics_assets.defs import build_resources

    vcfs = [write_vcf(pipeline_env / f"{c}.vcf.gz", ["S1"], [(c, 5, "A", "C", "PASS", "0|1")], [c])
            for c in ("chr2", "chr10")]
    monkeypatch.setenv("NEURO_OMICS_VCF", str(pipeline_env / "chr*.vcf.gz"))
    monkeypatch.setenv("NEURO_OMICS_VCF_MISSING_CONTIG", "reference")
    cohort = build_resources()["cohort"].process_config_and_initialize()  # resolves dg.EnvVar
    assert (cohort.vcf_paths(), cohort.missing_contig) == ((vcfs[1], vcfs[0]), "reference")  # sorted by name
    monkeypatch.setenv("NEURO_OMICS_VCF", f"{vcfs[0]},{vcfs[1]}")
    assert build_resources()["cohort"].process_config_and_initialize().vcf_paths() == tuple(vcfs)
    monkeypatch.setenv("NEURO_OMICS_VCF_MISSING_CONTIG", "skip")
    with pytest.raises(pydantic.ValidationError, match=r"'error' or 'reference'"):
        build_resources()


def test_a_gene_no_vcf_covers_fails_the_run_or_is_flagged_by_policy(pipeline_env, monkeypatch):
    # A 1000 Genomes-style set whose headers declare every contig, with records on chr1 and chr2 but
    # no file for chrM, the FASTA's only contig.
    contigs = ["chrM", "chr1", "chr2"]
    vcfs = [write_vcf(pipeline_env / f"{c}.vcf.gz", ["S1", "S2"], [(c, 5, "A", "C", "PASS", "0|1", "1|1")], contigs)
            for c in ("chr1", "chr2")]
    (pipeline_env / "genes.txt").write_text("MT-CO2\nMT-CYB\n")
    monkeypatch.setenv("NEURO_OMICS_VCF", ",".join(map(str, vcfs)))
    monkeypatch.setenv("NEURO_OMICS_GENE_LIST", str(pipeline_env / "genes.txt"))
    prepare_dagster_home()
    with dg.DagsterInstance.get() as instance:
        assert build_definitions().resolve_job_def("reference_job").execute_in_process(instance=instance).success
        select = {"asset_selection": [dg.AssetKey("subject_haplotypes")], "tags": partition_range_tags(FIRST_CHUNK,
                                                                                                       LAST_CHUNK)}
        with pytest.raises(MissingContigError, match=r"no VCF covers the contig of 1 selected genes: MT-\w+ \(\w+\) "
                                                     r"\(chrM\)\. The VCFs cover no contig \(files: chr1.vcf.gz, "
                                                     r"chr2.vcf.gz\)"):
            build_definitions().resolve_job_def("cohort_chunks_job").execute_in_process(instance=instance, **select)
        monkeypatch.setenv("NEURO_OMICS_VCF_MISSING_CONTIG", "reference")
        result = build_definitions().resolve_job_def("cohort_chunks_job").execute_in_process(instance=instance, **select)
        meta = _metadata(instance, "subject_haplotypes")
    assert result.success
    rows = Catalog(pipeline_env / "warehouse").query(
        "select gene_name, gene_id, bool_and(reference_only) as flagged, count(*) as n, max(n_variants) as n_variants "
        "from subject_haplotypes group by gene_name, gene_id order by gene_name")
    assert rows.drop(columns="gene_id").to_dict("records") == [
        {"gene_name": "MT-CO2", "flagged": True, "n": 4, "n_variants": 0},  # 2 subjects x 2 reference haplotypes
        {"gene_name": "MT-CYB", "flagged": True, "n": 4, "n_variants": 0}]
    assert meta["reference_only_genes"] == 2 and meta["missing_contig"] == "reference"
    assert sorted(meta["reference_only_gene_ids"]) == sorted(rows["gene_id"])
