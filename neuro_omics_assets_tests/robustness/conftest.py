"""Fixtures of the robustness tests: one uninterrupted run to compare killed, resumed and repeated runs with."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import baseline_run


@pytest.fixture(scope="session")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory, demo_model_dir: Path) -> Path:
    """Warehouse of one uninterrupted child-process run: ``reference_job``, then each of ``BASELINE_CHUNKS``."""
    return baseline_run(tmp_path_factory.mktemp("uninterrupted"), demo_model_dir)
