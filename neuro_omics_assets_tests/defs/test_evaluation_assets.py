"""The evaluation group through Dagster: brain features → gene–brain CCA, prediction → leaderboard.

The cohort tables the evaluation reads (covariates, subject_folds, residualized_embeddings and the
covariates' lineage) are written straight into a fresh warehouse from seeded synthetic arrays with a
planted gene–brain mode, so the test runs without the model.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from neuro_omics_assets.cohort.folds import assign_folds
from neuro_omics_assets.cohort.residualize import apply, fit_residualizer
from neuro_omics_assets.defs import build_definitions
from neuro_omics_assets.defs.instance import prepare_dagster_home
from neuro_omics_assets.warehouse import UNPARTITIONED, Catalog, LineageRecord
from neuro_omics_assets.warehouse.cohort_tables import residualized_table, subject_folds_table

from ..evaluation.synthetic import cohort_arrays, planted_rho

N, GENES, BRAIN, EFFECT = 300, 12, 10, 1.5
RUN_CONFIG = {"ops": {
    "brain_features": {"config": {"brain_components": 6}},
    "dnabert2__gene_brain_cca": {"config": {"n_gene_components": 8, "n_permutations": 200}},
    "dnabert2__phenotype_prediction": {"config": {"n_gene_components": 8, "n_permutations": 5}},
    "encoder_leaderboard": {"config": {"n_boot": 200}},
}}


def _write_cohort(root, catalog: Catalog):
    ids, gene, brain, design, blocks = cohort_arrays(N, GENES, BRAIN, EFFECT, seed=11, n_blocks=3)
    covariates = pd.DataFrame({"subject_id": ids, "age": design[:, 1], "sex": np.where(design[:, 2] > 0, "M", "F"),
                               "site": blocks})
    catalog.write_partition("covariates", UNPARTITIONED, pa.Table.from_pandas(covariates, preserve_index=False))
    settings = {"covariate_columns": ["age", "sex"], "categorical_columns": ["sex", "site"], "label_column": None,
                "group_column": "site", "missing": "error"}
    catalog.record_lineage(LineageRecord(asset_key="covariates", partition=UNPARTITIONED, run_id="test",
                                         code_version="test", rows=N, written_at=datetime.now(UTC), path="",
                                         input_checksums={}, metadata=settings))
    folds = assign_folds(ids, 5, 42)
    catalog.write_partition("subject_folds", UNPARTITIONED, subject_folds_table(folds))
    parts = []
    for fold in range(5):
        test = folds.table["test_fold"].to_numpy() == fold
        model = fit_residualizer(gene[~test], design[~test])
        parts += [residualized_table(fold, split, [ids[i] for i in np.flatnonzero(rows)], apply(model, gene[rows], design[rows]))
                  for split, rows in (("train", ~test), ("test", test))]
    catalog.write_partition("dnabert2.residualized_embeddings", UNPARTITIONED, pa.concat_tables(parts))
    frame = pd.DataFrame(brain, columns=[f"bfm_{j}" for j in range(BRAIN)]).assign(subject_id=ids, synthetic="true")
    frame.to_csv(root / "brain.tsv", sep="\t", index=False)
    latent = gene[:, 0] - design @ np.linalg.lstsq(design, gene[:, 0], rcond=None)[0]
    noise = np.random.default_rng(1).normal(size=N)
    pd.DataFrame({"subject_id": ids, "score": latent / latent.std() + noise,
                  "dx": np.where(latent + noise > 0, "case", "control")}).to_csv(root / "phenotypes.csv", index=False)


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluation")
    catalog = Catalog(root / "warehouse")
    _write_cohort(root, catalog)
    with pytest.MonkeyPatch.context() as env:
        for name, value in {"DAGSTER_HOME": root / "dagster_home", "NEURO_OMICS_WAREHOUSE": root / "warehouse",
                            "NEURO_OMICS_BRAIN_FEATURES": root / "brain.tsv",
                            "NEURO_OMICS_PHENOTYPES": root / "phenotypes.csv",
                            "NEURO_OMICS_PHENOTYPE_COLUMNS": "score:continuous,dx:binary",
                            # one encoder (dnabert2): its residualized_embeddings are written above
                            "NEURO_OMICS_MODEL_DIR": root / "dnabert2-model"}.items():
            env.setenv(name, str(value))
        prepare_dagster_home()
        defs = build_definitions()
        with dg.DagsterInstance.get() as instance:
            result = defs.resolve_job_def("evaluation_job").execute_in_process(instance=instance, run_config=RUN_CONFIG)
            yield {"catalog": catalog, "instance": instance, "result": result}


def test_planted_mode_found_on_held_out_subjects_through_dagster(evaluated):
    assert evaluated["result"].success
    heldout = evaluated["catalog"].query("SELECT mode, mean_r_test, p_value FROM gene_brain_cca_heldout "
                                         "WHERE encoder = 'dnabert2' ORDER BY mode")
    assert abs(heldout["mean_r_test"].iloc[0] - planted_rho(EFFECT)) < 0.12 and heldout["p_value"].iloc[0] < 0.01
    assert heldout["p_value"].iloc[1:].min() > 0.01
    folds = evaluated["catalog"].query("SELECT fold, p_fwer, n_gene_components, n_brain_components FROM gene_brain_cca "
                                       "WHERE mode = 1")
    assert len(folds) == 5 and (folds["p_fwer"] < 0.01).all()
    assert set(folds["n_gene_components"]) == {8} and set(folds["n_brain_components"]) == {6}


def test_prediction_and_leaderboard_tables(evaluated):
    catalog = evaluated["catalog"]
    scores = catalog.query("SELECT phenotype, metric, avg(score) AS score, any_value(p_value) AS p "
                           "FROM phenotype_prediction GROUP BY ALL ORDER BY phenotype")
    assert scores["metric"].tolist() == ["auc", "r2"]
    assert scores["score"].iloc[0] > 0.65 and scores["score"].iloc[1] > 0.2
    assert scores["p"].iloc[1] == pytest.approx(1 / 6)  # none of the 5 permutations beats the observed R²
    board = catalog.query("SELECT metric, encoder, mean, ci_low, ci_high FROM encoder_leaderboard ORDER BY metric")
    assert board["metric"].tolist() == ["auc:dx", "cca_r_test_mode1", "cca_r_test_mode2", "cca_r_test_mode3", "r2:score"]
    assert (board["ci_low"] <= board["mean"]).all() and (board["mean"] <= board["ci_high"]).all()


def test_brain_features_are_fitted_per_fold_and_recorded(evaluated):
    catalog = evaluated["catalog"]
    rows = catalog.query("SELECT fold, split, count(*) AS n, any_value(len(vector)) AS width FROM brain_features "
                         "GROUP BY ALL ORDER BY fold, split")
    assert len(rows) == 10 and set(rows["width"]) == {6} and rows.groupby("fold")["n"].sum().eq(N).all()
    lineage = catalog.lineage("brain_features")
    assert "brain_features_sha256" in lineage["input_checksums"].iloc[-1]
    event = evaluated["instance"].get_latest_materialization_event(dg.AssetKey(["dnabert2", "gene_brain_cca"]))
    metadata = event.asset_materialization.metadata
    assert metadata["null_vs_observed_fold_0"].value.startswith("![plot](data:image/png;base64,")
    assert metadata["group_column"].value == "site"
