"""The models package: no Dagster import, and the Encoder contract the embedding layer relies on."""

from __future__ import annotations

import numpy as np

from neuro_omics_assets.models import TokenizedSequence


def test_tokenized_sequence_length() -> None:
    tokens = TokenizedSequence(ids=np.array([1, 5, 2]), base_lengths=np.array([0, 1, 0], dtype=np.int32))
    assert len(tokens) == 3
