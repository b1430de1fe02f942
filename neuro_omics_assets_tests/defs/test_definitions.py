"""The code location loads, and its asset graph is what the README promises."""

from __future__ import annotations

import dagster as dg
import pytest

from neuro_omics_assets.defs import build_definitions

# The default deployment (no deployment file, no model variable): the two demo encoders.
ENCODERS = ("dnabert2", "caduceus_ps")
# Snapshot of the whole code location. Any asset, check, job, schedule or sensor added, removed, regrouped
# or re-partitioned fails the test until this snapshot is updated deliberately (and the README with it).
SHARED_ASSETS = {  # asset → (group, partitioned: by gene chunk, or by genome in cross_species)
    "reference_genome": ("reference", False),
    "gene_annotation": ("reference", False),
    "selected_genes": ("reference", False),
    "gene_sequences": ("sequences", True),
    "subject_haplotypes": ("cohort", True),
    "covariates": ("cohort", False),
    "subject_folds": ("cohort", False),
    "bpe_vocabulary": ("tokens", False),
    "bpe_region_tokens": ("tokens", True),
    "bpe_token_usage": ("tokens", False),
    "bpe_motif_enrichment": ("tokens", False),
    "bpe_codon_frame": ("tokens", False),
    "brain_features": ("evaluation", False),
    "encoder_leaderboard": ("evaluation", False),
    "encoder_comparison": ("comparison", False),
    "species_gene_sequences": ("cross_species", True),
    "ortholog_pairs": ("cross_species", False),
}
PER_ENCODER_ASSETS = {  # <encoder>/asset → (group, partitioned by gene chunk)
    "token_embeddings": ("embeddings", True),
    "gene_vectors": ("embeddings", True),
    "embedding_stability": ("embeddings", False),
    "personal_gene_vectors": ("cohort", True),
    "subject_embeddings": ("cohort", False),
    "pca_basis": ("cohort", False),
    "residualized_embeddings": ("cohort", False),
    "gene_brain_cca": ("evaluation", False),
    "phenotype_prediction": ("evaluation", False),
    "species_gene_vectors": ("cross_species", True),
    "ortholog_transfer": ("cross_species", False),
    "zero_shot_classification": ("cross_species", False),
}
EXPECTED_ASSETS = {**SHARED_ASSETS,
                   **{f"{enc}/{name}": value for enc in ENCODERS for name, value in PER_ENCODER_ASSETS.items()}}
PER_ENCODER_CHECKS = {  # (asset, check) → blocking
    ("gene_vectors", "gene_vector_reproduces_on_reembedding"): False,
    ("gene_vectors", "gene_vectors_have_no_nan"): True,
    ("gene_vectors", "gene_vectors_one_row_per_gene"): True,
    ("gene_vectors", "gene_vectors_share_one_identity"): True,
    ("gene_vectors", "gene_vectors_width_matches_model"): True,
    ("personal_gene_vectors", "personal_gene_vectors_share_one_identity"): True,
    ("token_embeddings", "token_embeddings_share_one_identity"): True,
    ("residualized_embeddings", "residualized_embeddings_uncorrelated_with_covariates"): False,
}
EXPECTED_CHECKS = {(f"{enc}/{asset}", check): blocking
                   for enc in ENCODERS for (asset, check), blocking in PER_ENCODER_CHECKS.items()}
EXPECTED_JOBS = {
    "reference_job", "gene_chunks_job", "embedding_report_job", "cohort_chunks_job", "cohort_job",
    "chunk_assets_job", "gene_vector_checks_job", "observe_gene_annotation_job", "tokens_chunks_job", "tokens_job",
    "evaluation_job", "cross_species_genomes_job", "cross_species_job",
}
EXPECTED_SCHEDULES = {"observe_gene_annotation_schedule"}
EXPECTED_SENSORS = {"changed_gene_chunks_sensor", "neuro_omics_automation_sensor", "release_dead_runs_sensor"}


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    with pytest.MonkeyPatch.context() as env:
        for name in ("NEURO_OMICS_DEPLOYMENT", "NEURO_OMICS_MODEL_DIR", "NEURO_OMICS_CADUCEUS_MODEL_DIR"):
            env.delenv(name, raising=False)
        return build_definitions()


def test_code_location_snapshot(defs):
    graph = defs.resolve_asset_graph()
    assets = {key.to_user_string(): (graph.get(key).group_name, graph.get(key).partitions_def is not None)
              for key in graph.get_all_asset_keys()}
    assert assets == EXPECTED_ASSETS
    checks = {(key.asset_key.to_user_string(), key.name): graph.get(key).blocking for key in graph.asset_check_keys}
    assert checks == EXPECTED_CHECKS
    assert {job.name for job in defs.jobs} == EXPECTED_JOBS
    assert {s.name for s in defs.schedules} == EXPECTED_SCHEDULES
    assert {s.name for s in defs.sensors} == EXPECTED_SENSORS
    chunks = graph.get(dg.AssetKey(["dnabert2", "gene_vectors"])).partitions_def
    assert len(chunks.get_partition_keys()) == 64 and chunks.get_partition_keys()[0] == "chunk_000"


def test_model_assets_use_the_gpu_pool(defs):
    for enc in ENCODERS:
        for asset in ("token_embeddings", "personal_gene_vectors"):
            assert defs.resolve_assets_def(dg.AssetKey([enc, asset])).op.pool == "gpu"


def test_each_encoder_has_its_own_resource_and_the_chunk_job_covers_every_encoder(defs):
    assert {f"encoder_{enc}" for enc in ENCODERS} <= set(defs.resources)
    chunk_job = set(defs.resolve_job_def("chunk_assets_job").asset_layer.selected_asset_keys)
    assert chunk_job == {dg.AssetKey("gene_sequences"), dg.AssetKey("subject_haplotypes"),
                         *(dg.AssetKey([enc, a]) for enc in ENCODERS
                           for a in ("token_embeddings", "gene_vectors", "personal_gene_vectors"))}


def test_workspace_file_loads_the_code_location():
    from neuro_omics_assets.definitions import defs
    from neuro_omics_assets.settings import PROJECT_ROOT

    assert isinstance(defs, dg.Definitions)
    assert "neuro_omics_assets.definitions" in (PROJECT_ROOT / "workspace.yaml").read_text()


def test_every_schedule_and_sensor_runs_by_default(defs):
    statuses = {s.name: s.default_status for s in [*defs.schedules, *defs.sensors]}
    assert set(statuses) == {"observe_gene_annotation_schedule", "changed_gene_chunks_sensor",
                             "neuro_omics_automation_sensor", "release_dead_runs_sensor"}
    assert all(status.value == "RUNNING" for status in statuses.values()), statuses


def test_tokens_group_is_exactly_the_five_bpe_assets_and_the_demo_runs_its_jobs(defs):
    from neuro_omics_assets.defs.jobs import PIPELINE_JOBS

    graph = defs.resolve_asset_graph()
    tokens = {key.to_user_string() for key in graph.get_all_asset_keys() if graph.get(key).group_name == "tokens"}
    assert tokens == {name for name, (group, _) in EXPECTED_ASSETS.items() if group == "tokens"}
    assert list(PIPELINE_JOBS[-4:-2]) == ["tokens_chunks_job", "tokens_job"]
    chunks = defs.resolve_job_def("tokens_chunks_job").asset_layer.selected_asset_keys
    assert set(chunks) == {dg.AssetKey("bpe_region_tokens")}
    merged = defs.resolve_job_def("tokens_job").asset_layer.selected_asset_keys
    assert set(merged) | set(chunks) == {dg.AssetKey(n) for n in tokens} and not set(merged) & set(chunks)
