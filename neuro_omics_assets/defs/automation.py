"""Refresh when the annotation changes: a schedule, an automation sensor and a chunk sensor.

1. ``observe_gene_annotation_schedule`` (RUNNING by default) observes the ``gene_annotation``
   source asset; its data version is the SHA-256 of the GTF, the gene list and the selection settings.
2. ``selected_genes`` is eager: a *new* data version materializes it; an unchanged one requests nothing.
3. ``changed_gene_chunks_sensor`` (RUNNING by default) compares each chunk's content hash (its genes'
   coordinates, transcript choice and region settings) with the hash its built sequences were made
   from, and requests one ``chunk_assets_job`` run for each chunk that differs — and only those.
4. The cohort-wide assets are eager, so they follow once the chunk runs have landed.
"""

import os

import dagster as dg

from ..warehouse.freshness import out_of_date_chunks
from .instance import release_dead_runs
from .jobs import chunk_assets_job, observe_gene_annotation_job
from .partitions import gene_chunks
from .resources import WarehouseResource

# Daily at 03:00 by default; NEURO_OMICS_ANNOTATION_CRON changes it (e.g. "*/15 * * * *").
ANNOTATION_CRON = os.environ.get("NEURO_OMICS_ANNOTATION_CRON", "0 3 * * *")

observe_gene_annotation_schedule = dg.ScheduleDefinition(
    name="observe_gene_annotation_schedule",
    job=observe_gene_annotation_job,
    cron_schedule=ANNOTATION_CRON,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Observe the annotation file and gene list; a changed checksum refreshes the selected genes.",
)


@dg.asset_sensor(
    asset_key=dg.AssetKey("selected_genes"),
    job=chunk_assets_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
def changed_gene_chunks_sensor(
    context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry, warehouse: WarehouseResource
):
    """After each ``selected_genes``: one run per gene chunk whose content hash no longer matches what was built."""
    stale = out_of_date_chunks(warehouse.catalog(), gene_chunks.get_partition_keys())
    if not stale:
        return dg.SkipReason("no gene chunk changed: every chunk's content hash matches its built sequences")
    context.log.info("out-of-date gene chunks: %s", sorted(stale))
    return [
        dg.RunRequest(run_key=f"{chunk}:{content_hash}", partition_key=chunk, tags={"neuro_omics/trigger": "annotation"})
        for chunk, content_hash in sorted(stale.items())
    ]


@dg.sensor(default_status=dg.DefaultSensorStatus.RUNNING, minimum_interval_seconds=60)
def release_dead_runs_sensor(context: dg.SensorEvaluationContext):
    """Fail runs whose process died (e.g. SIGKILL) and free their pool slots, so later runs are not blocked."""
    released = release_dead_runs(context.instance)
    return dg.SkipReason(f"released dead runs: {released}" if released else "no dead run")


automation_sensor = dg.AutomationConditionSensorDefinition(
    "neuro_omics_automation_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Declarative automation: selected_genes after a new annotation version, cohort-wide assets after chunk runs.",
)

SCHEDULES = [observe_gene_annotation_schedule]
SENSORS = [changed_gene_chunks_sensor, automation_sensor, release_dead_runs_sensor]
