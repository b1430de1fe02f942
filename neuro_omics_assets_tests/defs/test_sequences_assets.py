"""gene_sequences materializes through Dagster into a real instance and a real DuckDB catalog."""

from __future__ import annotations

import dagster as dg
import pytest

from neuro_omics_assets.cli import main
from neuro_omics_assets.defs import build_definitions
from neuro_omics_assets.defs.instance import prepare_dagster_home
from neuro_omics_assets.genome.chunks import chunk_key, gene_chunk
from neuro_omics_assets.genome.sequence import reverse_complement
from neuro_omics_assets.warehouse.catalog import Catalog

from ..conftest import CHRM_FASTA

# MT-ND6: minus strand, chrM:14149-14673 (1-based, closed) in Ensembl 90.
MT_ND6 = ("ENSG00000198695", 14148, 14673)


def _chrm_sequence() -> str:
    return "".join(line.strip() for line in CHRM_FASTA.read_text().splitlines()[1:])


@pytest.fixture
def materialized(pipeline_env):
    prepare_dagster_home()
    defs = build_definitions()
    with dg.DagsterInstance.get() as instance:
        defs.resolve_job_def("reference_job").execute_in_process(instance=instance)
        chunk = chunk_key(gene_chunk(MT_ND6[0]))
        result = defs.resolve_job_def("gene_chunks_job").execute_in_process(
            instance=instance, partition_key=chunk, asset_selection=[dg.AssetKey("gene_sequences")]
        )
        assert result.success
        yield instance, chunk


def test_gene_sequences_partition_lands_in_duckdb(materialized, pipeline_env, capsys):
    instance, chunk = materialized
    catalog = Catalog(pipeline_env / "warehouse")
    rows = catalog.query("select gene_id, strand, sequence, chunk from gene_sequences")
    assert MT_ND6[0] in set(rows["gene_id"])
    nd6 = rows.set_index("gene_id").loc[MT_ND6[0]]
    expected = reverse_complement(_chrm_sequence()[MT_ND6[1] : MT_ND6[2]]).upper()
    assert nd6["sequence"] == expected and nd6["strand"] == "-"
    assert chunk_key(int(nd6["chunk"])) == chunk
    lineage = catalog.lineage("gene_sequences")
    assert list(lineage["partition"]) == [chunk]
    event = instance.get_latest_materialization_event(dg.AssetKey("gene_sequences"))
    assert event is not None

    code = main(["query", "select count(*) as n from gene_sequences", "--db",
                 str(pipeline_env / "warehouse" / "neuro_omics.duckdb"), "--format", "csv"])
    assert code == 0
    assert capsys.readouterr().out.splitlines() == ["n", str(len(rows))]
