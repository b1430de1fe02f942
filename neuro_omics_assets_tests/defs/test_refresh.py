"""An annotation edit re-materializes exactly the changed gene chunks, then the cohort-wide assets.

The real Dagster machinery, driven tick by tick: the observation job, the declarative-automation
evaluation (what the automation sensor would request) and the chunk sensor's run requests, each
executed against a real instance as the daemon would.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pytest

from neuro_omics_assets.cohort.simulate import simulate_cohort
from neuro_omics_assets.defs import build_definitions
from neuro_omics_assets.defs.automation import changed_gene_chunks_sensor
from neuro_omics_assets.defs.instance import prepare_dagster_home
from neuro_omics_assets.defs.jobs import partition_range_tags
from neuro_omics_assets.genome.chunks import chunk_key, gene_chunk
from neuro_omics_assets.warehouse.catalog import Catalog

from ..conftest import CHRM_FASTA, CHRM_GTF

GENES = ("MT-CO2", "MT-ND4L", "MT-CO1", "MT-TA", "MT-CYB")
MT_CO1 = "ENSG00000198804"
MT_ND6 = "ENSG00000198695"  # added to the gene list later
COHORT_WIDE = {"embedding_stability", "subject_embeddings", "pca_basis", "residualized_embeddings"}


class Pipeline:
    """A built pipeline plus the daemon's moves: observe, evaluate automation, evaluate the chunk sensor."""

    def __init__(self, defs: dg.Definitions, instance: dg.DagsterInstance):
        self.defs, self.instance, self.cursor = defs, instance, None

    def run(self, job: str, **kwargs) -> dg.ExecuteInProcessResult:
        result = self.defs.resolve_job_def(job).execute_in_process(instance=self.instance, **kwargs)
        assert result.success
        return result

    def automation_requests(self) -> set[str]:
        result = dg.evaluate_automation_conditions(defs=self.defs, instance=self.instance, cursor=self.cursor)
        self.cursor = result.cursor
        return {r.key.to_user_string() for r in result.results if r.true_subset.size}

    def chunk_requests(self) -> list[dg.RunRequest]:
        context = dg.build_sensor_context(instance=self.instance, definitions=self.defs,
                                          resources={"warehouse": self.defs.resources["warehouse"]})
        return list(changed_gene_chunks_sensor.evaluate_tick(context).run_requests or [])

    def materialize(self, assets: set[str]) -> None:
        keys = [dg.AssetKey(a) for a in sorted(assets)]
        self.defs.resolve_implicit_global_asset_job_def().execute_in_process(instance=self.instance, asset_selection=keys)

    def run_chunk_requests(self, requests: list[dg.RunRequest]) -> None:
        for request in requests:
            self.run("chunk_assets_job", partition_key=request.partition_key)

    def materialization_count(self, asset: str, chunk: str) -> int:
        records = self.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[chunk]), limit=100
        ).records
        return len(records)


@pytest.fixture
def pipeline(tmp_path, monkeypatch, demo_model_dir):
    cohort = simulate_cohort(tmp_path / "cohort", CHRM_FASTA, n_subjects=30, seed=7, ploidy=1)
    gtf, gene_list = tmp_path / "annotation.gtf", tmp_path / "genes.txt"
    gtf.write_text(CHRM_GTF.read_text())
    gene_list.write_text("\n".join(GENES) + "\n")
    for name, value in {
        "DAGSTER_HOME": tmp_path / "dagster_home", "NEURO_OMICS_WAREHOUSE": tmp_path / "warehouse",
        "NEURO_OMICS_CACHE_DIR": tmp_path / "cache", "NEURO_OMICS_MODEL_DIR": demo_model_dir,
        "NEURO_OMICS_FASTA": CHRM_FASTA, "NEURO_OMICS_GTF": gtf, "NEURO_OMICS_GENE_LIST": gene_list,
        "NEURO_OMICS_DEVICE": "cpu", "NEURO_OMICS_VCF": cohort.vcf, "NEURO_OMICS_COVARIATES": cohort.covariates,
    }.items():
        monkeypatch.setenv(name, str(value))
    prepare_dagster_home()
    defs = build_definitions()
    with dg.DagsterInstance.get() as instance:
        built = Pipeline(defs, instance)
        built.run("reference_job")
        built.run("chunk_assets_job", tags=partition_range_tags("chunk_000", "chunk_063"))
        built.run("embedding_report_job")
        built.run("cohort_job")
        yield built, gtf, gene_list


def _edit_gene_end(gtf, gene_id: str, delta: int) -> None:
    """Move the end of ``gene_id``'s gene, transcript and exon lines by ``delta`` bases."""
    lines = []
    for line in gtf.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) == 9 and f'gene_id "{gene_id}"' in fields[8] and fields[2] in ("gene", "transcript", "exon"):
            fields[4] = str(int(fields[4]) + delta)
        lines.append("\t".join(fields))
    gtf.write_text("\n".join(lines) + "\n")


def test_annotation_edits_rematerialize_exactly_what_changed(pipeline):
    """One build, three edits in turn (building the 64-chunk pipeline once keeps the test short)."""
    built, gtf, gene_list = pipeline
    _touching_the_file_runs_nothing(built, gtf)
    _moved_gene_rematerializes_exactly_its_chunk_then_cohort(built, gtf)
    _gene_added_to_the_list_runs_one_chunk_plus_cohort(built, gene_list)


def _touching_the_file_runs_nothing(built: Pipeline, gtf) -> None:
    assert built.automation_requests() == set()
    assert built.chunk_requests() == []
    stat = gtf.stat()
    os.utime(gtf, (stat.st_atime + 100, stat.st_mtime + 100))  # touched, same bytes
    built.run("observe_gene_annotation_job")
    assert built.automation_requests() == set()


def _moved_gene_rematerializes_exactly_its_chunk_then_cohort(built: Pipeline, gtf) -> None:
    chunk = chunk_key(gene_chunk(MT_CO1))
    before = {c: built.materialization_count("gene_vectors", c) for c in ("chunk_000", chunk)}
    _edit_gene_end(gtf, MT_CO1, -30)
    built.run("observe_gene_annotation_job")
    requested = built.automation_requests()
    assert requested == {"selected_genes"}  # the chunks come from the sensor, the cohort-wide assets after them
    built.materialize(requested)

    requests = built.chunk_requests()
    assert [r.partition_key for r in requests] == [chunk]
    built.run_chunk_requests(requests)
    assert built.chunk_requests() == []  # nothing left out of date

    requested = built.automation_requests()
    assert requested == COHORT_WIDE
    built.materialize(requested)
    assert built.materialization_count("gene_vectors", chunk) == before[chunk] + 1
    assert built.materialization_count("gene_vectors", "chunk_000") == before["chunk_000"]
    catalog = Catalog(Path(os.environ["NEURO_OMICS_WAREHOUSE"]))
    length = catalog.query(f"select length from gene_sequences where gene_id = '{MT_CO1}'")["length"].iloc[0]
    assert length == 1542 - 30


def _gene_added_to_the_list_runs_one_chunk_plus_cohort(built: Pipeline, gene_list) -> None:
    gene_list.write_text("\n".join((*GENES, "MT-ND6")) + "\n")
    built.run("observe_gene_annotation_job")
    assert built.automation_requests() == {"selected_genes"}
    built.materialize({"selected_genes"})
    requests = built.chunk_requests()
    assert [r.partition_key for r in requests] == [chunk_key(gene_chunk(MT_ND6))]
    built.run_chunk_requests(requests)
    requested = built.automation_requests()
    assert requested == COHORT_WIDE
    built.materialize(requested)
    catalog = Catalog(Path(os.environ["NEURO_OMICS_WAREHOUSE"]))
    genes = set(catalog.query("select distinct gene_name from subject_embeddings")["gene_name"])
    assert genes == {*GENES, "MT-ND6"}
