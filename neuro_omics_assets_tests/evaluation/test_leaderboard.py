from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuro_omics_assets.errors import ConfigError
from neuro_omics_assets.evaluation.leaderboard import leaderboard


def held_out(encoder: str, strength: float, seed: int, folds: int = 3, n: int = 60):
    """Per-subject held-out variates (2 modes) and predictions; ``strength`` sets mode-1 r and R²."""
    rng = np.random.default_rng(seed)
    variates, predictions = [], []
    for fold in range(folds):
        ids = [f"S{fold}_{i}" for i in range(n)]
        u = rng.normal(size=(n, 2))
        v = u * [strength, 0.0] + rng.normal(size=(n, 2))
        for mode in (1, 2):
            variates.append(pd.DataFrame({"encoder": encoder, "subject_id": ids, "fold": fold, "mode": mode,
                                          "u": u[:, mode - 1], "v": v[:, mode - 1]}))
        y = rng.normal(size=n)
        predictions.append(pd.DataFrame({"encoder": encoder, "phenotype": "score", "metric": "r2", "subject_id": ids,
                                         "fold": fold, "y_true": y, "y_pred": strength * y + rng.normal(size=n) * 0.5}))
    return pd.concat(variates), pd.concat(predictions)


def test_two_encoders_side_by_side_with_paired_differences():
    strong, weak = held_out("caduceus", 2.0, 0), held_out("dnabert2", 0.3, 1)
    board = leaderboard(pd.concat([strong[0], weak[0]]), pd.concat([strong[1], weak[1]]), n_modes=2, n_boot=300)
    assert set(board["metric"]) == {"cca_r_test_mode1", "cca_r_test_mode2", "r2:score"}
    row = board.set_index(["metric", "encoder"]).loc[("cca_r_test_mode1", "dnabert2")]
    assert row["reference_encoder"] == "caduceus"  # first by name
    assert row["diff_vs_reference"] < 0 and row["diff_ci_high"] < 0  # clearly worse, and the CI says so
    # the reported mean is the mean over folds of the per-fold Pearson r (independent recomputation)
    v = weak[0][weak[0]["mode"] == 1]
    per_fold = [np.corrcoef(g["u"], g["v"])[0, 1] for _, g in v.groupby("fold")]
    assert row["mean"] == pytest.approx(np.mean(per_fold), abs=1e-12)
    assert row["ci_low"] < row["mean"] < row["ci_high"]
    assert np.allclose(row["fold_differences"], np.array(row["fold_values"]) - board.set_index(
        ["metric", "encoder"]).loc[("cca_r_test_mode1", "caduceus"), "fold_values"])


def test_one_encoder_works():
    variates, predictions = held_out("dnabert2", 1.0, 2)
    board = leaderboard(variates, predictions, n_boot=100)
    assert board["encoder"].unique().tolist() == ["dnabert2"]
    assert (board["diff_vs_reference"] == 0).all()


def test_different_folds_between_encoders_are_refused():
    a, b = held_out("dnabert2", 1.0, 0), held_out("caduceus", 1.0, 1)
    shifted = b[0].assign(fold=(b[0]["fold"] + 1) % 3)
    with pytest.raises(ConfigError, match="evaluated on different subjects or folds") as error:
        leaderboard(pd.concat([a[0], shifted]), pd.concat([a[1], b[1]]))
    assert "\n" not in str(error.value)


def test_without_phenotypes_only_the_canonical_correlations_are_ranked():
    variates, _ = held_out("dnabert2", 1.0, 3)
    no_predictions = pd.DataFrame(columns=["encoder", "phenotype", "metric", "subject_id", "fold", "y_true", "y_pred"])
    board = leaderboard(variates, no_predictions, n_modes=2, n_boot=50)
    assert board["metric"].tolist() == ["cca_r_test_mode1", "cca_r_test_mode2"]
