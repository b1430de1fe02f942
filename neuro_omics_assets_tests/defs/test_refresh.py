"""An annotation edit re-materializes exactly the changed gene chunks, then the cohort-wide assets; a
model swap is refused by the cohort-wide assets until the chunk sensor has re-run every stale chunk; a
new FASTA makes every chunk stale.

The real Dagster machinery, driven tick by tick: the observation job, the declarative-automation
evaluation (what the automation sensor would request) and the chunk sensor's run requests, each
executed against a real instance as the daemon would.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import pytest

from neuro_omics_assets.checksums import file_sha256, package_fingerprint
from neuro_omics_assets.cohort.simulate import simulate_cohort
from neuro_omics_assets.defs import build_definitions
from neuro_omics_assets.defs.instance import prepare_dagster_home
from neuro_omics_assets.defs.jobs import partition_range_tags
from neuro_omics_assets.embedding.identity import code_fingerprint
from neuro_omics_assets.errors import MixedIdentityError
from neuro_omics_assets.genome.chunks import chunk_key, gene_chunk
from neuro_omics_assets.models.dnabert2 import write_demo_model
from neuro_omics_assets.warehouse.catalog import Catalog

from ..conftest import CHRM_FASTA, CHRM_GTF

GENES = ("MT-CO2", "MT-ND4L", "MT-CO1", "MT-TA", "MT-CYB")
MT_CO1 = "ENSG00000198804"
MT_ND6 = "ENSG00000198695"  # added to the gene list later
COHORT_WIDE = {"dnabert2/embedding_stability", "dnabert2/subject_embeddings", "dnabert2/pca_basis",
               "dnabert2/residualized_embeddings"}


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
        resources = {key: self.defs.resources[key] for key in ("warehouse", "inputs", "encoder_dnabert2")}
        context = dg.build_sensor_context(instance=self.instance, definitions=self.defs, resources=resources)
        sensor = next(s for s in self.defs.sensors if s.name == "changed_gene_chunks_sensor")
        return list(sensor.evaluate_tick(context).run_requests or [])

    def materialize(self, assets: set[str]) -> None:
        keys = [dg.AssetKey.from_user_string(a) for a in sorted(assets)]
        self.defs.resolve_implicit_global_asset_job_def().execute_in_process(instance=self.instance, asset_selection=keys)

    def run_chunk_requests(self, requests: list[dg.RunRequest]) -> None:
        for request in requests:
            self.run("chunk_assets_job", tags=request.tags, asset_selection=request.asset_selection)

    def materialization_count(self, asset: str, chunk: str) -> int:
        records = self.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey.from_user_string(asset), asset_partitions=[chunk]), limit=100
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


def _requested(requests: list[dg.RunRequest]) -> tuple[str, str, set[str]]:
    """The one request's first and last chunk and its assets."""
    [request] = requests
    tags = request.tags
    return (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"],
            {key.to_user_string() for key in request.asset_selection})


EMBEDDING_ASSETS = {"dnabert2/token_embeddings", "dnabert2/gene_vectors", "dnabert2/personal_gene_vectors"}
ALL_CHUNK_ASSETS = {"gene_sequences", "subject_haplotypes", *EMBEDDING_ASSETS}


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


def test_identity_and_fasta_changes_mark_chunks_stale(pipeline, tmp_path, monkeypatch):
    """A same-width model swap, then new FASTA bytes, on one build of the pipeline."""
    built, _, _ = pipeline
    _same_width_model_swap_is_refused_until_the_stale_chunks_rerun(built, tmp_path, monkeypatch)
    _new_fasta_bytes_make_every_chunk_stale(built, tmp_path, monkeypatch)


def _rebuilt(built: Pipeline) -> Pipeline:
    """The code location reloaded with the changed environment, on the same instance."""
    return Pipeline(build_definitions(), built.instance)


def _same_width_model_swap_is_refused_until_the_stale_chunks_rerun(built: Pipeline, tmp_path, monkeypatch) -> None:
    other = write_demo_model(tmp_path / "other-model", seed=1)  # same config, other weights
    monkeypatch.setenv("NEURO_OMICS_MODEL_DIR", str(other))
    swapped = _rebuilt(built)
    chunk = chunk_key(gene_chunk(MT_CO1))
    one_chunk = swapped.defs.resolve_job_def("chunk_assets_job").execute_in_process(
        instance=swapped.instance, partition_key=chunk, raise_on_error=False)
    failed_checks = {e.asset_check_evaluation_data.asset_check_key.name
                     for e in one_chunk.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
                     and not e.asset_check_evaluation_data.passed}
    assert {"token_embeddings_share_one_identity", "personal_gene_vectors_share_one_identity"} <= failed_checks

    with pytest.raises(MixedIdentityError) as refused:
        swapped.defs.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=swapped.instance, asset_selection=[dg.AssetKey(["dnabert2", "subject_embeddings"])])
    assert "personal_gene_vectors partitions were made with 2 different embedding identities" in str(refused.value)
    assert chunk in str(refused.value) and "differing fields: model_sha256" in str(refused.value)

    requests = swapped.chunk_requests()
    assert _requested(requests) == ("chunk_000", "chunk_063", EMBEDDING_ASSETS)  # sequences, haplotypes fresh
    swapped.run_chunk_requests(requests)
    assert swapped.chunk_requests() == []
    swapped.materialize(COHORT_WIDE)
    catalog = Catalog(Path(os.environ["NEURO_OMICS_WAREHOUSE"]))
    lineage = catalog.lineage("dnabert2/subject_embeddings").iloc[-1]
    recorded = json.loads(lineage["metadata"])
    assert recorded["model_sha256"] == file_sha256(other / "model.safetensors")
    assert recorded["code_fingerprint"] == code_fingerprint()
    assert lineage["code_version"].endswith(package_fingerprint()[:16])


def _new_fasta_bytes_make_every_chunk_stale(built: Pipeline, tmp_path, monkeypatch) -> None:
    rewrapped = tmp_path / "chrM.rewrapped.fa"
    header, *lines = CHRM_FASTA.read_text().splitlines()
    sequence = "".join(lines)
    rewrapped.write_text(header + "\n" + "\n".join(sequence[i : i + 70] for i in range(0, len(sequence), 70)) + "\n")
    monkeypatch.setenv("NEURO_OMICS_FASTA", str(rewrapped))  # same sequence, other bytes
    assert _requested(_rebuilt(built).chunk_requests()) == ("chunk_000", "chunk_063", ALL_CHUNK_ASSETS)


def _touching_the_file_runs_nothing(built: Pipeline, gtf) -> None:
    assert built.automation_requests() == set()
    assert built.chunk_requests() == []
    stat = gtf.stat()
    os.utime(gtf, (stat.st_atime + 100, stat.st_mtime + 100))  # touched, same bytes
    built.run("observe_gene_annotation_job")
    assert built.automation_requests() == set()


def _moved_gene_rematerializes_exactly_its_chunk_then_cohort(built: Pipeline, gtf) -> None:
    chunk = chunk_key(gene_chunk(MT_CO1))
    before = {c: built.materialization_count("dnabert2/gene_vectors", c) for c in ("chunk_000", chunk)}
    _edit_gene_end(gtf, MT_CO1, -30)
    built.run("observe_gene_annotation_job")
    requested = built.automation_requests()
    assert requested == {"selected_genes"}  # the chunks come from the sensor, the cohort-wide assets after them
    built.materialize(requested)

    requests = built.chunk_requests()
    assert _requested(requests) == (chunk, chunk, ALL_CHUNK_ASSETS)
    built.run_chunk_requests(requests)
    assert built.chunk_requests() == []  # nothing left out of date

    requested = built.automation_requests()
    assert requested == COHORT_WIDE
    built.materialize(requested)
    assert built.materialization_count("dnabert2/gene_vectors", chunk) == before[chunk] + 1
    assert built.materialization_count("dnabert2/gene_vectors", "chunk_000") == before["chunk_000"]
    catalog = Catalog(Path(os.environ["NEURO_OMICS_WAREHOUSE"]))
    length = catalog.query(f"select length from gene_sequences where gene_id = '{MT_CO1}'")["length"].iloc[0]
    assert length == 1542 - 30


def _gene_added_to_the_list_runs_one_chunk_plus_cohort(built: Pipeline, gene_list) -> None:
    gene_list.write_text("\n".join((*GENES, "MT-ND6")) + "\n")
    built.run("observe_gene_annotation_job")
    assert built.automation_requests() == {"selected_genes"}
    built.materialize({"selected_genes"})
    requests = built.chunk_requests()
    new_chunk = chunk_key(gene_chunk(MT_ND6))
    assert _requested(requests) == (new_chunk, new_chunk, ALL_CHUNK_ASSETS)
    built.run_chunk_requests(requests)
    requested = built.automation_requests()
    assert requested == COHORT_WIDE
    built.materialize(requested)
    catalog = Catalog(Path(os.environ["NEURO_OMICS_WAREHOUSE"]))
    genes = set(catalog.query("select distinct gene_name from dnabert2.subject_embeddings")["gene_name"])
    assert genes == {*GENES, "MT-ND6"}
