"""The shipped PostgreSQL instance settings: runs, schedule state and sensor cursors survive a daemon restart."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from importlib.resources import files
from pathlib import Path

import dagster as dg
import pytest
import yaml

from neuro_omics_assets.defs import instance as instance_package

from .processes import log_tail

AUTOMATION_SENSOR = "neuro_omics_automation_sensor"
SCHEDULE = "observe_gene_annotation_schedule"
BIN = Path(sys.executable).parent


def _shipped(name: str) -> dict:
    return yaml.safe_load((files(instance_package) / name).read_text())


def test_postgres_variant_differs_from_the_default_only_in_storage():
    postgres, default = _shipped("dagster-postgres.yaml"), _shipped("dagster.yaml")
    assert postgres.pop("storage")["postgres"]["postgres_db"]["scheme"] == "postgresql+psycopg2"
    assert postgres == default


@pytest.fixture
def postgres_home(pipeline_env: Path, postgres_server, monkeypatch: pytest.MonkeyPatch) -> Path:
    """DAGSTER_HOME with the shipped dagster-postgres.yaml, pointed at a fresh database by NEURO_OMICS_PG_*."""
    postgres_server.create_database("dagster_restart")
    home = pipeline_env / "dagster_home"
    home.mkdir()
    shutil.copyfile(str(files(instance_package) / "dagster-postgres.yaml"), home / "dagster.yaml")
    for name, value in {"HOST": "127.0.0.1", "PORT": str(postgres_server.port), "DB": "dagster_restart",
                        "USER": "postgres", "PASSWORD": ""}.items():
        monkeypatch.setenv(f"NEURO_OMICS_PG_{name}", value)
    return home


def _daemon(home: Path, log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-m", "neuro_omics_assets.definitions"],
                                cwd=home.parent, stdout=out, stderr=subprocess.STDOUT)


def _stop(daemon: subprocess.Popen) -> None:
    daemon.send_signal(signal.SIGINT)
    try:
        daemon.wait(timeout=30)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()


def _sensor_state(instance: dg.DagsterInstance, name: str):
    return next((s for s in instance.all_instigator_state() if s.name == name), None)


def _wait(check, timeout_s: float, what: str, log: Path):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what} within {timeout_s} s{log_tail(log, 40)}")


@dg.op
def _noop() -> int:
    return 1


def test_runs_schedules_and_sensor_cursors_persist_across_a_daemon_restart(postgres_home: Path, postgres_server):
    log = postgres_home / "daemon.log"
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        run_id = dg.GraphDefinition("persisted", node_defs=[_noop]).to_job().execute_in_process(instance=instance).run_id
    subprocess.run([str(BIN / "dagster"), "schedule", "stop", SCHEDULE, "-m", "neuro_omics_assets.definitions"],
                   cwd=postgres_home.parent, check=True, capture_output=True)
    daemon = _daemon(postgres_home, log)
    try:
        with dg.DagsterInstance.get() as instance:
            state = _wait(lambda: (s := _sensor_state(instance, AUTOMATION_SENSOR)) and s.instigator_data
                          and s.instigator_data.cursor and s, 180, "the automation sensor stored no cursor", log)
            ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id)
    finally:
        _stop(daemon)
    cursor, first_tick = state.instigator_data.cursor, ticks[-1].tick_id
    restarted = time.time()
    daemon = _daemon(postgres_home, log)
    try:
        with dg.DagsterInstance.get() as instance:
            _wait(lambda: any(h.timestamp > restarted for h in instance.get_daemon_heartbeats().values()), 120,
                  "the restarted daemon sent no heartbeat", log)
    finally:
        _stop(daemon)
    with dg.DagsterInstance.get() as instance:
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS
        schedule = _sensor_state(instance, SCHEDULE)
        assert schedule is not None and schedule.status.value == "STOPPED"
        after = _sensor_state(instance, AUTOMATION_SENSOR)
        # the restarted daemon resumed from the stored cursor (evaluations only move it forward)
        assert after.instigator_data.cursor is not None
        assert after.instigator_data.cursor == cursor or after.instigator_data.last_tick_timestamp > restarted
        assert first_tick in [t.tick_id for t in instance.get_ticks(after.instigator_origin_id, after.selector_id)]
