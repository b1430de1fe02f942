"""Per-chunk overhead of running ``dnabert2/token_embeddings`` as SLURM jobs, against local execution of the same chunks.

    python benchmarks/slurm_overhead.py              # 16 chunks (root on Debian, `make services` done)
    python benchmarks/slurm_overhead.py --chunks 4   # a smoke run

Starts the test harness's single-node SLURM cluster (slurmdbd, munge, sshd, two fake GPUs; the model runs
on CPU in the jobs), writes the chrM demo's gene sequences for chunks 0..N-1, then in one run of this script:

* local: one Dagster run over the N chunks in this process (the model loads once), as `make demo` does;
* SLURM: one Dagster run per chunk (the SLURM backfill policy), each submitting one job through
  dagster-slurm, one after the other, so every job finds a free GPU and its overhead is not queueing.

For each SLURM chunk it splits the wall time from the step's start to its catalog row (lineage
``written_at``) into: step start -> sbatch (SSH, uploads) -> job start (sacct Start) -> job end (sacct End:
Python, imports and model load in the job, the model pass, staging the Parquet) -> catalog row (Pipes
report, sacct, publish). Prints seconds and ratios to the local per-chunk time of the same script run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _env_dir(base: Path) -> Path:
    directory = base / "site-env"
    directory.mkdir()
    (directory / "activate.sh").write_text(f"source {sys.prefix}/bin/activate\n")
    (directory / "env").symlink_to(sys.prefix)
    return directory


def _sacct(cluster, job_id: int) -> dict[str, datetime]:
    row = cluster.command("sacct", "-n", "-X", "-P", "-o", "Submit,Start,End", "-j", str(job_id)).split("|")
    return {name: datetime.fromisoformat(value.strip()) for name, value in zip(("submit", "start", "end"), row, strict=True)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=16)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from neuro_omics_assets_tests.services.slurm import start_slurm

    base = Path(tempfile.mkdtemp(prefix="noa-bench-", dir="/tmp"))
    base.chmod(0o755)  # MariaDB (user mysql) keeps its files under the cluster's directory
    cluster = start_slurm(base / "cluster")
    try:
        run(args.chunks, base, cluster)
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


def run(n_chunks: int, base: Path, cluster) -> None:
    import dagster as dg

    from neuro_omics_assets.defs import build_definitions
    from neuro_omics_assets.defs.jobs import partition_range_tags
    from neuro_omics_assets.models.dnabert2 import write_demo_model
    from neuro_omics_assets.warehouse.catalog import Catalog

    chunks = [f"chunk_{i:03d}" for i in range(n_chunks)]
    os.environ.update({
        "NEURO_OMICS_DATA_ROOTS": f"{REPO}:{base}", "NEURO_OMICS_DEVICE": "cpu",
        "NEURO_OMICS_MODEL_DIR": str(write_demo_model(base / "model")), "NEURO_OMICS_WAREHOUSE": str(base / "prepared"),
        "DAGSTER_SLURM_SSH_CONTROL_DIR": str(cluster.control_dir),
    })
    tokens, range_tags = [dg.AssetKey(["dnabert2", "token_embeddings"])], partition_range_tags(chunks[0], chunks[-1])
    defs = build_definitions()
    defs.resolve_job_def("reference_job").execute_in_process()
    defs.resolve_job_def("gene_chunks_job").execute_in_process(asset_selection=[dg.AssetKey("gene_sequences")],
                                                                tags=range_tags)
    for name in ("local", "slurm"):
        shutil.copytree(base / "prepared", base / name)

    os.environ["NEURO_OMICS_WAREHOUSE"] = str(base / "local")
    started = time.perf_counter()
    assert build_definitions().resolve_job_def("gene_chunks_job").execute_in_process(
        asset_selection=tokens, tags=range_tags).success
    local_per_chunk = (time.perf_counter() - started) / n_chunks

    os.environ["NEURO_OMICS_WAREHOUSE"] = str(base / "slurm")
    settings = {"mode": "slurm", "ssh_host": "127.0.0.1", "ssh_port": cluster.ssh_port, "ssh_user": "root",
                "ssh_key_path": str(cluster.ssh_key), "ssh_known_hosts": str(cluster.known_hosts),
                "partition": "debug", "time_limit": "00:10:00", "mem": "1G", "cpus": 1, "gpus": 1,
                "env_path": str(_env_dir(base)), "remote_base": str(base / "remote")}
    job = build_definitions().resolve_job_def("gene_chunks_job")
    phases: dict[str, list[float]] = {"to_sbatch": [], "queued": [], "job": [], "to_catalog": [], "total": []}
    for chunk in chunks:
        step_start = datetime.now().astimezone()
        result = job.execute_in_process(asset_selection=tokens, partition_key=chunk,
                                        run_config={"resources": {"execution": {"config": settings}}})
        assert result.success
        lineage = Catalog(base / "slurm").lineage("dnabert2/token_embeddings").set_index("partition").loc[chunk]
        times = _sacct(cluster, json.loads(lineage["metadata"])["slurm_job_id"])
        written = lineage["written_at"].to_pydatetime()
        local_zone = step_start.tzinfo
        submit, start, end = (times[k].replace(tzinfo=local_zone) for k in ("submit", "start", "end"))
        for name, seconds in (("to_sbatch", submit - step_start), ("queued", start - submit), ("job", end - start),
                              ("to_catalog", written - end), ("total", written - step_start)):
            phases[name].append(seconds.total_seconds())
    slurm_per_chunk = statistics.mean(phases["total"])
    print(f"{n_chunks} chunks of the chrM demo, tiny demo model on CPU, {os.cpu_count()} cores")
    print(f"local, one run over all chunks:  {local_per_chunk:6.2f} s per chunk")
    print(f"SLURM, one run and job per chunk: {slurm_per_chunk:6.2f} s per chunk "
          f"({slurm_per_chunk / local_per_chunk:.1f}x local)")
    for name, label in (("to_sbatch", "step start -> sbatch"), ("queued", "sbatch -> job start"),
                        ("job", "job start -> job end"), ("to_catalog", "job end -> catalog row")):
        values = phases[name]
        print(f"  {label:24s} median {statistics.median(values):6.2f} s  (min {min(values):.2f}, max {max(values):.2f})")


if __name__ == "__main__":
    main()
