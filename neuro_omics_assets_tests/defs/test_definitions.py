"""The code location loads, and its asset graph is what the README promises."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg

from neuro_omics_assets.definitions import defs

# Snapshot of the pipeline graph (asset → group, partitioned?). Update deliberately when assets change.
EXPECTED_ASSETS = {
    "reference_genome": ("reference", False),
    "gene_annotation": ("reference", False),
    "gene_sequences": ("sequences", True),
    "token_embeddings": ("embeddings", True),
    "gene_vectors": ("embeddings", True),
    "embedding_stability": ("embeddings", False),
    "brain_features": ("evaluation", False),
    "gene_brain_cca": ("evaluation", False),
    "phenotype_prediction": ("evaluation", False),
    "encoder_leaderboard": ("evaluation", False),
}


def test_asset_graph_snapshot():
    graph = defs.resolve_asset_graph()
    actual = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        actual[key.to_user_string()] = (node.group_name, node.partitions_def is not None)
    for name, expected in EXPECTED_ASSETS.items():
        assert actual[name] == expected, name
    chunks = graph.get(dg.AssetKey("gene_vectors")).partitions_def
    assert len(chunks.get_partition_keys()) == 64 and chunks.get_partition_keys()[0] == "chunk_000"


def test_model_assets_use_the_gpu_pool_and_checks_exist():
    token = defs.resolve_assets_def("token_embeddings")
    assert token.op.pool == "gpu"
    check_names = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert {"gene_vectors_have_no_nan", "gene_vectors_width_matches_model", "gene_vectors_one_row_per_gene",
            "gene_vector_reproduces_on_reembedding"} <= check_names


def test_workspace_file_loads_the_code_location():
    from neuro_omics_assets.settings import PROJECT_ROOT

    assert "neuro_omics_assets.definitions" in (PROJECT_ROOT / "workspace.yaml").read_text()


def test_domain_packages_never_import_dagster():
    domain = ["genome", "variants", "models", "embedding", "cohort", "warehouse", "evaluation"]
    code = (
        "import sys\n"
        + "".join(f"import neuro_omics_assets.{p}\n" for p in domain)
        + "import neuro_omics_assets.warehouse.files, neuro_omics_assets.warehouse.tables\n"
        + "import neuro_omics_assets.embedding.stability, neuro_omics_assets.cohort.simulate\n"
        + "import neuro_omics_assets.cohort.simulate_brain, neuro_omics_assets.evaluation.plots\n"
        + "import neuro_omics_assets.warehouse.evaluation_tables\n"
        + "assert 'dagster' not in sys.modules, 'dagster imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_schedule_and_sensor_runs_by_default():
    statuses = {s.name: s.default_status for s in [*defs.schedules, *defs.sensors]}
    assert set(statuses) == {"observe_gene_annotation_schedule", "changed_gene_chunks_sensor",
                             "neuro_omics_automation_sensor", "release_dead_runs_sensor"}
    assert all(status.value == "RUNNING" for status in statuses.values()), statuses
