"""The warehouse on a real S3 server: atomic publication, and the demo's warehouse answering the README's queries."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from neuro_omics_assets.errors import WarehouseError
from neuro_omics_assets.warehouse.catalog import Catalog
from neuro_omics_assets.warehouse.storage import S3Options

from ..conftest import CHRM_FASTA, CHRM_GTF, REPO
from ..warehouse.builders import gene_vectors_table
from .s3 import ACCESS_KEY, REGION, SECRET_KEY

# What the README's query examples need: everything but the evaluation and the BPE token analyses.
DEMO_JOBS = ("reference_job", "gene_chunks_job", "embedding_report_job", "cohort_chunks_job", "cohort_job")
DEMO_CHUNKS = 4  # fewer chunks than the default 64: the same tables, a quarter of the runs' overhead


@pytest.fixture(scope="module")
def s3_options(s3_server) -> S3Options:
    return S3Options(endpoint=s3_server.endpoint, region=REGION, access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY)


@pytest.fixture
def bucket(s3_server) -> str:
    return s3_server.create_bucket(f"t-{uuid.uuid4().hex[:12]}")


def _vectors(n: int) -> pa.Table:
    return gene_vectors_table(np.arange(n * 4, dtype=np.float32).reshape(n, 4))


def test_a_failed_upload_leaves_the_published_partition_and_no_temporary_object(s3_options, bucket, tmp_path,
                                                                              monkeypatch):
    catalog = Catalog(f"s3://{bucket}/wh", catalog_dir=tmp_path, s3=s3_options)
    catalog.write_partition("dnabert2.gene_vectors", "chunk_000", _vectors(3))
    real_write = pq.write_table

    def dies_after_half(table, where, **kwargs):  # the process "dies" half-way through the upload
        real_write(table.slice(0, 1), where, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(pq, "write_table", dies_after_half)
    with pytest.raises(KeyboardInterrupt):
        catalog.write_partition("dnabert2.gene_vectors", "chunk_000", _vectors(5))
    with pytest.raises(KeyboardInterrupt):
        catalog.write_partition("dnabert2.gene_vectors", "chunk_001", _vectors(5))
    monkeypatch.undo()
    listed = catalog.storage.list("parquet/dnabert2/gene_vectors", "")
    assert listed == ["chunk_000.parquet"]
    assert catalog.query("select count(*) as n from dnabert2.gene_vectors")["n"].iloc[0] == 3
    assert catalog.table_names() == ["dnabert2.gene_vectors"]
    assert catalog.partition_url("dnabert2.gene_vectors", "chunk_000").startswith("s3://")


def test_wrong_keys_say_what_to_check(s3_options, bucket, tmp_path):
    wrong = S3Options(endpoint=s3_options.endpoint, access_key_id="nobody", secret_access_key="wrong")
    catalog = Catalog(f"s3://{bucket}/wh", catalog_dir=tmp_path, s3=wrong)
    with pytest.raises(WarehouseError, match="NEURO_OMICS_S3_ENDPOINT, the keys, the region and that the bucket"):
        catalog.write_partition("gene_vectors", "chunk_000", _vectors(2))


def _readme_queries() -> list[str]:
    """The SQL statements of the README's query examples (the ```sql block of "## Outputs")."""
    readme = (REPO / "README.md").read_text()
    block = re.search(r"## Outputs.*?```sql\n(.*?)```", readme, re.S).group(1)
    lines = [line for line in block.splitlines() if not line.lstrip().startswith("--")]
    return [statement.strip() for statement in "\n".join(lines).split(";") if statement.strip()]


def test_the_demo_warehouse_on_s3_answers_the_readme_queries(s3_options, s3_server, bucket, tmp_path, demo_model_dir):
    env = {**os.environ, "NEURO_OMICS_WAREHOUSE": f"s3://{bucket}/warehouse", "NEURO_OMICS_CATALOG_DIR": str(tmp_path / "catalog"),
           "NEURO_OMICS_S3_ENDPOINT": s3_server.endpoint, "NEURO_OMICS_S3_ACCESS_KEY_ID": ACCESS_KEY,
           "NEURO_OMICS_S3_SECRET_ACCESS_KEY": SECRET_KEY, "NEURO_OMICS_GENE_CHUNKS": str(DEMO_CHUNKS),
           "DAGSTER_HOME": str(tmp_path / "home"), "NEURO_OMICS_MODEL_DIR": str(demo_model_dir),
           "NEURO_OMICS_DEMO_COHORT": str(tmp_path / "cohort"), "NEURO_OMICS_DEVICE": "cpu",
           "NEURO_OMICS_FASTA": str(CHRM_FASTA), "NEURO_OMICS_GTF": str(CHRM_GTF)}
    code = f"from neuro_omics_assets.defs.demo import run_demo; run_demo(only={DEMO_JOBS!r})"
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    catalog = Catalog(f"s3://{bucket}/warehouse", catalog_dir=tmp_path / "catalog", s3=s3_options)
    # every Parquet file is on S3; the Dagster host keeps only the catalog (and the embedding cache)
    assert not list((tmp_path / "catalog").rglob("*.parquet"))
    assert catalog.partitions("dnabert2.gene_vectors") == catalog.partitions("dnabert2.personal_gene_vectors") != []
    answers = [catalog.query(sql) for sql in _readme_queries()]
    assert len(answers) == 6 and all(len(frame) for frame in answers)
    rc, nearest, summary, pcs, subject, lineage = answers
    assert nearest["gene_name"].iloc[0] == "MT-ND6" and nearest["cosine"].iloc[0] == pytest.approx(1.0, abs=1e-6)
    genes = catalog.query("select count(*) as n, any_value(len(embedding)) as h from dnabert2.gene_vectors").iloc[0]
    assert len(subject["vector"].iloc[0]) == genes["n"] * genes["h"]
    assert {strategy.split("_")[0] for strategy in summary["strategy"]} == {"mean", "cls"}
    assert (pcs["subject_id"].str.startswith("SYN")).all()
    assert set(lineage["asset_key"]) == {"gene_sequences", "dnabert2/token_embeddings", "dnabert2/gene_vectors"}
    paths = catalog.query("select path from lineage where partition <> 'all'")["path"]
    assert paths.str.startswith(f"s3://{bucket}/warehouse/parquet/").all()
