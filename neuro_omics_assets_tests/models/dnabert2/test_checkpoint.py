"""Loading model directories: both weight formats, key variants, and errors that name the problem."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from neuro_omics_assets.errors import ModelLoadError, TokenizerError
from neuro_omics_assets.models.dnabert2 import load_dnabert2
from neuro_omics_assets_tests.models.dnabert2.conftest import FIXTURE_DIR, copy_fixture, fixture_state

LAYER0_QKV = "bert.encoder.layer.0.attention.self.Wqkv.weight"


def _hidden(model_dir: Path, expected: dict[str, np.ndarray], prefix: str = "batch2") -> np.ndarray:
    encoder = load_dnabert2(model_dir)
    ids, mask = (torch.from_numpy(expected[f"{prefix}_{name}"]) for name in ("input_ids", "attention_mask"))
    return encoder.hidden_states(ids, mask).numpy()


def test_pytorch_model_bin_when_there_is_no_safetensors(tmp_path: Path, expected) -> None:
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "pytorch_model.bin"):
        shutil.copyfile(FIXTURE_DIR / name, tmp_path / name)
    encoder = load_dnabert2(tmp_path)
    assert encoder.model_sha256 == hashlib.sha256((tmp_path / "pytorch_model.bin").read_bytes()).hexdigest()
    np.testing.assert_allclose(_hidden(tmp_path, expected), expected["batch2_last_hidden_state"], atol=1e-5)
    logits = encoder.mlm_logits(torch.from_numpy(expected["seq0_input_ids"])).numpy()
    np.testing.assert_allclose(logits, expected["seq0_mlm_logits"], atol=5e-5)  # tolerance: see test_model.py


def test_safetensors_is_preferred_and_hashed() -> None:
    encoder = load_dnabert2(FIXTURE_DIR)
    assert (
        encoder.model_sha256 == hashlib.sha256((FIXTURE_DIR / "model.safetensors").read_bytes()).hexdigest()
    )


def test_keys_without_bert_prefix_and_without_head(tmp_path: Path, expected) -> None:
    state = {k.removeprefix("bert."): v for k, v in fixture_state().items() if not k.startswith("cls.")}
    copy_fixture(tmp_path, state)
    np.testing.assert_allclose(_hidden(tmp_path, expected), expected["batch2_last_hidden_state"], atol=1e-5)
    with pytest.raises(ModelLoadError, match=r"no cls\.predictions\.\* tensors"):
        load_dnabert2(tmp_path).mlm_logits(torch.from_numpy(expected["seq0_input_ids"]))


def test_tied_decoder_weight_may_be_absent_and_a_pooler_is_ignored(tmp_path: Path, expected) -> None:
    state = fixture_state()
    del state["cls.predictions.decoder.weight"]
    state["bert.pooler.dense.weight"] = torch.zeros(64, 64)
    state["bert.pooler.dense.bias"] = torch.zeros(64)
    encoder = load_dnabert2(copy_fixture(tmp_path, state))
    logits = encoder.mlm_logits(torch.from_numpy(expected["seq0_input_ids"])).numpy()
    np.testing.assert_allclose(logits, expected["seq0_mlm_logits"], atol=5e-5)


@pytest.mark.parametrize("missing", ["config.json", "tokenizer.json"])
def test_missing_directory_file_is_named(tmp_path: Path, missing: str) -> None:
    (copy_fixture(tmp_path) / missing).unlink()
    with pytest.raises(
        ModelLoadError, match=rf"{missing} is missing .*DNABERT-2-117M.*neuro-omics demo-model"
    ):
        load_dnabert2(tmp_path)


def test_missing_weights_file(tmp_path: Path) -> None:
    (copy_fixture(tmp_path) / "model.safetensors").unlink()
    with pytest.raises(
        ModelLoadError,
        match=r"holds no weights \(looked for model\.safetensors or pytorch_model\.bin\).*DNABERT-2-117M",
    ):
        load_dnabert2(tmp_path)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist.*demo-model"):
        load_dnabert2(tmp_path / "nowhere")


def test_missing_tensor_is_named(tmp_path: Path) -> None:
    state = fixture_state()
    del state[LAYER0_QKV]
    with pytest.raises(
        ModelLoadError, match=rf"model\.safetensors does not fit .*missing 1 \({LAYER0_QKV}\)"
    ):
        load_dnabert2(copy_fixture(tmp_path, state))


def test_extra_layer_tensors_are_unexpected(tmp_path: Path) -> None:
    state = fixture_state()
    for key in [k for k in state if ".layer.1." in k]:
        state[key.replace(".layer.1.", ".layer.2.")] = state[key].clone()
    with pytest.raises(
        ModelLoadError, match=r"2 layers.*unexpected 11 \(bert\.encoder\.layer\.2\..* and 6 more\)"
    ):
        load_dnabert2(copy_fixture(tmp_path, state))


def test_misshaped_tensor_shows_both_shapes(tmp_path: Path) -> None:
    state = fixture_state()
    state[LAYER0_QKV] = torch.zeros(96, 64)
    with pytest.raises(
        ModelLoadError, match=rf"wrong shape \(file vs config\) 1 \({LAYER0_QKV} \[96, 64\] vs \[192, 64\]\)"
    ):
        load_dnabert2(copy_fixture(tmp_path, state))


def test_partial_mlm_head_is_reported(tmp_path: Path) -> None:
    state = fixture_state()
    del state["cls.predictions.transform.dense.weight"]
    with pytest.raises(ModelLoadError, match=r"missing 1 \(cls\.predictions\.transform\.dense\.weight\)"):
        load_dnabert2(copy_fixture(tmp_path, state))


def test_tokenizer_vocab_must_equal_config_vocab(tmp_path: Path) -> None:
    copy_fixture(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["vocab_size"] = 4100
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(TokenizerError, match="has 4096 tokens but .*config.json says vocab_size 4100"):
        load_dnabert2(tmp_path)


def test_truncated_weights_file(tmp_path: Path) -> None:
    copy_fixture(tmp_path)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ModelLoadError, match="cannot be read .*fetch it again"):
        load_dnabert2(tmp_path)


def test_rewriting_the_weights_file_after_loading_changes_nothing(tmp_path: Path, expected) -> None:
    weights = copy_fixture(tmp_path) / "model.safetensors"
    encoder = load_dnabert2(tmp_path)
    with open(weights, "r+b") as handle:  # in place, same inode: a memory-mapped model would see this
        handle.seek(4096)
        handle.write(b"\0" * (weights.stat().st_size - 4096))
    ids, mask = (torch.from_numpy(expected[f"batch2_{name}"]) for name in ("input_ids", "attention_mask"))
    hidden = encoder.hidden_states(ids, mask).numpy()
    np.testing.assert_allclose(hidden, expected["batch2_last_hidden_state"], atol=1e-5)
