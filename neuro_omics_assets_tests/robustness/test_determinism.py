"""Same inputs, same device: bitwise the same vectors; and the lineage names the inputs that made them."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from neuro_omics_assets.checksums import file_sha256
from neuro_omics_assets.genome.sequence import sha256_hex
from neuro_omics_assets.warehouse.catalog import Catalog

from ..conftest import CHRM_FASTA, CHRM_GTF
from .helpers import BASELINE_CHUNKS, CHUNK_TABLES, VECTOR_TABLES, baseline_run, vector_sha256

# Partition metadata that describes the run rather than what made the data.
RUN_FACTS = {"run_id", "tokens_per_s"}


@pytest.fixture(scope="module")
def second_run(tmp_path_factory: pytest.TempPathFactory, demo_model_dir: Path) -> Path:
    """A second fresh instance, warehouse and cache, run in its own process like ``uninterrupted``."""
    return baseline_run(tmp_path_factory.mktemp("second_run"), demo_model_dir)


@pytest.mark.parametrize("table", VECTOR_TABLES)
@pytest.mark.parametrize("chunk", BASELINE_CHUNKS)
def test_two_fresh_runs_write_bitwise_identical_vectors(uninterrupted, second_run, table, chunk):
    first, second = Catalog(uninterrupted), Catalog(second_run)
    paths = first.partition_path(table, chunk), second.partition_path(table, chunk)
    hashes = [vector_sha256(table, path) for path in paths]
    assert hashes[0] == hashes[1]
    assert first.read_partition(table, chunk).equals(second.read_partition(table, chunk))
    metadata = [first.partition_metadata(table, chunk), second.partition_metadata(table, chunk)]
    assert metadata[0]["run_id"] != metadata[1]["run_id"]
    identity = [{k: v for k, v in m.items() if k not in RUN_FACTS} for m in metadata]
    assert identity[0] == identity[1]  # same model, tokenizer, window, dtype, pooling and code version


def _checksums(lineage, asset_key: str) -> list[dict[str, str]]:
    rows = lineage[lineage["asset_key"] == asset_key]
    assert sorted(rows["partition"]) == sorted(BASELINE_CHUNKS)
    return [json.loads(text) for text in rows["input_checksums"]]


def test_lineage_names_the_exact_inputs_of_every_vector(uninterrupted, demo_model_dir):
    catalog = Catalog(uninterrupted)
    lineage = catalog.lineage()
    genome = {"fasta_sha256": file_sha256(CHRM_FASTA), "gtf_sha256": file_sha256(CHRM_GTF)}
    model = {"model_sha256": file_sha256(demo_model_dir / "model.safetensors"),
             "tokenizer_sha256": file_sha256(demo_model_dir / "tokenizer.json")}
    assert all(genome.items() <= row.items() for row in _checksums(lineage, "gene_sequences"))
    for asset_key in VECTOR_TABLES:
        assert all(model.items() <= row.items() for row in _checksums(lineage, asset_key))
    for row in lineage[lineage["partition"] != "all"].itertuples():
        # the lineage row describes the file that is there now: same run, same path, same row count
        assert catalog.partition_metadata(row.asset_key, row.partition)["run_id"] == row.run_id
        assert Path(row.path) == catalog.partition_path(row.asset_key, row.partition)
        assert row.rows == pq.read_metadata(row.path).num_rows
    # A vector's gene sequence is found by its SHA-256 among the gene_sequences of the same chunk, whose
    # lineage row names the FASTA and GTF: the chain from vector to input files is complete.
    for chunk in BASELINE_CHUNKS:
        sequences = catalog.read_partition("gene_sequences", chunk).to_pandas().set_index("sha256")
        assert all(sha256_hex(sequence) == sha for sha, sequence in sequences["sequence"].items())
        vectors = catalog.read_partition("dnabert2.gene_vectors", chunk).to_pandas()
        assert set(vectors["sha256"]) == set(sequences.index)
        assert list(sequences.loc[vectors["sha256"], "gene_id"]) == list(vectors["gene_id"])
    window = json.loads(lineage.loc[lineage["asset_key"] == "dnabert2/gene_vectors", "metadata"].iloc[0])
    assert {"pooling": "mean", "rc_averaged": True, "dtype": "float32"}.items() <= window.items()
    assert set(CHUNK_TABLES) <= set(lineage["asset_key"])
