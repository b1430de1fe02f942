"""Shared fixtures: an isolated Dagster instance, warehouse and demo model per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
TINY_MODEL = FIXTURES / "dnabert2-tiny"
CHRM_FASTA = REPO / "data" / "real" / "chrM" / "chrM.fa"
CHRM_GTF = REPO / "data" / "real" / "chrM" / "annotation.chrMT.gtf"
# Tests under these folders and in these files run real Dagster jobs, CLI subprocesses, concurrent writer
# processes or a browser: the `integration` tier (`make test`); everything else is the fast unit tier
# (`make test-fast`). Single CLI tests elsewhere carry @pytest.mark.integration themselves.
INTEGRATION_DIRS = ("defs", "robustness", "ui")
INTEGRATION_FILES = ("test_cli.py", "warehouse/test_catalog_concurrency.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests = Path(__file__).parent
    for item in items:
        relative = item.path.relative_to(tests)
        if relative.parts[0] in INTEGRATION_DIRS or relative.as_posix() in INTEGRATION_FILES:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session", autouse=True)
def data_roots(tmp_path_factory: pytest.TempPathFactory):
    """Configured paths must lie under NEURO_OMICS_DATA_ROOTS: the repository and pytest's temp root."""
    roots = os.pathsep.join([str(REPO), str(tmp_path_factory.getbasetemp().resolve())])
    with pytest.MonkeyPatch.context() as env:
        env.setenv("NEURO_OMICS_DATA_ROOTS", roots)
        yield roots


@pytest.fixture(scope="session")
def demo_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The offline demo model, written once per session."""
    from neuro_omics_assets.models.dnabert2 import write_demo_model

    return write_demo_model(tmp_path_factory.mktemp("models") / "demo-model")


@pytest.fixture(scope="session")
def demo_caduceus_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The offline Caduceus-PS demo model, written once per session."""
    from neuro_omics_assets.models.caduceus import write_demo_model

    return write_demo_model(tmp_path_factory.mktemp("models") / "demo-caduceus-ps", rcps=True)


@pytest.fixture
def pipeline_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_model_dir: Path) -> Path:
    """Point every NEURO_OMICS_* setting and DAGSTER_HOME at a fresh temporary directory."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("NEURO_OMICS_WAREHOUSE", str(tmp_path / "warehouse"))
    monkeypatch.setenv("NEURO_OMICS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NEURO_OMICS_MODEL_DIR", str(demo_model_dir))
    monkeypatch.setenv("NEURO_OMICS_FASTA", str(CHRM_FASTA))
    monkeypatch.setenv("NEURO_OMICS_GTF", str(CHRM_GTF))
    monkeypatch.setenv("NEURO_OMICS_DEVICE", "cpu")
    return tmp_path
