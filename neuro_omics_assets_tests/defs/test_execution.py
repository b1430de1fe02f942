"""The execution resource's settings checks (the SLURM path itself runs in services/test_slurm_execution.py)."""

from __future__ import annotations

import dagster as dg
import pytest

from neuro_omics_assets.defs.execution import ChunkExecutionResource, chunk_backfill_policy, chunk_pool
from neuro_omics_assets.errors import ConfigError
from neuro_omics_assets.execution.chunks import staging_key
from neuro_omics_assets.execution.payload import error_key


def test_run_chunk_refuses_local_mode():
    with pytest.raises(ConfigError, match="set NEURO_OMICS_EXECUTION=slurm"):
        ChunkExecutionResource().run_chunk(None, "token_embeddings", "chunk_000", None, None)


def test_slurm_mode_names_the_missing_settings():
    with pytest.raises(ConfigError, match="needs ssh_host, ssh_user, env_path"):
        ChunkExecutionResource(mode="slurm")._compute()


@pytest.mark.parametrize(("mode", "pool", "per_run"), [
    ("local", "gpu", None),  # one run per backfill: the model loads once; one model pass at a time on the host
    ("slurm", None, 1),  # one run (one job) per chunk; the cluster's scheduler queues the GPUs
])
def test_backfill_policy_and_pool_follow_the_execution_mode(monkeypatch, mode, pool, per_run):
    monkeypatch.setenv("NEURO_OMICS_EXECUTION", mode)
    assert chunk_pool() == pool
    policy = chunk_backfill_policy()
    assert policy.max_partitions_per_run == per_run
    assert isinstance(policy, dg.BackfillPolicy)


def test_staged_files_live_outside_the_views():
    key = staging_key("run-1", "token_embeddings", "chunk_003")
    assert key == "staging/run-1/token_embeddings/chunk_003.parquet"
    assert error_key(key) == "staging/run-1/token_embeddings/chunk_003.error.txt"
