"""Child process of the robustness tests: run pipeline jobs in process, optionally freezing at a fault point.

    python -m neuro_omics_assets_tests.robustness.runner [--reference] [--chunk chunk_003 ...]
        [--stop-at POINT --table TABLE --marker FILE]

Reads every setting from the ``NEURO_OMICS_*`` / ``DAGSTER_HOME`` environment (as ``pipeline_env``
sets it). With ``--stop-at``, the child patches one function *in its own process only* (no hook in
the package): when the run reaches that point for ``--table``'s partition it writes ``--marker`` and
sleeps, so the parent can SIGKILL it exactly there. Points (``STOP_POINTS``):

* ``model_pass``: inside ``EmbeddingEngine._forward``, before the model runs.
* ``parquet_write``: inside ``write_parquet_atomic``, after half of the Parquet bytes reached the temp file.
* ``rename``: the complete, fsynced temp file is about to be renamed onto ``<table>/<chunk>.parquet``.
* ``lineage_insert``: the partition file is renamed into place and its lineage row is about to be inserted.
* ``catalog_write``: the lineage row is inserted, the read-write DuckDB connection and the flock still held.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

STOP_POINTS = ("model_pass", "parquet_write", "rename", "lineage_insert", "catalog_write")
CHUNK_ASSETS = ("gene_sequences", "dnabert2/token_embeddings", "dnabert2/gene_vectors")


def _freeze(marker: Path) -> None:
    """Tell the parent where we are, then wait to be killed."""
    marker.write_text(str(os.getpid()))
    time.sleep(600)
    sys.exit("the parent never killed this run")


def _install_stop(point: str, table: str, marker: Path) -> None:
    """Patch the one function where ``point`` lies so that it freezes there (see the module docstring)."""
    import pyarrow.parquet as pq

    from neuro_omics_assets.embedding.engine import EmbeddingEngine
    from neuro_omics_assets.warehouse import catalog, parquet

    if point == "model_pass":
        EmbeddingEngine._forward = lambda self, batch: _freeze(marker)
    elif point == "parquet_write":
        real_write_table = pq.write_table

        def half_write(data, where, **kwargs):
            if f"/{table}/" not in str(getattr(where, "name", where)):
                return real_write_table(data, where, **kwargs)
            buffer = io.BytesIO()
            real_write_table(data, buffer, **kwargs)
            where.write(buffer.getvalue()[: buffer.tell() // 2])
            where.flush()
            os.fsync(where.fileno())
            _freeze(marker)

        parquet.pq.write_table = half_write
    elif point == "rename":
        real_replace = os.replace

        def frozen_replace(src, dst, *args, **kwargs):
            if str(Path(dst).parent).endswith(f"/{table}") and str(dst).endswith(".parquet"):
                _freeze(marker)
            return real_replace(src, dst, *args, **kwargs)

        parquet.os.replace = frozen_replace
    elif point in ("lineage_insert", "catalog_write"):
        real_to_arrow, real_connect = catalog.LineageRecord.to_arrow, catalog.connect_with_retry
        armed = []

        def to_arrow(record):
            if record.asset_key == table:
                if point == "lineage_insert":
                    _freeze(marker)
                armed.append(True)
            return real_to_arrow(record)

        class FreezeOnClose:
            """A read-write connection that freezes instead of closing once the lineage row is in."""

            def __init__(self, con) -> None:
                self._con = con

            def __getattr__(self, name):
                return getattr(self._con, name)

            def close(self) -> None:
                if armed:
                    _freeze(marker)
                self._con.close()

        def connect(db_path, *, read_only, timeout_s):
            con = real_connect(db_path, read_only=read_only, timeout_s=timeout_s)
            return con if read_only else FreezeOnClose(con)

        catalog.LineageRecord.to_arrow = to_arrow
        catalog.connect_with_retry = connect
    else:
        raise SystemExit(f"unknown stop point {point!r}; use one of {STOP_POINTS}")


def run(reference: bool, chunks: Sequence[str], before_chunks: Callable[[], None] | None = None) -> list[str]:
    """Run ``reference_job`` and/or the three chunk assets of each of ``chunks`` against ``$DAGSTER_HOME``.

    ``before_chunks`` is called once, after the reference run. Returns the run ids of the chunk runs.
    """
    import dagster as dg

    from neuro_omics_assets.defs import build_definitions
    from neuro_omics_assets.defs.instance import prepare_dagster_home

    prepare_dagster_home()
    defs = build_definitions()
    run_ids = []
    with dg.DagsterInstance.get() as instance:
        if reference:
            assert defs.resolve_job_def("reference_job").execute_in_process(instance=instance).success
        if before_chunks is not None:
            before_chunks()
        job = defs.resolve_job_def("gene_chunks_job")
        selection = [dg.AssetKey.from_user_string(name) for name in CHUNK_ASSETS]
        for chunk in chunks:
            result = job.execute_in_process(instance=instance, partition_key=chunk, asset_selection=selection)
            assert result.success
            run_ids.append(result.run_id)
    return run_ids


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", action="store_true", help="run reference_job first")
    parser.add_argument("--chunk", action="append", default=[], help="a partition of the chunk assets (repeatable)")
    parser.add_argument("--stop-at", choices=STOP_POINTS)
    parser.add_argument("--table", default="dnabert2/token_embeddings",
                        help="the table (as its asset key) whose write --stop-at freezes")
    parser.add_argument("--marker", type=Path, help="file written when the run reaches --stop-at")
    args = parser.parse_args(argv)
    stop = (lambda: _install_stop(args.stop_at, args.table, args.marker)) if args.stop_at else None
    run(args.reference, args.chunk, stop)


if __name__ == "__main__":
    main()
