"""models.registry: the family of a model directory, one loader and one description for both families."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from neuro_omics_assets.checksums import file_sha256
from neuro_omics_assets.errors import ConfigError, ModelLoadError
from neuro_omics_assets.models import EngineTraits, describe
from neuro_omics_assets.models.caduceus import CaduceusEncoder, write_demo_model
from neuro_omics_assets.models.dnabert2 import Dnabert2Encoder
from neuro_omics_assets.models.registry import describe_model, load_encoder, model_family

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DNABERT2_DIR, CADUCEUS_PS_DIR = FIXTURES / "dnabert2-tiny", FIXTURES / "caduceus-ps-tiny"


@pytest.fixture(scope="module")
def ph_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_demo_model(tmp_path_factory.mktemp("caduceus-ph"), rcps=False, model_max_length=1024)


def test_the_family_is_read_from_config_json(ph_dir: Path) -> None:
    assert model_family(DNABERT2_DIR) == "dnabert2"  # no model_type, auto_map names configuration_bert
    assert model_family(CADUCEUS_PS_DIR) == model_family(ph_dir) == "caduceus"


@pytest.mark.parametrize(
    "config",
    [
        {"model_type": "bert", "hidden_size": 8},  # an older DNABERT-2 hub revision said model_type bert
        {"hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 1, "intermediate_size": 8, "vocab_size": 8},
    ],
)
def test_dnabert2_configs_without_auto_map_are_recognised(config: dict, tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert model_family(tmp_path) == "dnabert2"


def test_a_directory_of_another_model_is_refused_naming_the_file_and_what_it_holds(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama", "auto_map": {"AutoConfig": "x.Y"}}))
    with pytest.raises(ConfigError, match=r"config.json is neither a DNABERT-2 nor a Caduceus config: model_type='llama', "
                                          r"auto_map.AutoConfig='x.Y'"):
        model_family(tmp_path)
    with pytest.raises(ModelLoadError, match="does not exist"):
        model_family(tmp_path / "missing")


@pytest.mark.parametrize(
    ("model_dir", "kind", "name", "kernel"),
    [
        (DNABERT2_DIR, Dnabert2Encoder, "dnabert2", "sdpa"),
        (CADUCEUS_PS_DIR, CaduceusEncoder, "caduceus_ps", "numba"),  # scan="auto" on CPU resolves to numba
        ("ph", CaduceusEncoder, "caduceus_ph", "numba"),
    ],
)
def test_the_description_without_weights_equals_the_loaded_encoder(
    model_dir: Path | str, kind: type, name: str, kernel: str, ph_dir: Path
) -> None:
    model_dir = ph_dir if model_dir == "ph" else model_dir
    encoder = load_encoder(model_dir, device="cpu", dtype="float32")
    assert isinstance(encoder, kind)
    described = describe_model(model_dir, device="cpu", dtype="float32")
    assert described == describe(encoder) and (described.name, described.kernel) == (name, kernel)


def test_engine_traits_of_each_family(ph_dir: Path) -> None:
    assert describe_model(DNABERT2_DIR, "cpu", "float32").traits == EngineTraits(
        vector_size=64, special_tokens=2, has_cls=True, default_window_tokens=2048, max_window_tokens=None,
        rc_equivariant=False,
    )
    assert describe_model(CADUCEUS_PS_DIR, "cpu", "float32").traits == EngineTraits(
        vector_size=32,  # d_model: the PS halves fold into one
        special_tokens=1, has_cls=False, default_window_tokens=131072, max_window_tokens=131072, rc_equivariant=True,
    )
    ph = describe_model(ph_dir, "cpu", "float32").traits
    assert (ph.default_window_tokens, ph.max_window_tokens, ph.rc_equivariant, ph.vector_size) == (1024, 1024, False, 32)


def test_the_scan_setting_is_checked_not_switched(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="scan='mamba_ssm' runs on CUDA only"):
        describe_model(CADUCEUS_PS_DIR, device="cpu", scan="mamba_ssm")
    assert describe_model(CADUCEUS_PS_DIR, device="cpu", scan="reference").kernel == "reference"


def test_the_description_checksums_the_weights_file_the_loader_would_read(tmp_path: Path) -> None:
    model_dir = shutil.copytree(CADUCEUS_PS_DIR, tmp_path / "model")
    assert describe_model(model_dir, "cpu").model_sha256 == file_sha256(model_dir / "model.safetensors")
    (model_dir / "model.safetensors").unlink()  # then pytorch_model.bin, as load_caduceus
    assert describe_model(model_dir, "cpu").model_sha256 == file_sha256(model_dir / "pytorch_model.bin")
    assert describe(load_encoder(model_dir, "cpu")).model_sha256 == file_sha256(model_dir / "pytorch_model.bin")
