"""The dnabert2-tiny conformance fixture: a tiny random DNABERT-2 plus the official code's outputs."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from neuro_omics_assets.models.dnabert2 import Dnabert2Encoder, load_dnabert2

FIXTURE_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "dnabert2-tiny"
N_SEQUENCES = 8


@pytest.fixture(scope="module")
def expected() -> dict[str, np.ndarray]:
    with np.load(FIXTURE_DIR / "expected.npz") as npz:
        return {key: npz[key] for key in npz.files}


@pytest.fixture(scope="module")
def tiny_sdpa() -> Dnabert2Encoder:
    return load_dnabert2(FIXTURE_DIR, device="cpu", dtype=torch.float32, attention="sdpa")


@pytest.fixture(scope="module")
def tiny_eager() -> Dnabert2Encoder:
    return load_dnabert2(FIXTURE_DIR, device="cpu", dtype=torch.float32, attention="eager")


def fixture_state() -> dict[str, torch.Tensor]:
    """The fixture's 32 official tensors (bert.* + cls.predictions.*)."""
    return load_file(FIXTURE_DIR / "model.safetensors")


def copy_fixture(dest: Path, state: dict[str, torch.Tensor] | None = None) -> Path:
    """Copy config and tokenizer files into ``dest``; write ``state`` (default: the fixture's) as safetensors."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(FIXTURE_DIR / name, dest / name)
    save_file(fixture_state() if state is None else state, dest / "model.safetensors")
    return dest
