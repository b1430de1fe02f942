"""The project's Dagster instance directory (DAGSTER_HOME), its shipped ``dagster.yaml``, and dead-run cleanup."""

from __future__ import annotations

import logging
import os
import shutil
from importlib.resources import files
from pathlib import Path

import dagster as dg

from ...settings import dagster_home

log = logging.getLogger(__name__)


def prepare_dagster_home() -> Path:
    """Create DAGSTER_HOME with the shipped ``dagster.yaml`` (kept if the user edited it); export it.

    Also releases runs whose process died (see :func:`release_dead_runs`), so a killed run never
    blocks the next one on its ``gpu`` pool slot.
    """
    home = dagster_home().resolve()
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists():
        shutil.copyfile(str(files(__package__) / "dagster.yaml"), target)
    os.environ["DAGSTER_HOME"] = str(home)
    with dg.DagsterInstance.get() as instance:
        for run_id in release_dead_runs(instance):
            log.warning("run %s had died (its process is gone): marked failed and its pool slots freed", run_id)
    return home


def release_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark STARTED/STARTING runs whose local process is gone as failed and free their pool slots.

    A run killed with SIGKILL stays STARTED and keeps its ``gpu`` slot (limit 1), and every later
    ``token_embeddings`` step would wait for ever ("blocked by limit for pool gpu"). Only runs of this
    machine's default launcher are checked: their RUN_START event records the pid. Returns the run ids.
    """
    if not isinstance(instance.run_launcher, dg.DefaultRunLauncher):
        return []
    released = []
    started = dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING])
    for record in instance.get_run_records(started):
        run = record.dagster_run
        starts = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_START)
        pid = starts[0].dagster_event.pid if starts else None
        if pid is None or _alive(pid):
            continue
        instance.report_run_failed(run, f"the process of run {run.run_id} (pid {pid}) died")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        released.append(run.run_id)
    return released


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
