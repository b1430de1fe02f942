"""Where a gene chunk's model pass runs: in the Dagster process (local, the default) or as one SLURM job.

``ChunkExecutionResource.run_chunk`` submits one chunk's job through dagster-slurm (Dagster Pipes): the
job runs ``execution/payload.py``, which computes the chunk with ``execution.chunks.compute_chunk`` and
stages its Parquet in the shared warehouse; the host publishes it with lineage (one catalog writer).
``materialize_on_slurm`` is the SLURM path of the model-running chunk assets; ``chunk_pool`` and
``chunk_backfill_policy`` give them their pool and backfill policy in each mode.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import dagster as dg
import pyarrow as pa
from pydantic import Field

from ..errors import ConfigError
from ..execution import payload
from ..execution.chunks import INPUT_TABLE, ChunkKind, staging_key
from ..warehouse.catalog import Catalog
from .lineage import code_version, made_from, model_checksums, persist
from .resources import WarehouseResource

ExecutionMode = Literal["local", "slurm"]


@dataclass(frozen=True)
class ChunkRun:
    """A computed chunk: its table (not yet published), the lineage of the engine that made it (identity,
    model sizes) and what to record about where it was computed (job id, node, GPU, sacct figures)."""

    table: pa.Table
    lineage: dict[str, Any]
    execution: dict[str, Any] = field(default_factory=dict)


def _spec(resource: dg.ConfigurableResource) -> dict[str, Any]:
    """A resource as plain settings the job rebuilds it from (see ``payload._resource``)."""
    cls = type(resource)
    return {"class": f"{cls.__module__}:{cls.__qualname__}", "fields": resource.model_dump()}


class ChunkExecutionResource(dg.ConfigurableResource):
    """Where each gene chunk's model pass runs: in this process (local) or as one SLURM GPU job per chunk."""

    mode: ExecutionMode = Field(
        default="local", description="local (this process) | slurm (one SLURM job per chunk, submitted over SSH)."
    )
    ssh_host: str | None = Field(default=None, description="SLURM login node (slurm mode).")
    ssh_port: int = Field(default=22, description="SSH port of the login node.")
    ssh_user: str | None = Field(default=None, description="SSH user on the login node.")
    ssh_key_path: str | None = Field(default=None, description="Private key for the login node; none = ssh's default.")
    ssh_known_hosts: str | None = Field(default=None, description="known_hosts file that holds the login node's key.")
    partition: str = Field(default="", description="SLURM partition with GPUs; empty = the cluster's default.")
    account: str | None = Field(default=None, description="SLURM account charged; none = the user's default.")
    time_limit: str = Field(default="04:00:00", description="Walltime per chunk job (HH:MM:SS).")
    mem: str | None = Field(default="32G", description="Memory per chunk job (e.g. 32G); none = the partition default.")
    cpus: int = Field(default=4, description="CPUs per chunk job (tokenization, data loading).")
    gpus: int = Field(default=1, description="GPUs per chunk job (--gres=gpu:N); 0 runs the model on CPUs.")
    env_path: str | None = Field(
        default=None, description="Directory on the cluster with activate.sh and env/bin/python: a venv with this "
        "package installed (dagster-slurm's pre_deployed_env_path)."
    )
    remote_base: str | None = Field(default=None, description="Working directory for job files on the cluster.")
    poll_timeout_s: int = Field(default=7 * 24 * 3600, description="Longest wait for one chunk job, queue included.")

    def run_chunk(self, context: dg.AssetExecutionContext, kind: ChunkKind, chunk: str,
                  encoder: dg.ConfigurableResource, warehouse: WarehouseResource, table_name: str | None = None
                  ) -> ChunkRun:
        """Compute ``kind`` for ``chunk`` as one SLURM job; the caller publishes it as ``table_name`` (default
        ``kind``; an encoder's table, e.g. ``dnabert2.token_embeddings``), so the catalog keeps one writer.

        ``encoder`` and ``warehouse`` are the run's resources; the job rebuilds them from their settings.
        Local execution (``mode`` local) is the assets' own loop over one loaded engine.
        """
        if self.mode != "slurm":
            raise ConfigError(f"run_chunk submits SLURM jobs but the execution mode is {self.mode!r}; "
                              "set NEURO_OMICS_EXECUTION=slurm (or mode: slurm in the run config).")
        return self._run_on_slurm(context, kind, chunk, encoder, warehouse, table_name or kind)

    def _compute(self):
        from dagster_slurm import (
            BashLauncher,
            ComputeResource,
            SlurmQueueConfig,
            SlurmResource,
            SSHConnectionResource,
        )

        missing = [name for name in ("ssh_host", "ssh_user", "env_path") if not getattr(self, name)]
        if missing:
            raise ConfigError(f"chunk execution mode slurm needs {', '.join(missing)} (NEURO_OMICS_SLURM_* settings, "
                              "README 'Running at scale'); or set mode local.")
        ssh = SSHConnectionResource(host=self.ssh_host, port=self.ssh_port, user=self.ssh_user, key_path=self.ssh_key_path,
                                    known_hosts_file=self.ssh_known_hosts,
                                    host_key_checking="strict" if self.ssh_known_hosts else "inherit")
        queue = SlurmQueueConfig(partition=self.partition, time_limit=self.time_limit, cpus=self.cpus,
                                 gpus_per_node=self.gpus, mem=self.mem, account=self.account)
        return ComputeResource(mode="slurm", slurm=SlurmResource(ssh=ssh, queue=queue, remote_base=self.remote_base),
                               pre_deployed_env_path=self.env_path, default_launcher=BashLauncher())

    def _run_on_slurm(self, context: dg.AssetExecutionContext, kind: ChunkKind, chunk: str,
                      encoder: dg.ConfigurableResource, warehouse: WarehouseResource, table_name: str) -> ChunkRun:
        catalog = warehouse.catalog()
        key = staging_key(context.run.run_id, table_name, chunk)
        task = {"kind": kind, "chunk": chunk, "staging": key, "encoder": _spec(encoder), "warehouse": _spec(warehouse)}
        accounting: dict[str, Any] = {}

        def collect(metrics) -> dict[str, Any]:  # dagster-slurm calls it with the job's sacct figures
            rows = metrics.default_metrics.accounting_rows
            accounting.update(slurm_job_id=metrics.job_id, slurm_state=metrics.default_metrics.state,
                              slurm_elapsed_s=metrics.default_metrics.elapsed_seconds,
                              slurm_max_rss_mb=round(metrics.default_metrics.max_rss_mb, 1),
                              slurm_node_list=rows[0].get("NodeList", "") if rows else "")
            return {}

        env = {name: os.environ[name] for name in ("NEURO_OMICS_DATA_ROOTS",) if os.environ.get(name)}
        try:
            try:
                completed = self._compute().run(context=context, payload_path=str(Path(payload.__file__)),
                                                extras={"task": task}, extra_env=env, metrics_collector=collect,
                                                poll_timeout=self.poll_timeout_s)
            except RuntimeError as exc:  # dagster-slurm: the job failed, was cancelled, or timed out
                raise _job_failure(kind, chunk, exc, catalog, payload.error_key(key)) from exc
            reports = completed.get_custom_messages()
            if not reports:
                raise dg.Failure(f"the SLURM job of {kind}/{chunk} finished without reporting its chunk; see its log above.")
            report = reports[-1]
            table = catalog.storage.read_table(key)
        finally:
            catalog.storage.delete(key)  # a failed or cancelled job leaves nothing behind
        details = {k: v for k, v in report.items() if k not in ("staged", "lineage")}
        return ChunkRun(table, report["lineage"], {"execution": "slurm", **accounting, **details})


def _job_failure(kind: str, chunk: str, exc: RuntimeError, catalog: Catalog, error_key: str) -> dg.Failure:
    """The asset failure for a failed job: dagster-slurm's reason plus the tail of the payload's traceback."""
    tail = ""
    if catalog.storage.exists(error_key):
        tail = catalog.storage.read_bytes(error_key).decode(errors="replace")
        catalog.storage.delete(error_key)
    return dg.Failure(
        description=f"the SLURM job computing {kind}/{chunk} failed: {exc}" + (f"\n{tail}" if tail else ""),
        metadata={"stderr_tail": dg.MetadataValue.md(f"```\n{tail}\n```")} if tail else {},
    )


#: set to ``slurm`` to run the chunk assets' model passes as SLURM jobs (README "Running at scale")
EXECUTION_VARIABLE = "NEURO_OMICS_EXECUTION"


def execution_mode() -> str:
    """``NEURO_OMICS_EXECUTION`` (``local`` by default); read when the definitions load."""
    return os.environ.get(EXECUTION_VARIABLE, "local")


def chunk_pool() -> str | None:
    """Pool of the model-running chunk assets: ``gpu`` (one model pass at a time on this host) when local;
    none on SLURM, whose scheduler queues the jobs on its GPUs."""
    return "gpu" if execution_mode() == "local" else None


def chunk_backfill_policy() -> dg.BackfillPolicy:
    """Local: one run per backfill (the model loads once). SLURM: one run per chunk, so the chunks' jobs are
    submitted together and run in parallel on the cluster's GPUs."""
    return dg.BackfillPolicy.single_run() if execution_mode() == "local" else dg.BackfillPolicy.multi_run(1)


def materialize_on_slurm(context: dg.AssetExecutionContext, table_name: str, kind: ChunkKind,
                         encoder: dg.ConfigurableResource, warehouse: WarehouseResource,
                         execution: ChunkExecutionResource) -> dg.MaterializeResult:
    """Each partition of the run as one SLURM job computing ``kind``; publish it as ``table_name`` (the encoder's
    table) with lineage (job id, node, GPU, sacct)."""
    catalog, started, jobs, lineage = warehouse.catalog(), time.perf_counter(), [], {}
    for chunk in context.partition_keys:
        run = execution.run_chunk(context, kind, chunk, encoder, warehouse, table_name)
        lineage = run.lineage
        persist(context, catalog, table_name, chunk, run.table,
                {**model_checksums(lineage), **made_from(catalog, INPUT_TABLE[kind], chunk)},
                {**lineage, **run.execution})
        jobs.append({"chunk": chunk, **run.execution})
    return dg.MaterializeResult(metadata={
        "chunks": len(jobs),
        "rows": sum(job["rows"] for job in jobs),
        "tokens": sum(job["tokens"] for job in jobs),
        "model_calls": sum(job["model_calls"] for job in jobs),
        "cache_hits": sum(job["cache_hits"] for job in jobs),
        "wall_s": round(time.perf_counter() - started, 2),
        "execution": "slurm",
        "slurm_job_ids": ", ".join(str(job.get("slurm_job_id", "")) for job in jobs),
        "nodes": ", ".join(sorted({job["node"] for job in jobs})),
        "gpus": ", ".join(job["gpu"] or "none" for job in jobs),
        "device": jobs[-1]["device"],
        "code_version": code_version(),
        **lineage,
    })
