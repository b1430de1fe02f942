"""The model-running chunk assets' SLURM path: one job per chunk, published and recorded on the Dagster host."""

from __future__ import annotations

import os
import time

import dagster as dg

from ..defs.lineage import code_version, made_from, model_checksums, persist
from ..defs.resources import WarehouseResource
from .chunks import INPUT_TABLE, ChunkKind
from .resource import ChunkExecutionResource

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


def materialize_on_slurm(context: dg.AssetExecutionContext, kind: ChunkKind, encoder: dg.ConfigurableResource,
                         warehouse: WarehouseResource, execution: ChunkExecutionResource) -> dg.MaterializeResult:
    """Each partition of the run as one SLURM job; publish its table with lineage (job id, node, GPU, sacct)."""
    catalog, started, jobs, lineage = warehouse.catalog(), time.perf_counter(), [], {}
    for chunk in context.partition_keys:
        run = execution.run_chunk(context, kind, chunk, encoder, warehouse)
        lineage = run.lineage
        persist(context, catalog, kind, chunk, run.table,
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
