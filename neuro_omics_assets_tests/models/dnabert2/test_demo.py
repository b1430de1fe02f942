"""The demo model writer: official layout, deterministic bytes, loads back with O(1) hidden states."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from neuro_omics_assets.checksums import file_sha256
from neuro_omics_assets.models.dnabert2 import OFFICIAL_TOKENIZER_SHA256, load_dnabert2, write_demo_model
from neuro_omics_assets_tests.models.dnabert2.conftest import FIXTURE_DIR


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_demo_model(tmp_path_factory.mktemp("demo") / "model")


def test_layout_matches_the_official_directory(demo_dir: Path) -> None:
    assert sorted(p.name for p in demo_dir.iterdir()) == [
        "README.md",
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    for name in ("tokenizer.json", "tokenizer_config.json"):
        assert (demo_dir / name).read_bytes() == (FIXTURE_DIR / name).read_bytes()
    assert file_sha256(demo_dir / "tokenizer.json") == OFFICIAL_TOKENIZER_SHA256
    assert (
        json.loads((demo_dir / "config.json").read_text()).keys()
        == json.loads((FIXTURE_DIR / "config.json").read_text()).keys()
    )
    with safe_open(demo_dir / "model.safetensors", "pt") as weights:
        demo_keys = set(weights.keys())
    with safe_open(FIXTURE_DIR / "model.safetensors", "pt") as weights:
        assert demo_keys == set(weights.keys())  # same 32 official keys, same shapes' names
    assert "NOT DNABERT-2 weights" in (demo_dir / "README.md").read_text()


def test_round_trip_gives_order_one_hidden_states(demo_dir: Path) -> None:
    encoder = load_dnabert2(demo_dir)
    config = encoder.config
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (64, 2, 4)
    batch = encoder.tokenize(["ACGTAGCATCGGATCTATCTATCGACACTTGGTTATCG" * 5, "GATTACA"])
    hidden = encoder.hidden_states(batch["input_ids"], batch["attention_mask"])
    real = hidden[batch["attention_mask"].bool()]
    assert torch.isfinite(real).all()
    assert 0.5 < float(real.std()) < 2.0  # post-LN with gains ~1: unit scale
    logits = encoder.mlm_logits(batch["input_ids"], batch["attention_mask"])
    assert logits.shape == (2, batch["input_ids"].shape[1], 4096) and torch.isfinite(logits).all()


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path, demo_dir: Path) -> None:
    again = write_demo_model(tmp_path / "again")
    other = write_demo_model(tmp_path / "other", seed=1)
    weights = (demo_dir / "model.safetensors").read_bytes()
    assert (again / "model.safetensors").read_bytes() == weights
    assert (other / "model.safetensors").read_bytes() != weights


def test_shape_arguments_reach_config_and_weights(tmp_path: Path) -> None:
    model_dir = write_demo_model(tmp_path, hidden_size=48, num_layers=3, num_heads=6, intermediate_size=96)
    config = json.loads((model_dir / "config.json").read_text())
    assert (config["hidden_size"], config["num_hidden_layers"], config["num_attention_heads"]) == (48, 3, 6)
    assert config["intermediate_size"] == 96 and config["vocab_size"] == 4096
    with safe_open(model_dir / "model.safetensors", "pt") as weights:
        assert weights.get_slice("bert.encoder.layer.2.mlp.gated_layers.weight").get_shape() == [192, 48]
    assert load_dnabert2(model_dir).num_parameters > 0
