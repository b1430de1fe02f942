from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer

from neuro_omics_assets.embedding.pooling import (
    WindowStats,
    cls_vector,
    cosine,
    mean_vector,
    pool_token_states,
    rc_average,
    vectors_from_window_stats,
)
from neuro_omics_assets.errors import ConfigError
from neuro_omics_assets_tests.embedding.fakes import FIXTURE_DIR


def test_pool_token_states_weights_by_bases_and_skips_specials_and_padding() -> None:
    hidden = torch.tensor(
        [
            [[1.0, 2, 3], [1, 0, 0], [0, 1, -1], [5, 5, 5]],  # [CLS], 2-base token, 3-base token, [SEP]
            [[0.0, 0, 1], [2, 2, 2], [9, 9, 9], [7, 7, 7]],  # [CLS], 1-base token, [SEP], padding
        ]
    )
    base_lengths = torch.tensor([[0, 2, 3, 0], [0, 1, 0, 0]])
    token_sum, cls = pool_token_states(hidden, base_lengths)
    np.testing.assert_array_equal(token_sum, [[2, 3, -3], [2, 2, 2]])  # 2*[1,0,0] + 3*[0,1,-1]
    np.testing.assert_array_equal(cls, [[1, 2, 3], [0, 0, 1]])
    assert token_sum.dtype == np.float32 and cls.dtype == np.float32


def test_pool_token_states_accumulates_bfloat16_in_float32() -> None:
    generator = torch.Generator().manual_seed(0)
    hidden = torch.randn(1, 2000, 4, generator=generator).to(torch.bfloat16)
    base_lengths = torch.randint(1, 9, (1, 2000), generator=generator)
    token_sum, _ = pool_token_states(hidden, base_lengths)
    exact = (base_lengths.double().unsqueeze(-1) * hidden.double()).sum(1).numpy()
    assert token_sum.dtype == np.float32
    # a bfloat16 accumulator would be off by ~1e-2 relative; float32 stays within 1e-5
    np.testing.assert_allclose(token_sum, exact, rtol=1e-5, atol=1e-3)


def _two_window_stats() -> WindowStats:
    return WindowStats(
        window_index=np.array([0, 1, 0, 1], dtype=np.int32),
        window_start=np.array([0, 2, 0, 2], dtype=np.int64),
        window_end=np.array([2, 6, 2, 6], dtype=np.int64),
        strand=np.array(["forward", "forward", "reverse_complement", "reverse_complement"]),
        n_tokens=np.array([1, 2, 1, 1], dtype=np.int32),
        n_bases=np.array([2, 4, 2, 4], dtype=np.int64),
        token_sum=np.array([[2, 4], [6, 0], [0, 6], [0, 6]], dtype=np.float32),
        cls=np.array([[1, 0], [0, 1], [1, 1], [1, 1]], dtype=np.float32),
    )


def test_mean_and_cls_vectors_weight_windows_by_bases() -> None:
    forward = _two_window_stats().strand_rows("forward")
    np.testing.assert_allclose(mean_vector(forward), [8 / 6, 4 / 6], rtol=1e-6)  # ([2,4]+[6,0]) / 6
    np.testing.assert_allclose(cls_vector(forward), [2 / 6, 4 / 6], rtol=1e-6)  # (2*[1,0] + 4*[0,1]) / 6


@pytest.mark.parametrize(
    ("pooling", "rc_averaged", "expected"),
    [
        ("mean", True, [2 / 3, 4 / 3]),  # ([4/3, 2/3] + [0, 2]) / 2
        ("mean", False, [4 / 3, 2 / 3]),  # forward only
        ("cls", True, [2 / 3, 5 / 6]),  # ([1/3, 2/3] + [1, 1]) / 2
        ("cls", False, [1 / 3, 2 / 3]),
    ],
)
def test_vectors_from_window_stats(pooling: str, rc_averaged: bool, expected: list[float]) -> None:
    vectors = vectors_from_window_stats(_two_window_stats(), pooling, rc_averaged)  # type: ignore[arg-type]
    np.testing.assert_allclose(vectors.vector, expected, rtol=1e-6)
    np.testing.assert_allclose(vectors.reverse, [0, 2], rtol=1e-6)
    np.testing.assert_allclose(vectors.cls_reverse, [1, 1], rtol=1e-6)
    assert vectors.rc_cosine == pytest.approx(2 / math.sqrt(20))  # cos([4/3, 2/3], [0, 2])
    assert vectors.cls_rc_cosine == pytest.approx((1 / 3 + 2 / 3) / (math.sqrt(5 / 9) * math.sqrt(2)))


def test_unknown_pooling_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'max'"):
        vectors_from_window_stats(_two_window_stats(), "max", True)  # type: ignore[arg-type]


def test_rc_average_and_cosine() -> None:
    np.testing.assert_array_equal(rc_average(np.array([1.0, 2.0]), np.array([3.0, -2.0])), [2.0, 0.0])
    assert cosine(np.array([1.0, 0.0]), np.array([1.0, 1.0])) == pytest.approx(1 / math.sqrt(2))
    assert math.isnan(cosine(np.zeros(2), np.ones(2)))


def test_mean_of_the_fixture_hidden_state_matches_a_hand_computation() -> None:
    """Independent reference: the official implementation's last hidden state for the README
    sequence, pooled by a Python loop with base lengths read from the token strings."""
    expected = np.load(FIXTURE_DIR / "expected.npz")
    hidden = expected["seq0_last_hidden_state"][0]  # (17, 64) float32
    ids = expected["seq0_input_ids"][0]
    tokenizer = Tokenizer.from_file(str(FIXTURE_DIR / "tokenizer.json"))
    lengths = [0] + [len(tokenizer.id_to_token(int(i))) for i in ids[1:-1]] + [0]
    assert sum(lengths) == len(str(expected["sequences"][0])) == 59

    by_hand = np.zeros(64)
    for length, state in zip(lengths, hidden, strict=True):
        by_hand += length * state.astype(np.float64)
    by_hand /= 59

    token_sum, cls = pool_token_states(torch.from_numpy(hidden[None]), torch.tensor([lengths]))
    stats = WindowStats(
        window_index=np.array([0], dtype=np.int32),
        window_start=np.array([0]),
        window_end=np.array([59]),
        strand=np.array(["forward"]),
        n_tokens=np.array([15], dtype=np.int32),
        n_bases=np.array([59]),
        token_sum=token_sum,
        cls=cls,
    )
    np.testing.assert_allclose(mean_vector(stats), by_hand, atol=1e-6)
    np.testing.assert_array_equal(cls_vector(stats), hidden[0])
