"""The tokenizer reproduces the official ids exactly (expected.npz) and pads like the official batch."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from neuro_omics_assets.errors import ConfigError, SequenceError, TokenizerError
from neuro_omics_assets.models.dnabert2 import OFFICIAL_TOKENIZER_SHA256, DnaBert2Tokenizer
from neuro_omics_assets_tests.models.dnabert2.conftest import FIXTURE_DIR, N_SEQUENCES


@pytest.fixture(scope="module")
def tokenizer() -> DnaBert2Tokenizer:
    return DnaBert2Tokenizer(FIXTURE_DIR / "tokenizer.json")


def _sequences(expected: dict[str, np.ndarray]) -> list[str]:
    return [str(seq) for seq in expected["sequences"]]


@pytest.mark.parametrize("index", range(N_SEQUENCES))
def test_ids_equal_the_official_tokenizer(tokenizer, expected, index: int) -> None:
    (tokens,) = tokenizer.encode([_sequences(expected)[index]])
    assert tokens.ids.dtype == np.int64
    np.testing.assert_array_equal(tokens.ids, expected[f"seq{index}_input_ids"][0])


def test_padded_batch_equals_the_official_batch(tokenizer, expected) -> None:
    batch = tokenizer.pad(tokenizer.encode(_sequences(expected)), "cpu")
    np.testing.assert_array_equal(batch["input_ids"].numpy(), expected["batch_input_ids"])
    np.testing.assert_array_equal(batch["attention_mask"].numpy(), expected["batch_attention_mask"])


def test_padding_to_a_fixed_length_equals_batch2(tokenizer, expected) -> None:
    # batch2: the first 4 sequences padded to longest + 5, so every row has padding
    length = expected["batch2_input_ids"].shape[1]
    batch = tokenizer.pad(tokenizer.encode(_sequences(expected)[:4]), "cpu", length=length)
    np.testing.assert_array_equal(batch["input_ids"].numpy(), expected["batch2_input_ids"])
    np.testing.assert_array_equal(batch["attention_mask"].numpy(), expected["batch2_attention_mask"])


def test_special_ids_and_vocab(tokenizer) -> None:
    assert (tokenizer.unk_id, tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id) == (0, 1, 2, 3)
    assert tokenizer.vocab_size == 4096
    assert tokenizer.sha256 == OFFICIAL_TOKENIZER_SHA256


@pytest.mark.parametrize(
    ("sequence", "expected_lengths"),
    [
        ("A", [0, 1, 0]),  # one base, one token; [CLS]/[SEP] cover nothing
        ("ACGTNNac", [0, 1, 1, 2, 1, 1, 1, 1, 0]),  # 'GT' merges; N and lower case are one [UNK] each
        ("ACGT\nAC", [0, 1, 1, 2, 1, 1, 0]),  # the newline splits words and belongs to no token
    ],
)
def test_base_lengths_follow_the_offsets(tokenizer, sequence: str, expected_lengths: list[int]) -> None:
    (tokens,) = tokenizer.encode([sequence])
    assert tokens.base_lengths.dtype == np.int32
    np.testing.assert_array_equal(tokens.base_lengths, expected_lengths)


def test_base_lengths_sum_to_the_bases_of_a_long_sequence(tokenizer, expected) -> None:
    sequence = _sequences(expected)[5]  # 600 bp random -> 134 tokens
    (tokens,) = tokenizer.encode([sequence])
    assert int(tokens.base_lengths.sum()) == len(sequence) == 600
    assert tokens.base_lengths[0] == tokens.base_lengths[-1] == 0


def test_lowercase_is_not_normalised(tokenizer) -> None:
    (tokens,) = tokenizer.encode(["acgt"])
    np.testing.assert_array_equal(tokens.ids, [1, 0, 0, 0, 0, 2])


def test_altered_tokenizer_is_rejected_with_its_checksum(tmp_path: Path) -> None:
    altered = tmp_path / "tokenizer.json"
    altered.write_bytes((FIXTURE_DIR / "tokenizer.json").read_bytes() + b"\n")
    with pytest.raises(
        TokenizerError, match=r"tokenizer\.json has sha256 [0-9a-f]{64}, expected 5d178e8c"
    ) as err:
        DnaBert2Tokenizer(altered)
    assert "expected_sha256=None" in str(err.value)
    assert DnaBert2Tokenizer(altered, expected_sha256=None).vocab_size == 4096


def test_missing_tokenizer_file_says_where_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(TokenizerError, match="DNABERT-2-117M"):
        DnaBert2Tokenizer(tmp_path / "tokenizer.json")


def test_unparsable_tokenizer_file(tmp_path: Path) -> None:
    broken = tmp_path / "tokenizer.json"
    shutil.copyfile(FIXTURE_DIR / "tokenizer_config.json", broken)
    with pytest.raises(TokenizerError, match="cannot be parsed"):
        DnaBert2Tokenizer(broken, expected_sha256=None)


def test_a_bare_string_is_rejected(tokenizer) -> None:
    with pytest.raises(SequenceError, match=r"wrap a single sequence as \[seq\]"):
        tokenizer.encode("ACGT")  # type: ignore[arg-type]


def test_pad_length_shorter_than_a_sequence_is_rejected(tokenizer) -> None:
    with pytest.raises(ConfigError, match="shorter than the longest sequence"):
        tokenizer.pad(tokenizer.encode(["ACGTACGTAAAA"]), "cpu", length=2)
