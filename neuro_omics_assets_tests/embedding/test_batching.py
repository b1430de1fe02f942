from __future__ import annotations

import random

import pytest

from neuro_omics_assets.embedding.batching import token_budget_batches
from neuro_omics_assets.errors import ConfigError


def test_batches_pack_longest_first_under_the_budget() -> None:
    lengths = [10, 40, 20, 40, 5, 30]
    # sorted: 40(1), 40(3), 30(5), 20(2), 10(0), 5(4); budget 100: 2*40 fits, 3*40 does not
    assert token_budget_batches(lengths, 100) == [[1, 3], [5, 2, 0], [4]]


def test_item_longer_than_the_budget_goes_alone() -> None:
    assert token_budget_batches([500, 10, 10], 64) == [[0], [1, 2]]


def test_ties_keep_input_order() -> None:
    assert token_budget_batches([8, 8, 8, 8], 16) == [[0, 1], [2, 3]]


@pytest.mark.parametrize("seed", range(5))
def test_every_index_once_and_budget_respected(seed: int) -> None:
    rng = random.Random(seed)
    lengths = [rng.randint(3, 300) for _ in range(200)]
    batches = token_budget_batches(lengths, 1024)
    assert sorted(i for batch in batches for i in batch) == list(range(200))
    for batch in batches:
        widths = [lengths[i] for i in batch]
        assert widths == sorted(widths, reverse=True)
        assert len(batch) * widths[0] <= 1024
    assert batches == token_budget_batches(lengths, 1024)  # deterministic


def test_no_items_no_batches() -> None:
    assert token_budget_batches([], 16) == []


def test_budget_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="batch_tokens=0"):
        token_budget_batches([4], 0)
