from __future__ import annotations

import pytest
import torch

from neuro_omics_assets.models.dnabert2 import Dnabert2Encoder, DnaBert2Tokenizer, load_dnabert2
from neuro_omics_assets_tests.embedding.fakes import FIXTURE_DIR, FakeEncoder


@pytest.fixture(scope="session")
def tokenizer() -> DnaBert2Tokenizer:
    """The official DNABERT-2 tokenizer (fixture copy)."""
    return DnaBert2Tokenizer(FIXTURE_DIR / "tokenizer.json")


@pytest.fixture
def fake_encoder(tokenizer: DnaBert2Tokenizer) -> FakeEncoder:
    return FakeEncoder(tokenizer)


@pytest.fixture(scope="session")
def tiny_encoder() -> Dnabert2Encoder:
    """The native DNABERT-2 on the tiny fixture model, fp32 on CPU."""
    return load_dnabert2(FIXTURE_DIR, device="cpu", dtype=torch.float32)
