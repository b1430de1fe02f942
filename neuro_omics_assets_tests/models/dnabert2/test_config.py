"""config.json parsing: required fields validated, unknown ones ignored, official names written back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neuro_omics_assets.errors import ModelLoadError
from neuro_omics_assets.models.dnabert2 import Dnabert2Config
from neuro_omics_assets_tests.models.dnabert2.conftest import FIXTURE_DIR


def test_fixture_config() -> None:
    config = Dnabert2Config.from_json(FIXTURE_DIR / "config.json")
    assert config == Dnabert2Config(
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        vocab_size=4096,
        type_vocab_size=2,
        layer_norm_eps=1e-12,
        alibi_starting_size=64,
        hidden_act="gelu",
    )
    assert config.head_dim == 16


def test_official_dict_round_trips_and_keeps_every_official_field() -> None:
    raw = json.loads((FIXTURE_DIR / "config.json").read_text())
    config = Dnabert2Config.from_dict(raw)
    assert config.to_official_dict(name_or_path="dnabert2-tiny") == raw


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"num_attention_heads": None}, r"lacks required field\(s\) \['num_attention_heads'\]"),
        ({"num_attention_heads": 5}, "hidden_size 64 is not divisible by num_attention_heads 5"),
        ({"hidden_size": "64"}, "hidden_size='64' must be a positive integer"),
        ({"num_hidden_layers": 0}, "num_hidden_layers=0 must be a positive integer"),
        ({"layer_norm_eps": -1.0}, r"layer_norm_eps=-1.0 must be a number in \(0, 1\)"),
        ({"hidden_act": "relu"}, "hidden_act 'relu' is not supported"),
    ],
)
def test_invalid_config_is_rejected_with_the_field(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    raw = json.loads((FIXTURE_DIR / "config.json").read_text())
    for key, value in change.items():
        if value is None:
            del raw[key]
        else:
            raw[key] = value
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(ModelLoadError, match=message) as err:
        Dnabert2Config.from_json(path)
    assert str(path) in str(err.value)


def test_unknown_fields_are_ignored() -> None:
    raw = json.loads((FIXTURE_DIR / "config.json").read_text()) | {"rope_theta": 10000, "model_type": "bert"}
    assert Dnabert2Config.from_dict(raw).hidden_size == 64


def test_not_json(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("{hidden_size: 64")
    with pytest.raises(ModelLoadError, match="is not valid JSON"):
        Dnabert2Config.from_json(path)
