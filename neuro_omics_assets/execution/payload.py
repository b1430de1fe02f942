"""The program a chunk's SLURM job runs (Dagster Pipes): compute one chunk, stage its Parquet, report back.

Everything it needs arrives in the Pipes extras as plain settings (``task``): the chunk, its kind, the
encoder's and the warehouse's settings, and the staging key. It writes the chunk's table to that key of
the shared warehouse (atomically) and reports, as a custom Pipes message, what it computed and where:
node, GPU (``CUDA_VISIBLE_DEVICES``), rows, tokens, model calls, cache hits. It never touches the
catalog; the Dagster host publishes the staged file and records lineage.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from importlib import import_module
from typing import Any

#: lines of a failing job's traceback the host puts into the asset's failure
ERROR_TAIL_LINES = 30


def _resource(spec: dict[str, Any]):
    """Rebuild a resource from ``{"class": "module:Name", "fields": {...}}``."""
    module, _, name = spec["class"].partition(":")
    return getattr(import_module(module), name)(**spec["fields"])


def run_task(task: dict[str, Any]) -> dict[str, Any]:
    """Compute and stage one chunk; returns the report sent back to the host."""
    from neuro_omics_assets.execution.chunks import compute_chunk

    started = time.perf_counter()
    encoder, warehouse = _resource(task["encoder"]), _resource(task["warehouse"])
    catalog, engine = warehouse.catalog(), encoder.engine()
    table = compute_chunk(task["kind"], engine, catalog, task["chunk"])
    location = catalog.storage.write_parquet(task["staging"], table, None, None)
    return {
        "staged": location,
        "lineage": engine.lineage(),
        "rows": table.num_rows,
        "node": socket.gethostname(),
        "gpu": os.environ.get("CUDA_VISIBLE_DEVICES", ""),
        "device": str(engine.encoder.device),
        "tokens": engine.tokens_processed,
        "model_calls": engine.model_calls,
        "cache_hits": engine.cache_hits,
        "job_wall_s": round(time.perf_counter() - started, 2),
    }


def error_key(staging: str) -> str:
    """Where a failing job leaves its traceback's tail for the host (beside its staging key)."""
    return staging.removesuffix(".parquet") + ".error.txt"


def _leave_error(task: dict[str, Any]) -> None:
    """Store the tail of the current traceback at ``error_key`` (the job's stderr has it too)."""
    tail = "\n".join(traceback.format_exc().splitlines()[-ERROR_TAIL_LINES:])
    _resource(task["warehouse"]).catalog().storage.write_bytes(error_key(task["staging"]), tail.encode())


def main() -> None:
    from dagster_pipes import open_dagster_pipes

    with open_dagster_pipes() as pipes:
        task = pipes.extras["task"]
        try:
            report = run_task(task)
        except BaseException:
            _leave_error(task)
            raise
        pipes.log.info(f"chunk {pipes.extras['task']['chunk']} staged at {report['staged']} on "
                       f"{report['node']} (GPU {report['gpu'] or 'none'})")
        pipes.report_custom_message(report)


if __name__ == "__main__":
    main()
