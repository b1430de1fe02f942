"""config.json parsing: the fixture's values, complement map read by key, refused settings."""

from __future__ import annotations

import json

import pytest

from neuro_omics_assets.errors import ModelLoadError
from neuro_omics_assets.models.caduceus import CaduceusConfig
from neuro_omics_assets_tests.models.caduceus.conftest import FIXTURE_DIR

RAW = json.loads((FIXTURE_DIR / "config.json").read_text())


def test_fixture_config() -> None:
    config = CaduceusConfig.from_dict(RAW)
    assert (config.d_model, config.n_layer, config.vocab_size, config.rcps) == (32, 2, 16, True)
    assert (config.d_state, config.d_conv, config.expand, config.d_inner, config.dt_rank_value) == (
        8,
        4,
        2,
        64,
        2,
    )
    assert config.hidden_size == 64 and config.norm_epsilon == 1e-5
    assert config.complement_map == (0, 1, 2, 3, 4, 5, 6, 10, 9, 8, 7, 11, 12, 13, 14, 15)


def test_official_dict_round_trips_and_has_the_official_fields() -> None:
    config = CaduceusConfig.from_dict(RAW)
    written = config.to_official_dict()
    assert set(written) == set(RAW)
    assert {k: v for k, v in written.items() if k != "ssm_cfg"} == {
        k: v for k, v in RAW.items() if k != "ssm_cfg"
    }
    assert written["ssm_cfg"] == RAW["ssm_cfg"]
    assert CaduceusConfig.from_dict(written) == config


def test_complement_map_is_read_by_integer_key() -> None:
    # a re-dumped config with sorted string keys ("0", "1", "10", ...) must give the same table
    shuffled = dict(sorted(RAW["complement_map"].items()))
    assert list(shuffled)[:3] == ["0", "1", "10"]
    assert CaduceusConfig.from_dict(RAW | {"complement_map": shuffled}).complement_map[7] == 10
    # a short map (the tokenizer's 12 ids) is padded with identities, as the official model does
    short = {str(i): v for i, v in enumerate([0, 1, 2, 3, 4, 5, 6, 10, 9, 8, 7, 11])}
    assert CaduceusConfig.from_dict(RAW | {"complement_map": short}).complement_map[12:] == (12, 13, 14, 15)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fused_add_norm": False}, "non-fused RCPS path"),
        ({"rms_norm": False}, "LayerNorm"),
        ({"bidirectional_strategy": "ew_multiply"}, "only the 'add'"),
        ({"bidirectional_weight_tie": False}, "untied"),
        ({"ssm_cfg": RAW["ssm_cfg"] | {"bias": True}}, "ssm_cfg.bias"),
        ({"d_model": 0}, "positive integer"),
        ({"rcps": "yes"}, "rcps"),
        ({"complement_map": {"7": 8}}, "not an involution"),
        ({"complement_map": {"7": 99}}, "outside"),
    ],
)
def test_unsupported_or_invalid_configs_are_refused(change, message: str) -> None:
    with pytest.raises(ModelLoadError, match=message):
        CaduceusConfig.from_dict(RAW | change, source="config.json")


def test_required_fields() -> None:
    with pytest.raises(ModelLoadError, match=r"lacks required field\(s\) \['rcps'\]"):
        CaduceusConfig.from_dict({k: v for k, v in RAW.items() if k != "rcps"})
