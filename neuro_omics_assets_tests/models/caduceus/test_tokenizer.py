"""The character tokenizer against the official ids in cases.json."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neuro_omics_assets.errors import ConfigError, SequenceError, TokenizerError
from neuro_omics_assets.models.caduceus import CaduceusTokenizer
from neuro_omics_assets_tests.models.caduceus.conftest import CASES, FIXTURE_DIR


@pytest.fixture(scope="module")
def tokenizer() -> CaduceusTokenizer:
    return CaduceusTokenizer(FIXTURE_DIR / "tokenizer_config.json")


@pytest.mark.parametrize("case", CASES)
def test_ids_equal_the_official_tokenizer(tokenizer, cases, expected, case: str) -> None:
    spec = cases[case]
    with_sep = tokenizer.encode(spec["sequences"])
    without = tokenizer.encode(spec["sequences"], add_special_tokens=False)
    for row, sequence in enumerate(spec["sequences"]):
        np.testing.assert_array_equal(with_sep[row].ids, spec["input_ids"][row])
        np.testing.assert_array_equal(without[row].ids, spec["input_ids_no_special"][row])
        np.testing.assert_array_equal(
            tokenizer.reverse_complement(without[row].ids), spec["rc_input_ids_no_special"][row]
        )
        np.testing.assert_array_equal(with_sep[row].base_lengths, [1] * len(sequence) + [0])
    np.testing.assert_array_equal(tokenizer.pad(with_sep)["input_ids"].numpy(), expected[f"{case}.input_ids"])


def test_vocabulary_and_files(tokenizer) -> None:
    info = json.loads((FIXTURE_DIR / "tokenizer_info.json").read_text())
    assert tokenizer.vocab_size == info["vocab_size_tokenizer"] == 12
    assert (tokenizer.pad_id, tokenizer.sep_id, tokenizer.unk_id, tokenizer.mask_id) == (4, 1, 6, 3)
    assert tokenizer.complement_ids.tolist() == [int(v) for v in info["complement_map_tokenizer"].values()]
    assert tokenizer.model_max_length == 131072
    assert (
        tokenizer.sha256 == "54b8a214423d01e4cf90fe5751d03d2a7117b4f7286b5727d9ee60fdd0bb7c8a"
    )  # SHA256SUMS


def test_non_ascii_characters_are_one_unknown_token_each(tokenizer) -> None:
    encoded = tokenizer.encode(["AßC\u00e9"])[0]
    assert encoded.ids.tolist() == [7, 6, 8, 6, 1] and encoded.base_lengths.tolist() == [1, 1, 1, 1, 0]


def test_pad_right_with_mask(tokenizer) -> None:
    batch = tokenizer.pad(tokenizer.encode(["ACG", "T"]), length=6)
    assert batch["input_ids"].tolist() == [[7, 8, 9, 1, 4, 4], [10, 1, 4, 4, 4, 4]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 0, 0]]
    with pytest.raises(ConfigError, match="shorter than the longest"):
        tokenizer.pad(tokenizer.encode(["ACG"]), length=2)
    with pytest.raises(SequenceError, match="no sequences"):
        tokenizer.pad([])
    with pytest.raises(SequenceError, match="list of str"):
        tokenizer.encode("ACGT")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"characters": ["A", "C", "G", "U", "N"]}, "only the official ACGTN"),
        ({"model_max_length": 0}, "positive integer"),
    ],
)
def test_foreign_tokenizer_configs_are_refused(tmp_path, change, message: str) -> None:
    raw = json.loads((FIXTURE_DIR / "tokenizer_config.json").read_text()) | change
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(raw))
    with pytest.raises(TokenizerError, match=message):
        CaduceusTokenizer(tmp_path / "tokenizer_config.json")
    with pytest.raises(TokenizerError, match="does not exist"):
        CaduceusTokenizer(tmp_path / "absent.json")
