"""The harness's servers answer like the real thing: SQL on PostgreSQL, objects on S3, GPU jobs on SLURM."""

from __future__ import annotations

import time

import psycopg2
import pyarrow.fs as pafs
import pytest

from .s3 import ACCESS_KEY, REGION, SECRET_KEY


def test_postgres_answers_sql(postgres_server):
    url = postgres_server.create_database("harness_check")
    with psycopg2.connect(host="127.0.0.1", port=postgres_server.port, user="postgres", dbname="harness_check") as con:
        with con.cursor() as cur:
            cur.execute("select 6 * 7")
            assert cur.fetchone() == (42,)
    assert url.startswith("postgresql+psycopg2://")


def test_s3_stores_and_lists_objects(s3_server):
    fs = pafs.S3FileSystem(access_key=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION, scheme="http",
                           endpoint_override=s3_server.endpoint, allow_bucket_creation=True)
    fs.create_dir("harness-check")
    with fs.open_output_stream("harness-check/a/b.txt") as out:
        out.write(b"hello")
    with fs.open_input_stream("harness-check/a/b.txt") as handle:
        assert handle.read() == b"hello"
    assert [info.path for info in fs.get_file_info(pafs.FileSelector("harness-check/a"))] == ["harness-check/a/b.txt"]


@pytest.mark.slurm
def test_slurm_schedules_fake_gpus_and_accounts_jobs(slurm_cluster):
    """Two 1-GPU jobs run at once on GPUs 0 and 1, a third waits; 3 GPUs are refused; sacct sees them finish."""
    job = ["sbatch", "--parsable", "--gres=gpu:1", "--wrap", 'echo "$CUDA_VISIBLE_DEVICES"; sleep 3',
           "-o", f"{slurm_cluster.root}/job-%j.out"]
    ids = [slurm_cluster.command(*job).strip() for _ in range(3)]
    states: dict[str, str] = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and sorted(states.get(i, "") for i in ids) != ["PENDING", "RUNNING", "RUNNING"]:
        time.sleep(0.2)
        states = dict(line.split() for line in slurm_cluster.command("squeue", "-h", "-o", "%i %T").splitlines())
    assert sorted(states.get(i, "gone") for i in ids) == ["PENDING", "RUNNING", "RUNNING"], states
    running = [i for i in ids if states[i] == "RUNNING"]
    with pytest.raises(RuntimeError, match="Requested node configuration is not available"):
        slurm_cluster.command("sbatch", "--gres=gpu:3", "--wrap", "true")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        sacct = slurm_cluster.command("sacct", "-n", "-X", "-P", "-o", "JobID,State", "-j", ",".join(ids))
        if sacct.count("COMPLETED") == 3:
            break
        time.sleep(0.5)
    assert sacct.count("COMPLETED") == 3, sacct
    assert sorted((slurm_cluster.root / f"job-{i}.out").read_text().strip() for i in running) == ["0", "1"]
