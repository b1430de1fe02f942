"""Security: weights never run pickled code, the UI listens on loopback, queries cannot write the catalog,
and no configured name or path leads out of the directories it belongs to."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
import torch

from neuro_omics_assets.checksums import file_sha256
from neuro_omics_assets.cli import main
from neuro_omics_assets.embedding.cache import EmbeddingCache
from neuro_omics_assets.embedding.engine import EmbeddingEngine
from neuro_omics_assets.errors import ConfigError, ModelLoadError
from neuro_omics_assets.genome.chunks import chunk_index
from neuro_omics_assets.models.dnabert2 import load_dnabert2
from neuro_omics_assets.warehouse.catalog import Catalog
from neuro_omics_assets.warehouse.schemas import TABLES

from ..conftest import CHRM_FASTA, CHRM_GTF, REPO, TINY_MODEL
from ..warehouse.builders import gene_vectors_table


class _RunsCode:
    """Unpickling this object runs ``Path(marker).touch()``: the payload of a malicious checkpoint."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _model_dir_with_bin(tmp_path: Path, payload: object) -> Path:
    """A model directory whose only weights file is a ``pytorch_model.bin`` pickling ``payload``."""
    model = tmp_path / "model"
    model.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(TINY_MODEL / name, model / name)
    torch.save(payload, model / "pytorch_model.bin")
    return model


def _tensors() -> dict[str, torch.Tensor]:
    return torch.load(TINY_MODEL / "pytorch_model.bin", weights_only=True)


# What a hostile or broken pytorch_model.bin can pickle besides tensors.
PAYLOADS = {
    "code run on unpickling": lambda marker: {**_tensors(), "bert.pooler.dense.weight": _RunsCode(marker)},
    "code as the whole file": lambda marker: _RunsCode(marker),
    "non-tensor values": lambda marker: {**_tensors(), "bert.embeddings.note": "not a tensor"},
}


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_pickled_objects_in_weights_are_refused_and_never_run(tmp_path, payload):
    marker = tmp_path / "payload-ran"
    model = _model_dir_with_bin(tmp_path, PAYLOADS[payload](marker))
    with pytest.raises(ModelLoadError, match="pytorch_model.bin"):
        load_dnabert2(model)
    assert not marker.exists()


def test_cli_embed_refuses_a_malicious_checkpoint(tmp_path):
    marker = tmp_path / "payload-ran"
    model = _model_dir_with_bin(tmp_path, PAYLOADS["code run on unpickling"](marker))
    sequences, out = tmp_path / "genes.parquet", tmp_path / "vectors.parquet"
    assert main(["extract", "--fasta", str(CHRM_FASTA), "--gtf", str(CHRM_GTF), "--genes", "MT-TA",
                 "--out", str(sequences)]) == 0
    result = subprocess.run([sys.executable, "-m", "neuro_omics_assets.cli", "embed", "--model", str(model),
                             "--sequences", str(sequences), "--out", str(out), "--device", "cpu"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "pytorch_model.bin cannot be read" in result.stderr and "Traceback" not in result.stderr
    assert not marker.exists() and not out.exists()


def test_cache_entries_never_unpickle(tmp_path):
    encoder = load_dnabert2(TINY_MODEL, device="cpu", dtype="float32")
    engine = EmbeddingEngine(encoder, cache=EmbeddingCache(tmp_path))
    vector = engine.embed({"s": "ACGTTGCAAC" * 20})["s"].vector
    (entry,) = tmp_path.glob("*/*.npz")
    marker = tmp_path / "payload-ran"
    with open(entry, "wb") as handle:  # an entry whose arrays are pickled objects
        np.savez(handle, token_sum=np.array([_RunsCode(marker)], dtype=object))
    cache = EmbeddingCache(tmp_path)
    again = EmbeddingEngine(encoder, cache=cache).embed({"s": "ACGTTGCAAC" * 20})["s"].vector
    assert not marker.exists() and cache.corrupt == 1
    assert again.tobytes() == vector.tobytes()


def test_ui_binds_to_loopback_by_default(pipeline_env, monkeypatch, caplog):
    executed: list[list[str]] = []
    monkeypatch.setattr(os, "execv", lambda path, argv: executed.append(list(argv)))
    assert main(["ui"]) == 0
    assert main(["ui", "--port", "3111", "--host", "0.0.0.0"]) == 0
    default, exposed = executed
    assert default[1:3] == ["dev", "-w"] and default[0] == str(Path(sys.executable).with_name("dagster"))
    assert default[default.index("-h") + 1] == "127.0.0.1" and default[default.index("-p") + 1] == "3000"
    assert exposed[exposed.index("-h") + 1] == "0.0.0.0"
    assert "anyone who can reach this address can launch runs" in caplog.text  # warned, only for 0.0.0.0
    assert caplog.text.count("anyone who can reach") == 1
    assert "\t$(BIN)/neuro-omics ui\n" in (REPO / "Makefile").read_text()  # `make ui` keeps the default


# Statements that would change the catalog; each must fail and leave the file as it was.
WRITES = [
    "CREATE TABLE evil (a INTEGER)",
    "INSERT INTO lineage SELECT * FROM lineage",
    "UPDATE catalog_meta SET value = 'x'",
    "DELETE FROM lineage",
    "DROP VIEW gene_vectors",
    "CREATE OR REPLACE VIEW gene_vectors AS SELECT 1 AS a",
    "ALTER TABLE lineage ADD COLUMN evil INTEGER",
]


def test_query_cli_cannot_write_the_catalog(tmp_path):
    catalog = Catalog(tmp_path / "warehouse")
    catalog.write_partition("gene_vectors", "chunk_000", gene_vectors_table(np.ones((2, 4), np.float32)))
    before = file_sha256(catalog.db_path)
    for sql in WRITES:
        result = subprocess.run([sys.executable, "-m", "neuro_omics_assets.cli", "query", sql, "--db",
                                 str(catalog.db_path)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, (sql, result.stdout)
        assert "read-only" in result.stderr, (sql, result.stderr)
    assert file_sha256(catalog.db_path) == before
    assert catalog.query("SELECT count(*) AS n FROM gene_vectors")["n"].iloc[0] == 2


def test_query_cannot_write_files_next_to_the_catalog(tmp_path):
    """DuckDB's read-only mode guards the catalog file, not the disk: a COPY into parquet/gene_vectors/
    used to add a partition, without lineage, to what every reader sees. Only reads run now."""
    catalog = Catalog(tmp_path / "warehouse")
    catalog.write_partition("gene_vectors", "chunk_000", gene_vectors_table(np.ones((2, 4), np.float32)))
    injected = catalog.partition_path("gene_vectors", "chunk_063")
    statements = [
        f"COPY (SELECT * REPLACE ('evil' AS gene_id) FROM gene_vectors) TO '{injected}' (FORMAT parquet)",
        f"SELECT 1; COPY (SELECT 1 AS a) TO '{tmp_path / 'out.csv'}'",
        f"EXPORT DATABASE '{tmp_path / 'export'}'",
    ]
    for sql in statements:
        result = subprocess.run([sys.executable, "-m", "neuro_omics_assets.cli", "query", sql, "--db",
                                 str(catalog.db_path)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and "queries are read-only" in result.stderr, (sql, result.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["warehouse"] and not injected.exists()
    assert catalog.partitions("gene_vectors") == ["chunk_000"]
    reads = ["SELECT count(*) AS n FROM gene_vectors", "DESCRIBE gene_vectors", "SUMMARIZE gene_vectors",
             "SHOW TABLES", "EXPLAIN SELECT * FROM lineage", "FROM catalog_meta", "VALUES (1)"]
    assert all(len(catalog.query(sql)) > 0 for sql in reads)


@pytest.mark.parametrize("partition", ["../x", "..", "../../etc/passwd", "a/b", "/tmp/x", ".hidden", "", "x\0y"])
def test_partition_names_cannot_leave_the_table_directory(tmp_path, partition):
    catalog = Catalog(tmp_path / "warehouse")
    table = gene_vectors_table(np.ones((2, 4), np.float32))
    for attempt in (lambda: catalog.write_partition("gene_vectors", partition, table),
                    lambda: catalog.read_partition("gene_vectors", partition),
                    lambda: catalog.delete_partition("gene_vectors", partition)):
        with pytest.raises(ConfigError, match="not a valid file name"):
            attempt()
    with pytest.raises(ConfigError):
        chunk_index(partition)  # nor is it a gene-chunk key Dagster could pass to an asset
    assert sorted(p.name for p in tmp_path.rglob("*")) == []  # nothing written anywhere


@pytest.mark.parametrize("table", ["../gene_vectors", "gene_vectors/..", "genes/../../x", "x/../gene_vectors",
                                   "dnabert2/../../gene_vectors"])
def test_table_names_cannot_leave_the_warehouse(tmp_path, table):
    with pytest.raises(ConfigError, match="unknown warehouse table|is not an encoder name"):
        Catalog(tmp_path).write_partition(table, "chunk_000", gene_vectors_table(np.ones((2, 4), np.float32)))
    assert table not in TABLES and list(tmp_path.iterdir()) == []


def test_config_paths_cannot_escape_the_data_roots(pipeline_env, monkeypatch):
    from neuro_omics_assets.defs import build_definitions
    from neuro_omics_assets.defs.instance import prepare_dagster_home

    outside = pipeline_env / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("MT-ND6\nroot:x:0:0:secret\n")  # e.g. a file of another user
    monkeypatch.setenv("NEURO_OMICS_DATA_ROOTS", os.pathsep.join(
        [str(REPO / "data"), str(pipeline_env / "warehouse"), str(pipeline_env / "cache"),
         os.environ["NEURO_OMICS_MODEL_DIR"]]))
    monkeypatch.setenv("NEURO_OMICS_GENE_LIST", str(outside / "secret.txt"))
    prepare_dagster_home()
    with dg.DagsterInstance.get() as instance:
        result = build_definitions().resolve_job_def("reference_job").execute_in_process(
            instance=instance, raise_on_error=False)
    assert not result.success
    error = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error
    while error.cause is not None:  # the user-facing error under Dagster's wrapper
        error = error.cause
    message = error.message
    assert "secret.txt" in message and "data root" in message and "root:x" not in message
    assert not (pipeline_env / "warehouse" / "parquet" / "genes").exists()
