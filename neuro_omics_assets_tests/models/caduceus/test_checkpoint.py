"""Loading official directories: both weight files, tied tensors, PS vs PH key layouts, typed errors."""

from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from neuro_omics_assets.errors import ModelLoadError, TokenizerError
from neuro_omics_assets.models.caduceus import load_caduceus
from neuro_omics_assets.models.caduceus.checkpoint import tied_aliases
from neuro_omics_assets.models.caduceus.config import CaduceusConfig
from neuro_omics_assets_tests.models.caduceus.conftest import FIXTURE_DIR, copy_fixture, fixture_state

EMBEDDING_PS = "caduceus.backbone.embeddings.word_embeddings.embedding.weight"
IN_PROJ_0 = "caduceus.backbone.layers.0.mixer.submodule.mamba_fwd.in_proj.weight"


def _bin_only(tmp_path):
    dest = tmp_path / "bin"
    dest.mkdir()
    for name in ("config.json", "tokenizer_config.json", "pytorch_model.bin"):
        shutil.copyfile(FIXTURE_DIR / name, dest / name)
    return dest


def test_pytorch_model_bin_alone_matches_the_fixture(tmp_path, expected) -> None:
    encoder = load_caduceus(_bin_only(tmp_path), device="cpu", dtype="float32", scan="numba")
    assert encoder.model_sha256 != load_caduceus(FIXTURE_DIR, device="cpu", dtype="float32").model_sha256
    ids = torch.from_numpy(expected["batch3.input_ids"])
    np.testing.assert_allclose(
        encoder.hidden_states(ids).numpy(), expected["batch3.last_hidden_state"], atol=1e-4
    )
    np.testing.assert_allclose(encoder.mlm_logits(ids).numpy(), expected["batch3.logits"], atol=1e-4)


def test_bin_holds_the_tied_aliases_the_safetensors_file_omits() -> None:
    config = CaduceusConfig.from_json(FIXTURE_DIR / "config.json")
    aliases = tied_aliases(config)
    assert len(aliases) == 1 + 2 * config.n_layer  # lm_head + reverse in/out_proj per layer
    stored = set(load_file(FIXTURE_DIR / "model.safetensors"))
    in_bin = set(torch.load(FIXTURE_DIR / "pytorch_model.bin", map_location="cpu", weights_only=True))
    assert stored.isdisjoint(aliases)
    assert in_bin == stored | set(aliases)


def test_ps_and_ph_key_layouts_differ(ph_dir) -> None:
    ps, ph = set(fixture_state()), set(load_file(ph_dir / "model.safetensors"))
    assert EMBEDDING_PS in ps and "caduceus.backbone.embeddings.word_embeddings.weight" in ph
    assert all(".mixer.submodule.mamba_" in k for k in ps if ".mixer." in k)
    assert not any(".submodule." in k or "complement_map" in k for k in ph)
    assert {k for k in ps if "complement_map" in k} == {
        "caduceus.backbone.embeddings.word_embeddings.complement_map",
        "lm_head.complement_map",
    }
    # same tensors otherwise: 17 per layer, embedding, norm_f (PS adds the two buffers)
    assert len(ps) == 1 + 17 * 2 + 1 + 2 and len(ph) == 1 + 17 * 2 + 1
    strip = {k.replace("mixer.submodule.", "mixer.").replace("embedding.weight", "weight") for k in ps}
    assert strip - {k for k in strip if "complement_map" in k} == ph


def test_weights_of_the_other_variant_are_refused_with_the_layout_named(tmp_path, ph_dir) -> None:
    dest = copy_fixture(tmp_path / "mixed", state=load_file(ph_dir / "model.safetensors"))
    with pytest.raises(ModelLoadError, match="Caduceus-PH key layout but config.json says rcps=true"):
        load_caduceus(dest, device="cpu")
    ph_config = json.loads((ph_dir / "config.json").read_text())
    ph_config["d_model"] = 32
    (dest / "config.json").write_text(json.dumps(ph_config))
    shutil.copyfile(FIXTURE_DIR / "model.safetensors", dest / "model.safetensors")
    with pytest.raises(ModelLoadError, match="Caduceus-PS key layout but config.json says rcps=false"):
        load_caduceus(dest, device="cpu")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.pop(IN_PROJ_0), r"missing 1 \(caduceus.backbone.layers.0.mixer.submodule.mamba_fwd.in_proj"),
        (lambda s: s.update({"caduceus.backbone.extra.weight": torch.zeros(2)}), r"unexpected 1 \(caduceus.backbone.extra"),
        (lambda s: s.update({IN_PROJ_0: torch.zeros(128, 31)}), r"wrong shape \(file vs config\) 1 \(.*in_proj.weight \[128, 31\] vs \[128, 32\]"),
    ],
    ids=["missing", "unexpected", "misshaped"],
)  # fmt: skip
def test_tensor_problems_are_named(tmp_path, edit, message: str) -> None:
    state = fixture_state()
    edit(state)
    with pytest.raises(ModelLoadError, match=message):
        load_caduceus(copy_fixture(tmp_path / "m", state=state), device="cpu")


def test_complement_buffer_must_agree_with_config(tmp_path) -> None:
    state = fixture_state()
    state["lm_head.complement_map"] = torch.arange(16)
    with pytest.raises(ModelLoadError, match="lm_head.complement_map .* differs from config.json"):
        load_caduceus(copy_fixture(tmp_path / "m", state=state), device="cpu")


def test_a_tied_alias_that_differs_is_logged_and_ignored(tmp_path, caplog) -> None:
    state = fixture_state()
    state["lm_head.lm_head.weight"] = state[EMBEDDING_PS] + 1
    with caplog.at_level(logging.WARNING):
        encoder = load_caduceus(copy_fixture(tmp_path / "m", state=state), device="cpu")
    assert "lm_head.lm_head.weight differs" in caplog.text
    torch.testing.assert_close(encoder.model.backbone.embeddings.table, state[EMBEDDING_PS])


def test_bad_directories(tmp_path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist; download kuleshov-group"):
        load_caduceus(tmp_path / "nope", device="cpu")
    empty = copy_fixture(tmp_path / "empty")
    (empty / "model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match="holds no weights"):
        load_caduceus(empty, device="cpu")
    (empty / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelLoadError, match="cannot be read"):
        load_caduceus(empty, device="cpu")
    (empty / "config.json").unlink()
    with pytest.raises(ModelLoadError, match="config.json is missing"):
        load_caduceus(empty, device="cpu")


def test_tokenizer_config_must_describe_the_caduceus_tokenizer(tmp_path) -> None:
    dest = copy_fixture(tmp_path / "m")
    raw = json.loads((dest / "tokenizer_config.json").read_text())
    raw["added_tokens_decoder"]["4"]["content"] = "[SEP]"
    (dest / "tokenizer_config.json").write_text(json.dumps(raw))
    with pytest.raises(TokenizerError, match="special token ids"):
        load_caduceus(dest, device="cpu")
    (dest / "tokenizer_config.json").unlink()
    with pytest.raises(ModelLoadError, match="tokenizer_config.json is missing"):
        load_caduceus(dest, device="cpu")


def test_config_complement_map_must_match_the_tokenizer(tmp_path) -> None:
    dest = copy_fixture(tmp_path / "m")
    raw = json.loads((dest / "config.json").read_text())
    raw["complement_map"].update({"7": 8, "8": 7, "9": 10, "10": 9})  # A<->C, G<->T: an involution, but wrong
    (dest / "config.json").write_text(json.dumps(raw))
    with pytest.raises(TokenizerError, match="complement_map .* differs from the tokenizer's"):
        load_caduceus(dest, device="cpu")
