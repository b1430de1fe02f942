"""Refresh when the annotation changes: a schedule, an automation sensor and a chunk sensor.

1. ``observe_gene_annotation_schedule`` (RUNNING by default) observes the ``gene_annotation``
   source asset; its data version is the SHA-256 of the GTF, the gene list and the selection settings.
2. ``selected_genes`` is eager: a *new* data version materializes it; an unchanged one requests nothing.
3. ``changed_gene_chunks_sensor`` (RUNNING by default) compares what each chunk partition was made
   from — its genes' content hash, the FASTA's SHA-256, the embedding identity (``defs/freshness.py``)
   — with what the configuration gives now, and requests one ``chunk_assets_job`` run over the range
   of stale chunks, for the stale assets and what is computed from them only. So an annotation edit
   re-runs the chunks whose genes changed; a new FASTA, model, dtype, kernel, window or pooling
   setting, or numerics code, re-runs the partitions it made stale.
4. The cohort-wide assets are eager, so they follow once the chunk runs have landed.
"""

import hashlib
import json
import os
from collections.abc import Sequence

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from .encoders import EncoderName
from .freshness import stale_chunks_now
from .instance import release_dead_runs
from .jobs import observe_gene_annotation_job, partition_range_tags
from .partitions import gene_chunks

# Daily at 03:00 by default; NEURO_OMICS_ANNOTATION_CRON changes it (e.g. "*/15 * * * *").
ANNOTATION_CRON = os.environ.get("NEURO_OMICS_ANNOTATION_CRON", "0 3 * * *")

observe_gene_annotation_schedule = dg.ScheduleDefinition(
    name="observe_gene_annotation_schedule",
    job=observe_gene_annotation_job,
    cron_schedule=ANNOTATION_CRON,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Observe the annotation file and gene list; a changed checksum refreshes the selected genes.",
)


def changed_gene_chunks_sensor(
    encoders: Sequence[EncoderName], chunk_assets_job: UnresolvedAssetJobDefinition
) -> dg.SensorDefinition:
    """One run over the stale gene chunks of every encoder: partitions whose genes, FASTA or embedding identity
    changed."""

    @dg.sensor(job=chunk_assets_job, default_status=dg.DefaultSensorStatus.RUNNING, minimum_interval_seconds=30,
               required_resource_keys={"inputs", "warehouse", *(enc.resource_key for enc in encoders)})
    def changed_gene_chunks_sensor(context: dg.SensorEvaluationContext):
        """One run over the stale gene chunks: partitions whose genes, FASTA or embedding identity changed."""
        catalog = context.resources.warehouse.catalog()
        if not catalog.partitions("genes"):
            return dg.SkipReason("no selected genes yet: materialize selected_genes (reference_job) first")
        configured = {enc: getattr(context.resources, enc.resource_key) for enc in encoders}
        stale = stale_chunks_now(catalog, gene_chunks.get_partition_keys(), context.resources.inputs, configured)
        if not stale:
            return dg.SkipReason("every gene chunk partition was made from the current genes, FASTA and embedding "
                                 "identities")
        context.log.info("stale gene chunk partitions: %s", json.dumps(stale))
        return stale_chunks_request(stale)

    return changed_gene_chunks_sensor


def stale_chunks_request(stale: dict[str, dict[str, list[str]]]) -> dg.RunRequest:
    """One single-run backfill from the first to the last stale chunk (chunks between them are cheap cache
    hits) over the stale assets; the run key names exactly this staleness, so it is requested once."""
    chunks = sorted(stale)
    assets = sorted({asset for reasons in stale.values() for asset in reasons})
    run_key = hashlib.sha256(json.dumps(stale, sort_keys=True).encode()).hexdigest()[:32]
    return dg.RunRequest(
        run_key=run_key,
        asset_selection=[dg.AssetKey.from_user_string(asset) for asset in assets],
        tags={**partition_range_tags(chunks[0], chunks[-1]), "neuro_omics/trigger": "stale_chunks"},
    )


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


def build_sensors(encoders: Sequence[EncoderName], jobs: Sequence[UnresolvedAssetJobDefinition]) -> list:
    """The chunk sensor over ``encoders`` (requesting runs of ``chunk_assets_job``), automation, dead-run release."""
    chunk_job = next(job for job in jobs if job.name == "chunk_assets_job")
    return [changed_gene_chunks_sensor(encoders, chunk_job), automation_sensor, release_dead_runs_sensor]
