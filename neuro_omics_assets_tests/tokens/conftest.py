"""Shared inputs of the token-analysis tests: the shipped tokenizer, its vocabulary and JASPAR 2024."""

from __future__ import annotations

import pandas as pd
import pytest

from neuro_omics_assets.models.dnabert2.demo import PACKAGED_TOKENIZER_DIR
from neuro_omics_assets.models.dnabert2.tokenizer import DnaBert2Tokenizer
from neuro_omics_assets.settings import DEMO_JASPAR
from neuro_omics_assets.tokens.jaspar import JasparMotif, MotifScorer, read_jaspar
from neuro_omics_assets.tokens.vocabulary import vocabulary_table

TOKENIZER_JSON = PACKAGED_TOKENIZER_DIR / "tokenizer.json"


@pytest.fixture(scope="session")
def tokenizer() -> DnaBert2Tokenizer:
    return DnaBert2Tokenizer(TOKENIZER_JSON)


@pytest.fixture(scope="session")
def vocabulary() -> pd.DataFrame:
    return vocabulary_table(TOKENIZER_JSON)


@pytest.fixture(scope="session")
def motifs() -> list[JasparMotif]:
    return read_jaspar(DEMO_JASPAR)


@pytest.fixture(scope="session")
def scorer(motifs) -> MotifScorer:
    return MotifScorer(motifs)
