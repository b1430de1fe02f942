"""The cross-species group through Dagster: the bundled human and mouse chrM pilot with the demo model.

The stored numbers are recomputed here from the stored vectors and pairs (cosine ranks, MRR, AUROC with
scikit-learn), independently of ``cross_species.metrics``.
"""

from __future__ import annotations

import dagster as dg
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from neuro_omics_assets.defs import build_definitions
from neuro_omics_assets.defs.instance import prepare_dagster_home
from neuro_omics_assets.defs.jobs import partition_range_tags
from neuro_omics_assets.warehouse import UNPARTITIONED, Catalog
from neuro_omics_assets.warehouse.schemas import vectors_from_arrow


@pytest.fixture(scope="module")
def pilot(tmp_path_factory, demo_model_dir):
    root = tmp_path_factory.mktemp("cross_species")
    with pytest.MonkeyPatch.context() as env:
        for name, value in {"DAGSTER_HOME": root / "dagster_home", "NEURO_OMICS_WAREHOUSE": root / "warehouse",
                            "NEURO_OMICS_CACHE_DIR": root / "cache", "NEURO_OMICS_MODEL_DIR": demo_model_dir,
                            "NEURO_OMICS_DEVICE": "cpu"}.items():
            env.setenv(name, str(value))
        env.delenv("NEURO_OMICS_DEPLOYMENT", raising=False)  # the bundled pilot
        prepare_dagster_home()
        defs = build_definitions()
        with dg.DagsterInstance.get() as instance:
            genomes = defs.resolve_job_def("cross_species_genomes_job")
            assert genomes.partitions_def.get_partition_keys() == ["human", "mouse"]
            assert genomes.execute_in_process(instance=instance, tags=partition_range_tags("human", "mouse")).success
            assert defs.resolve_job_def("cross_species_job").execute_in_process(instance=instance).success
            yield {"catalog": Catalog(root / "warehouse"), "instance": instance}


def _vectors(catalog: Catalog, genome: str) -> tuple[list[str], np.ndarray]:
    table = catalog.read_partition("dnabert2.species_gene_vectors", genome)
    return table["gene_id"].to_pylist(), vectors_from_arrow(table["embedding"]).astype(np.float64)


def test_each_genome_is_read_from_its_own_files(pilot):
    catalog = pilot["catalog"]
    counts = catalog.query("select genome, count(*) as n, count(distinct contig) as contigs from species_gene_sequences "
                           "group by genome order by genome")
    assert counts.to_dict("list") == {"genome": ["human", "mouse"], "n": [37, 37], "contigs": [1, 1]}
    names = catalog.query("select genome, gene_name from species_gene_sequences where gene_name in ('MT-CO1', 'mt-Co1')")
    assert sorted(map(tuple, names.to_numpy())) == [("human", "MT-CO1"), ("mouse", "mt-Co1")]


def test_ranks_mrr_and_auroc_equal_an_independent_computation(pilot):
    catalog = pilot["catalog"]
    pairs = catalog.read_partition("ortholog_pairs", UNPARTITIONED).to_pandas()
    assert len(pairs) == 37 and catalog.read_partition("ortholog_pair_report", UNPARTITIONED).num_rows == 0
    human_ids, human = _vectors(catalog, "human")
    mouse_ids, mouse = _vectors(catalog, "mouse")
    cosine = (human / np.linalg.norm(human, axis=1, keepdims=True)) @ (mouse / np.linalg.norm(mouse, axis=1,
                                                                                              keepdims=True)).T
    rows = [human_ids.index(g) for g in pairs["gene_id_a"]]
    columns = [mouse_ids.index(g) for g in pairs["gene_id_b"]]
    expected = {h: int((cosine[i] >= cosine[i, j]).sum()) for h, i, j in zip(pairs["gene_id_a"], rows, columns,
                                                                              strict=True)}
    stored = catalog.query("select query_gene_id, rank from ortholog_ranks where encoder = 'dnabert2' and "
                           "vectors = 'model' and direction = 'human->mouse'").set_index("query_gene_id")["rank"]
    assert stored.to_dict() == expected
    metrics = catalog.query("select metric, value, p_value, n_permutations from ortholog_transfer where "
                            "encoder = 'dnabert2' and vectors = 'model' and direction in ('human->mouse', "
                            "'human<->mouse')").set_index("metric")
    assert metrics.loc["mrr", "value"] == pytest.approx(np.mean([1 / r for r in expected.values()]), abs=1e-12)
    assert metrics.loc["top1", "value"] == pytest.approx(np.mean([r == 1 for r in expected.values()]), abs=1e-12)
    is_ortholog = np.zeros_like(cosine, dtype=bool)
    is_ortholog[rows, columns] = True
    assert metrics.loc["auroc", "value"] == pytest.approx(roc_auc_score(is_ortholog.ravel(), cosine.ravel()), abs=1e-9)
    assert set(metrics["n_permutations"]) == {1000} and metrics["p_value"].between(1 / 1001, 1).all()


def test_controls_baselines_and_lineage_are_stored(pilot):
    catalog, instance = pilot["catalog"], pilot["instance"]
    kinds = catalog.query("select distinct vectors from ortholog_transfer order by vectors")["vectors"].tolist()
    assert kinds == ["kmer", "model", "shuffled"]
    classified = catalog.query("select vectors, direction, accuracy from zero_shot_classification where "
                               "encoder = 'dnabert2' order by vectors, direction")
    assert set(classified["vectors"]) == {"kmer", "majority", "model", "shuffled"}
    assert len(classified) == 8 and classified["accuracy"].between(0, 1).all()
    majority = classified[classified["vectors"] == "majority"].set_index("direction")["accuracy"]
    assert majority["human->mouse"] == pytest.approx(22 / 37)  # 22 tRNA genes in mouse chrM
    lineage = catalog.lineage()
    assert {"dnabert2/species_gene_vectors", "dnabert2/ortholog_transfer", "dnabert2/zero_shot_classification",
            "ortholog_pairs", "species_gene_sequences"} <= set(lineage["asset_key"])
    event = instance.get_latest_materialization_event(dg.AssetKey(["dnabert2", "ortholog_transfer"]))
    metadata = event.asset_materialization.metadata
    assert metadata["similarity_heatmap"].value.startswith("![plot](data:image/png;base64,")
    assert metadata["model_sha256"].value == catalog.partition_metadata("dnabert2.species_gene_vectors",
                                                                        "mouse")["model_sha256"]
