"""The caduceus-ps-tiny conformance fixture (official code outputs) and a seeded random Caduceus-PH.

There is no official PH fixture: ``ph_dir`` is written by ``write_demo_model(rcps=False)`` (d_model 32,
2 layers, d_state 8, seed 7, the official PH key layout) and checked against ``official_reference.py``,
which is itself checked against the PS fixture.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from neuro_omics_assets.models.caduceus import CaduceusEncoder, load_caduceus, write_demo_model

FIXTURE_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "caduceus-ps-tiny"
CASES = [case["name"] for case in json.loads((FIXTURE_DIR / "cases.json").read_text())["cases"]]
PH_SEED = 7


@pytest.fixture(scope="session")
def expected() -> dict[str, np.ndarray]:
    with np.load(FIXTURE_DIR / "expected.npz") as npz:
        return {key: npz[key] for key in npz.files}


@pytest.fixture(scope="session")
def cases() -> dict[str, dict]:
    return {case["name"]: case for case in json.loads((FIXTURE_DIR / "cases.json").read_text())["cases"]}


@pytest.fixture(scope="session")
def ps_numba() -> CaduceusEncoder:
    return load_caduceus(FIXTURE_DIR, device="cpu", dtype="float32", scan="numba")


@pytest.fixture(scope="session")
def ps_reference() -> CaduceusEncoder:
    return load_caduceus(FIXTURE_DIR, device="cpu", dtype="float32", scan="reference")


@pytest.fixture(scope="session")
def ph_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_demo_model(tmp_path_factory.mktemp("caduceus-ph"), rcps=False, seed=PH_SEED)


@pytest.fixture(scope="session")
def ph_numba(ph_dir: Path) -> CaduceusEncoder:
    return load_caduceus(ph_dir, device="cpu", dtype="float32", scan="numba")


def fixture_state() -> dict[str, torch.Tensor]:
    """The fixture's 38 stored tensors (tied ones absent)."""
    return load_file(FIXTURE_DIR / "model.safetensors")


def copy_fixture(
    dest: Path, state: dict[str, torch.Tensor] | None = None, source: Path = FIXTURE_DIR
) -> Path:
    """Copy config and tokenizer files of ``source`` into ``dest``; write ``state`` (default: its weights)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer_config.json"):
        shutil.copyfile(source / name, dest / name)
    save_file(load_file(source / "model.safetensors") if state is None else state, dest / "model.safetensors")
    return dest
