"""Encoders by name: the deployment file's [encoders.<name>] tables, or the single-model variables."""

from __future__ import annotations

import dagster as dg
import pytest

from neuro_omics_assets.defs import build_definitions
from neuro_omics_assets.defs.encoders import EncoderName, encoder_names, encoder_settings
from neuro_omics_assets.errors import ConfigError


@pytest.fixture
def no_encoder_env(monkeypatch):
    for name in ("NEURO_OMICS_DEPLOYMENT", "NEURO_OMICS_MODEL_DIR", "NEURO_OMICS_CADUCEUS_MODEL_DIR"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_are_the_two_demo_encoders_and_a_users_model_alone(no_encoder_env, tmp_path):
    assert [enc.name for enc in encoder_names()] == ["dnabert2", "caduceus_ps"]
    no_encoder_env.setenv("NEURO_OMICS_MODEL_DIR", str(tmp_path / "DNABERT-2-117M"))
    assert list(encoder_settings()) == ["dnabert2"]  # never compared with a demo Caduceus by default
    no_encoder_env.setenv("NEURO_OMICS_CADUCEUS_MODEL_DIR", str(tmp_path / "caduceus"))
    assert list(encoder_settings()) == ["dnabert2", "caduceus_ps"]


def test_deployment_file_names_the_encoders_and_their_settings(no_encoder_env, tmp_path):
    deployment = tmp_path / "deployment.toml"
    deployment.write_text('[encoders.dnabert2_fp32]\nmodel_dir = "/models/dnabert2"\ndtype = "float32"\n\n'
                          '[encoders.caduceus_ph]\nmodel_dir = "/models/caduceus-ph"\n')
    no_encoder_env.setenv("NEURO_OMICS_DEPLOYMENT", str(deployment))
    assert encoder_settings() == {"dnabert2_fp32": {"model_dir": "/models/dnabert2", "dtype": "float32"},
                                  "caduceus_ph": {"model_dir": "/models/caduceus-ph"}}
    defs = build_definitions()
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"dnabert2_fp32/gene_vectors", "caduceus_ph/residualized_embeddings"} <= keys
    assert defs.resources["encoder_dnabert2_fp32"].dtype == "float32"


@pytest.mark.parametrize("text, message", [
    ('[encoders."DNABERT 2"]\nmodel_dir = "/m"\n', "is not usable"),
    ('[encoders.main]\nmodel_dir = "/m"\n', "is not usable"),
    ('[encoders.dnabert2]\ndtype = "float32"\n', r"\[encoders.dnabert2\] model_dir is missing"),
    ("[encoders]\n", r"\[encoders\] is empty"),
    ("encoders = 3\n", "not a table"),
    ("[encoders.dnabert2\n", "is not valid TOML"),
])
def test_bad_deployment_files_are_refused_with_what_to_fix(no_encoder_env, tmp_path, text, message):
    deployment = tmp_path / "deployment.toml"
    deployment.write_text(text)
    no_encoder_env.setenv("NEURO_OMICS_DEPLOYMENT", str(deployment))
    with pytest.raises(ConfigError, match=message):
        encoder_settings()


def test_an_encoder_name_gives_key_table_and_resource():
    enc = EncoderName("caduceus_ps")
    assert enc.key("gene_vectors") == dg.AssetKey(["caduceus_ps", "gene_vectors"])
    assert (enc.asset("pca_basis"), enc.table("pca_basis"), enc.resource_key) == (
        "caduceus_ps/pca_basis", "caduceus_ps.pca_basis", "encoder_caduceus_ps")
