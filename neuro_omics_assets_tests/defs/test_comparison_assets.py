"""Two encoders through Dagster (the demo DNABERT-2 and Caduceus-PS models): every asset per encoder, and
``encoder_comparison`` checked against an independent computation from the stored vectors."""

from __future__ import annotations

import dagster as dg
import numpy as np
import pytest

from neuro_omics_assets.defs import build_definitions
from neuro_omics_assets.defs.instance import prepare_dagster_home
from neuro_omics_assets.defs.jobs import partition_range_tags
from neuro_omics_assets.errors import ConfigError
from neuro_omics_assets.genome.chunks import chunk_key, gene_chunk
from neuro_omics_assets.warehouse import UNPARTITIONED, Catalog

from ..conftest import CHRM_FASTA, CHRM_GTF

GENES = ("MT-ND6", "MT-CO1", "MT-CO2", "MT-ND4L", "MT-CYB", "MT-ATP8", "MT-RNR1")
ENCODERS = ("dnabert2", "caduceus_ps")
REPORT_CONFIG = {"ops": {"encoder_comparison": {"config": {"n_permutations": 500}}}}  # k 10 capped at G - 2 = 5


@pytest.fixture(scope="module")
def compared(tmp_path_factory, demo_model_dir, demo_caduceus_model_dir):
    root = tmp_path_factory.mktemp("two_encoders")
    (root / "genes.txt").write_text("\n".join(GENES) + "\n")
    with pytest.MonkeyPatch.context() as env:
        for name, value in {"DAGSTER_HOME": root / "dagster_home", "NEURO_OMICS_WAREHOUSE": root / "warehouse",
                            "NEURO_OMICS_CACHE_DIR": root / "cache", "NEURO_OMICS_MODEL_DIR": demo_model_dir,
                            "NEURO_OMICS_CADUCEUS_MODEL_DIR": demo_caduceus_model_dir,
                            "NEURO_OMICS_FASTA": CHRM_FASTA, "NEURO_OMICS_GTF": CHRM_GTF,
                            "NEURO_OMICS_GENE_LIST": root / "genes.txt", "NEURO_OMICS_DEVICE": "cpu",
                            "NEURO_OMICS_SCAN": "reference"}.items():
            env.setenv(name, str(value))
        prepare_dagster_home()
        defs = build_definitions()
        catalog = Catalog(root / "warehouse")
        with dg.DagsterInstance.get() as instance:
            assert defs.resolve_job_def("reference_job").execute_in_process(instance=instance).success
            chunks = sorted(catalog.query("select distinct chunk from genes")["chunk"].map(chunk_key))
            assert defs.resolve_job_def("gene_chunks_job").execute_in_process(
                instance=instance, tags=partition_range_tags(chunks[0], chunks[-1])).success
            assert defs.resolve_job_def("embedding_report_job").execute_in_process(instance=instance,
                                                                                  run_config=REPORT_CONFIG).success
            yield {"defs": defs, "instance": instance, "catalog": catalog}


def _vectors(catalog: Catalog, encoder: str) -> np.ndarray:
    frame = catalog.query(f"select g.gene_id, v.embedding from genes g join {encoder}.gene_vectors v using (gene_id) "
                          "order by g.manifest_index")
    return np.stack(frame["embedding"].to_numpy()).astype(np.float64)


def test_each_encoder_has_its_own_tables_of_its_own_width(compared):
    catalog = compared["catalog"]
    widths = {enc: catalog.query(f"select distinct len(embedding) as w from {enc}.gene_vectors")["w"].tolist()
              for enc in ENCODERS}
    assert widths == {"dnabert2": [64], "caduceus_ps": [32]}  # demo models; Caduceus-PS: d_model after folding
    identities = {enc: catalog.lineage(f"{enc}/gene_vectors")["metadata"].str.extract(r'"encoder": "(\w+)"')[0]
                  .unique().tolist() for enc in ENCODERS}
    assert identities == {"dnabert2": ["dnabert2"], "caduceus_ps": ["caduceus_ps"]}


def test_rc_agreement_is_one_for_caduceus_ps_and_below_for_dnabert2(compared):
    summary = compared["catalog"].query("select * from encoder_rc_summary").set_index("encoder")
    assert summary.loc["caduceus_ps", "rc_handling"] == "equivariant"
    assert summary.loc["caduceus_ps", "max_deviation"] < 1e-6
    assert summary.loc["dnabert2", "rc_handling"] == "posthoc_average"
    assert summary.loc["dnabert2", "mean"] < 0.999 and summary["n_genes"].tolist() == [len(GENES)] * 2


def test_cka_and_similarity_rank_correlation_equal_an_independent_computation(compared):
    from scipy.stats import spearmanr

    catalog = compared["catalog"]
    x, y = _vectors(catalog, "dnabert2"), _vectors(catalog, "caduceus_ps")
    n = len(x)
    centring = np.eye(n) - np.ones((n, n)) / n
    kx, ky = centring @ x @ x.T @ centring, centring @ y @ y.T @ centring  # HSIC with linear kernels
    cka = np.sum(kx * ky) / np.sqrt(np.sum(kx * kx) * np.sum(ky * ky))
    unit = [m / np.linalg.norm(m, axis=1, keepdims=True) for m in (x, y)]
    upper = np.triu_indices(n, 1)
    rho = spearmanr((unit[0] @ unit[0].T)[upper], (unit[1] @ unit[1].T)[upper]).statistic
    pair = catalog.query("select * from encoder_pairs").iloc[0]
    assert (pair["encoder_a"], pair["encoder_b"], pair["n_genes"]) == ("dnabert2", "caduceus_ps", len(GENES))
    assert pair["cka"] == pytest.approx(cka, abs=1e-9)
    assert pair["rank_correlation"] == pytest.approx(rho, abs=1e-9)
    assert 1 / 501 <= pair["cka_p_value"] <= 1 and pair["k_neighbours"] == len(GENES) - 2


def test_a_comparison_over_different_genes_is_refused(compared):
    catalog, defs, instance = compared["catalog"], compared["defs"], compared["instance"]
    gone = chunk_key(gene_chunk("ENSG00000198695"))  # MT-ND6's chunk, dropped for caduceus_ps only
    assert catalog.delete_partition("caduceus_ps.gene_vectors", gone)
    with pytest.raises(ConfigError, match="ENSG00000198695"):
        defs.resolve_job_def("embedding_report_job").execute_in_process(
            instance=instance, asset_selection=[dg.AssetKey("encoder_comparison")], run_config=REPORT_CONFIG)
    assert catalog.read_partition("encoder_pairs", UNPARTITIONED).num_rows == 1  # the former result stays
