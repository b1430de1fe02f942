"""Chunk model passes as SLURM jobs on the harness's cluster (two fake GPUs), through the real assets."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from neuro_omics_assets.defs import build_definitions
from neuro_omics_assets.defs.jobs import partition_range_tags
from neuro_omics_assets.warehouse.catalog import Catalog

from ..conftest import CHRM_FASTA, CHRM_GTF

pytestmark = pytest.mark.slurm
CHUNKS = ("chunk_000", "chunk_001", "chunk_002")
SEQUENCES = [dg.AssetKey("gene_sequences")]
TOKENS = [dg.AssetKey(["dnabert2", "token_embeddings"])]
TABLE = "dnabert2.token_embeddings"


def slurm_settings(cluster, env_dir: Path) -> dict:
    """The execution resource's config for the harness's cluster (what NEURO_OMICS_SLURM_* would give)."""
    return {"mode": "slurm", "ssh_host": "127.0.0.1", "ssh_port": cluster.ssh_port, "ssh_user": "root",
            "ssh_key_path": str(cluster.ssh_key), "ssh_known_hosts": str(cluster.known_hosts), "partition": "debug",
            "time_limit": "00:10:00", "mem": "1G", "cpus": 1, "gpus": 1, "env_path": str(env_dir),
            "remote_base": str(cluster.root / "remote")}


@pytest.fixture(scope="module")
def env_dir(tmp_path_factory) -> Path:
    """dagster-slurm's pre-deployed environment: activate.sh and env/ (this very venv, as a site venv would be)."""
    directory = tmp_path_factory.mktemp("site-env")
    (directory / "activate.sh").write_text(f"source {sys.prefix}/bin/activate\n")
    (directory / "env").symlink_to(sys.prefix)
    return directory


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, demo_model_dir, slurm_cluster) -> Path:
    """A warehouse with the reference and the gene sequences of ``CHUNKS`` (copied per test, then embedded)."""
    base = tmp_path_factory.mktemp("slurm-chunks")
    env = {"NEURO_OMICS_WAREHOUSE": str(base / "prepared"), "NEURO_OMICS_MODEL_DIR": str(demo_model_dir),
           "NEURO_OMICS_FASTA": str(CHRM_FASTA), "NEURO_OMICS_GTF": str(CHRM_GTF), "NEURO_OMICS_DEVICE": "cpu",
           "DAGSTER_SLURM_SSH_CONTROL_DIR": str(slurm_cluster.control_dir)}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        defs = build_definitions()
        assert defs.resolve_job_def("reference_job").execute_in_process().success
        assert defs.resolve_job_def("gene_chunks_job").execute_in_process(
            asset_selection=SEQUENCES, tags=partition_range_tags(CHUNKS[0], CHUNKS[-1])).success
        yield base


def _copy(prepared: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> Catalog:
    """A copy of the prepared warehouse (its own embedding cache) that the next definitions write to."""
    root = shutil.copytree(prepared / "prepared", prepared / name)
    monkeypatch.setenv("NEURO_OMICS_WAREHOUSE", str(root))
    return Catalog(root)


def _run_config(settings: dict) -> dict:
    return {"resources": {"execution": {"config": settings}}}


def _sacct(cluster, job_ids) -> dict[str, dict[str, str]]:
    out = cluster.command("sacct", "-n", "-X", "-P", "-o", "JobID,State,Start,End", "-j", ",".join(map(str, job_ids)))
    rows = [line.split("|") for line in out.splitlines() if line]
    return {row[0]: {"state": row[1], "start": row[2], "end": row[3]} for row in rows}


@pytest.fixture
def env(prepared, monkeypatch):
    """The module's settings (``prepared`` set them) with this test's changes undone afterwards."""
    return monkeypatch


def test_three_chunks_run_as_three_jobs_two_at_once_and_match_local_execution_bitwise(
        prepared, env, env_dir, slurm_cluster):
    """One run per chunk (the SLURM backfill policy), submitted together while the partition is down so that
    all three queue; once it is up, two run at once on GPUs 0 and 1 and the third waits for a free GPU."""
    local = _copy(prepared, "local", env)
    assert build_definitions().resolve_job_def("gene_chunks_job").execute_in_process(
        asset_selection=TOKENS, tags=partition_range_tags(CHUNKS[0], CHUNKS[-1])).success
    remote = _copy(prepared, "slurm", env)
    slurm_cluster.command("scontrol", "update", "PartitionName=debug", "State=DOWN")
    code = ("import json, sys; from neuro_omics_assets.defs import build_definitions; import dagster as dg; "
            "ok = build_definitions().resolve_job_def('gene_chunks_job').execute_in_process("
            "asset_selection=[dg.AssetKey(['dnabert2', 'token_embeddings'])], partition_key=sys.argv[1], "
            "run_config=json.loads(sys.argv[2]), raise_on_error=False).success; sys.exit(0 if ok else 1)")
    config = json.dumps(_run_config(slurm_settings(slurm_cluster, env_dir)))
    runs = [subprocess.Popen([sys.executable, "-c", code, chunk, config], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True) for chunk in CHUNKS]
    try:
        deadline = time.monotonic() + 120
        while len(slurm_cluster.command("squeue", "-h", "-o", "%i").split()) < 3 and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        slurm_cluster.command("scontrol", "update", "PartitionName=debug", "State=UP")
    errors = [run.communicate(timeout=300)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], [e[-2000:] for e in errors]
    lineage = remote.lineage("dnabert2/token_embeddings").set_index("partition")
    jobs = {chunk: json.loads(lineage.loc[chunk, "metadata"]) for chunk in CHUNKS}
    accounting = _sacct(slurm_cluster, [job["slurm_job_id"] for job in jobs.values()])
    assert [row["state"] for row in accounting.values()] == ["COMPLETED"] * 3
    order = sorted(accounting, key=lambda job_id: accounting[job_id]["start"])
    first, second, third = (accounting[job_id] for job_id in order)
    assert second["start"] < first["end"], accounting  # the first two ran at the same time ...
    assert third["start"] >= min(first["end"], second["end"]), accounting  # ... and the third waited for a GPU
    by_job = {str(job["slurm_job_id"]): job for job in jobs.values()}
    assert sorted(by_job[job_id]["gpu"] for job_id in order[:2]) == ["0", "1"]
    assert {job["execution"] for job in jobs.values()} == {"slurm"} and all(job["node"] for job in jobs.values())
    assert sum(remote.read_partition(TABLE, chunk).num_rows for chunk in CHUNKS) > 0
    for chunk in CHUNKS:  # same engine, same inputs, on CPU: bitwise the same statistics
        assert remote.read_partition(TABLE, chunk).equals(local.read_partition(TABLE, chunk))
    assert not [p for p in (remote.root / "staging").rglob("*") if p.is_file()]


def _failed_job_result(env_dir, slurm_cluster):
    defs = build_definitions()
    return defs.resolve_job_def("cohort_chunks_job").execute_in_process(
        asset_selection=[dg.AssetKey(["dnabert2", "personal_gene_vectors"])], partition_key=CHUNKS[0],
        run_config=_run_config(slurm_settings(slurm_cluster, env_dir)), raise_on_error=False)


def test_a_failing_job_fails_its_asset_with_the_traceback_and_publishes_nothing(prepared, env, env_dir, slurm_cluster):
    """personal_gene_vectors of a chunk whose unique_sequences were never made: the job fails reading them."""
    catalog = _copy(prepared, "failing", env)
    result = _failed_job_result(env_dir, slurm_cluster)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    message = failure.step_failure_data.user_failure_data.description
    assert "the SLURM job computing personal_gene_vectors/chunk_000 failed" in message
    assert "no partition 'chunk_000' of table unique_sequences" in message  # the payload's traceback tail
    assert catalog.partitions("dnabert2.personal_gene_vectors") == []
    assert not [p for p in (catalog.root / "staging").rglob("*") if p.is_file()]
    assert "FAILED" in slurm_cluster.command("sacct", "-n", "-X", "-o", "State", "-S", "now-10minutes")


def test_cancelling_the_run_cancels_its_job(prepared, env, env_dir, slurm_cluster):
    """What Dagster's run termination (UI "Terminate", the GraphQL/Python API) does: mark the run CANCELING,
    then signal its process; dagster-slurm then runs scancel."""
    catalog = _copy(prepared, "cancelled", env)
    env.setenv("DAGSTER_HOME", str(prepared / "cancel-home"))
    (prepared / "cancel-home").mkdir()
    before = set(slurm_cluster.command("sacct", "-n", "-X", "-P", "-o", "JobID").split())
    code = ("import json, sys; from neuro_omics_assets.defs import build_definitions; import dagster as dg; "
            "build_definitions().resolve_job_def('gene_chunks_job').execute_in_process("
            "asset_selection=[dg.AssetKey(['dnabert2', 'token_embeddings'])], partition_key=sys.argv[1], "
            "run_config=json.loads(sys.argv[2]), instance=dg.DagsterInstance.get())")
    config = json.dumps(_run_config(slurm_settings(slurm_cluster, env_dir)))
    run = subprocess.Popen([sys.executable, "-c", code, CHUNKS[1], config], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while "RUNNING" not in slurm_cluster.command("squeue", "-h", "-o", "%T") and time.monotonic() < deadline:
        time.sleep(0.2)
    with dg.DagsterInstance.get() as instance:
        (record,) = instance.get_runs()
        instance.report_run_canceling(record)
    run.send_signal(signal.SIGTERM)
    stderr = run.communicate(timeout=120)[1]
    assert run.returncode != 0
    new = set(slurm_cluster.command("sacct", "-n", "-X", "-P", "-o", "JobID").split()) - before
    assert len(new) == 1, stderr[-2000:]
    states = _sacct(slurm_cluster, new)
    assert [row["state"].split()[0] for row in states.values()] == ["CANCELLED"], (states, stderr[-2000:])
    assert catalog.partitions(TABLE) == []
