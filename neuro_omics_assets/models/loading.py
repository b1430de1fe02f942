"""Loading an official model directory, shared by every model package: devices, dtypes, files, weights.

Device and dtype are arguments resolved once here: ``"auto"`` picks CUDA if present (bf16) else CPU
(fp32) and says so in the log; an explicit ``"cuda"`` without a GPU raises, never falls back. Weights
load only through safetensors or ``torch.load(weights_only=True)`` (a pickle payload never runs).
"""

from __future__ import annotations

import json
import logging
import pickle
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from neuro_omics_assets.errors import ConfigError, DeviceError, ModelLoadError

log = logging.getLogger(__name__)

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
_LISTED = 5  # how many tensor names an error message shows per category


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` -> cuda if available else cpu (logged); ``"cuda[:N]"`` must exist here."""
    if isinstance(device, str) and device == "auto":
        chosen = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        log.info("device='auto' chose %s", chosen)
        return chosen
    try:
        resolved = torch.device(device)
    except RuntimeError as err:
        raise ConfigError(
            f"device={device!r} is not a device; use 'auto', 'cpu', 'cuda' or 'cuda:N'."
        ) from err
    if resolved.type == "cpu":
        return resolved
    if resolved.type != "cuda":
        raise ConfigError(f"device={device!r} is not supported; use 'auto', 'cpu', 'cuda' or 'cuda:N'.")
    if not torch.cuda.is_available():
        raise DeviceError(
            f"device={device!r} was requested but torch {torch.__version__} sees no CUDA GPU here; "
            "use device='cpu', or device='auto' to take a GPU only when one is present."
        )
    if resolved.index is not None and resolved.index >= torch.cuda.device_count():
        raise DeviceError(
            f"device={device!r} does not exist: this machine has {torch.cuda.device_count()} CUDA device(s)."
        )
    return resolved


def resolve_dtype(dtype: str | torch.dtype, device: torch.device) -> torch.dtype:
    """``"auto"`` -> bf16 on CUDA, fp32 on CPU; otherwise float32 or bfloat16 (name or torch dtype)."""
    if isinstance(dtype, str) and dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    resolved = _DTYPES.get(dtype) if isinstance(dtype, str) else dtype
    if resolved not in _DTYPES.values():
        raise ConfigError(f"dtype={dtype!r} is not supported; use 'auto', 'float32' or 'bfloat16'.")
    return resolved


def read_config_json(path: Path) -> dict[str, Any]:
    """The JSON object in a model's ``config.json``; ModelLoadError when it is not valid JSON or not an object."""
    try:
        raw = json.loads(Path(path).read_text())
    except json.JSONDecodeError as err:
        raise ModelLoadError(f"{path} is not valid JSON ({err}); re-download config.json.") from err
    if not isinstance(raw, dict):
        raise ModelLoadError(f"{path} must hold a JSON object; re-download config.json.")
    return raw


def required_file(model_dir: Path, name: str, how_to_get: str) -> Path:
    """``model_dir / name``, or ModelLoadError naming the missing file and ``how_to_get`` the model."""
    path = Path(model_dir) / name
    if not path.is_file():
        raise ModelLoadError(f"{path} is missing from the model directory; {how_to_get}.")
    return path


def find_weights_file(model_dir: Path, how_to_get: str) -> Path:
    """``model.safetensors`` if present, else ``pytorch_model.bin``."""
    for name in WEIGHT_FILES:
        path = Path(model_dir) / name
        if path.is_file():
            return path
    raise ModelLoadError(
        f"{model_dir} holds no weights (looked for {' or '.join(WEIGHT_FILES)}); {how_to_get}."
    )


def read_state_dict(path: Path, model: str) -> dict[str, torch.Tensor]:
    """All tensors of a weights file, on CPU, keyed as stored; ``model`` names the family in errors."""
    try:
        if path.suffix == ".safetensors":
            return load_file(path, device="cpu")
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (SafetensorError, pickle.UnpicklingError, RuntimeError, OSError) as err:
        raise ModelLoadError(
            f"{path} cannot be read ({err}); the download is probably truncated, fetch it again."
        ) from err
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelLoadError(
            f"{path} is not a state dict of tensors; use the official {model} weights file."
        )
    return state


def state_dict_problems(state: dict[str, torch.Tensor], model: torch.nn.Module) -> list[str]:
    """How a state dict fails to fit ``model``: ``missing``, ``unexpected`` and ``wrong shape`` tensors, each
    counted and the first few named (empty when it fits)."""
    expected = {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}
    misshaped = sorted(
        f"{name} {list(state[name].shape)} vs {list(shape)}"
        for name, shape in expected.items()
        if name in state and tuple(state[name].shape) != shape
    )
    categories = (
        ("missing", sorted(set(expected) - set(state))),
        ("unexpected", sorted(set(state) - set(expected))),
        ("wrong shape (file vs config)", misshaped),
    )
    return [f"{label} {_describe(names)}" for label, names in categories if names]


def _describe(names: list[str]) -> str:
    more = f" and {len(names) - _LISTED} more" if len(names) > _LISTED else ""
    return f"{len(names)} ({', '.join(names[:_LISTED])}{more})"
