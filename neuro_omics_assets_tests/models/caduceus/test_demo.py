"""The demo model writer: official file layout, determinism, both variants load."""

from __future__ import annotations

import json

import pytest
from safetensors.torch import load_file

from neuro_omics_assets.models.caduceus import load_caduceus, write_demo_model
from neuro_omics_assets_tests.models.caduceus.conftest import FIXTURE_DIR


def test_demo_files_have_the_official_layout(tmp_path) -> None:
    out = write_demo_model(tmp_path / "ps")
    for name in ("config.json", "tokenizer_config.json", "special_tokens_map.json"):
        assert (
            json.loads((out / name).read_text()).keys() == json.loads((FIXTURE_DIR / name).read_text()).keys()
        )
    # same tokenizer files as the official ones (the fixture's were written by the official code)
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        assert json.loads((out / name).read_text()) == json.loads((FIXTURE_DIR / name).read_text())
    assert set(load_file(out / "model.safetensors")) == set(load_file(FIXTURE_DIR / "model.safetensors"))
    assert "NOT Caduceus weights" in (out / "README.md").read_text()


@pytest.mark.parametrize("rcps", [True, False])
def test_deterministic_and_loadable(tmp_path, rcps: bool) -> None:
    a, b = (
        write_demo_model(tmp_path / "a", rcps=rcps, seed=3),
        write_demo_model(tmp_path / "b", rcps=rcps, seed=3),
    )
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    assert (a / "model.safetensors").read_bytes() != write_demo_model(tmp_path / "c", rcps=rcps).joinpath(
        "model.safetensors"
    ).read_bytes()
    encoder = load_caduceus(a, device="cpu", dtype="float32", scan="numba")
    assert encoder.config.rcps is rcps
    hidden = encoder.hidden_states(encoder.tokenize(["ACGTNACGT"])["input_ids"])
    assert hidden.shape == (1, 10, 64 if rcps else 32) and hidden.isfinite().all()
