"""Fixtures of the robustness tests: one uninterrupted run to compare killed, resumed and repeated runs with."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import BASELINE_CHUNKS, pipeline_vars, run_runner


@pytest.fixture(scope="session")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory, demo_model_dir: Path) -> Path:
    """Warehouse of one uninterrupted child-process run: ``reference_job``, then each of ``BASELINE_CHUNKS``."""
    root = tmp_path_factory.mktemp("uninterrupted")
    chunks = [arg for chunk in BASELINE_CHUNKS for arg in ("--chunk", chunk)]
    run_runner("--reference", *chunks, log=root / "runner.log", env=pipeline_vars(root, demo_model_dir))
    return root / "warehouse"
