"""The pilot's real inputs (bundled human and mouse chrM, 37 orthologs) and an engine on the demo model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from neuro_omics_assets.cross_species.orthologs import OrthologPairs, ortholog_pairs, read_ortholog_table
from neuro_omics_assets.deployment import Deployment, demo_deployment
from neuro_omics_assets.embedding.engine import EmbeddingEngine


@pytest.fixture(scope="session")
def deployment() -> Deployment:
    return demo_deployment()


@pytest.fixture(scope="session")
def human(deployment: Deployment) -> pd.DataFrame:
    """The 37 human chrM genes' sequences (gene bodies), annotation order."""
    return deployment.genome("human").gene_sequences()


@pytest.fixture(scope="session")
def mouse(deployment: Deployment) -> pd.DataFrame:
    return deployment.genome("mouse").gene_sequences()


@pytest.fixture(scope="session")
def pairs(deployment: Deployment, human: pd.DataFrame, mouse: pd.DataFrame) -> OrthologPairs:
    table = read_ortholog_table(deployment.orthologs.path, deployment.orthologs.genomes)
    return ortholog_pairs(table, deployment.orthologs.genomes, human, mouse)


@pytest.fixture(scope="session")
def demo_engine(demo_model_dir: Path) -> EmbeddingEngine:
    """The demo DNABERT-2 (random weights, hidden 64) in float32 on CPU, no cache."""
    from neuro_omics_assets.models.dnabert2 import load_dnabert2

    return EmbeddingEngine(load_dnabert2(demo_model_dir, device="cpu", dtype="float32"))
