"""The pilot's real inputs (bundled human and mouse chrM, 37 orthologs) and an engine on the demo model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from neuro_omics_assets.cross_species.orthologs import OrthologPairs
from neuro_omics_assets.cross_species.pilot import pilot_inputs
from neuro_omics_assets.deployment import Deployment, demo_deployment
from neuro_omics_assets.embedding.engine import EmbeddingEngine


@pytest.fixture(scope="session")
def deployment() -> Deployment:
    return demo_deployment()


@pytest.fixture(scope="session")
def inputs(deployment: Deployment) -> tuple[pd.DataFrame, pd.DataFrame, OrthologPairs]:
    """The 37 human and 37 mouse chrM genes' sequences (gene bodies, annotation order) and their pairs."""
    return pilot_inputs(deployment)


@pytest.fixture(scope="session")
def human(inputs) -> pd.DataFrame:
    return inputs[0]


@pytest.fixture(scope="session")
def mouse(inputs) -> pd.DataFrame:
    return inputs[1]


@pytest.fixture(scope="session")
def pairs(inputs) -> OrthologPairs:
    return inputs[2]


@pytest.fixture(scope="session")
def demo_engine(demo_model_dir: Path) -> EmbeddingEngine:
    """The demo DNABERT-2 (random weights, hidden 64) in float32 on CPU, no cache."""
    from neuro_omics_assets.models.dnabert2 import load_dnabert2

    return EmbeddingEngine(load_dnabert2(demo_model_dir, device="cpu", dtype="float32"))
