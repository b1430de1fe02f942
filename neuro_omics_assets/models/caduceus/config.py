"""The Caduceus configuration, parsed from the official ``config.json`` (``CaduceusConfig`` remote code).

Only fields that change inference are kept. Settings that no published checkpoint uses and that this
implementation does not reproduce (LayerNorm instead of RMSNorm, the non-fused add-norm path,
unidirectional or untied Mamba, the "ew_multiply" strategy) are refused with an error, never ignored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuro_omics_assets.errors import ModelLoadError
from neuro_omics_assets.models.loading import read_config_json

_REQUIRED = ("d_model", "n_layer", "vocab_size", "rcps")

# (field, value every published kuleshov-group checkpoint has, why another value is refused)
_FIXED_FIELDS: tuple[tuple[str, Any, str], ...] = (
    ("rms_norm", True, "LayerNorm blocks are not implemented"),
    ("fused_add_norm", True, "the non-fused RCPS path (no half swap) is not implemented"),
    ("bidirectional", True, "unidirectional Mamba is not implemented"),
    ("bidirectional_strategy", "add", "only the 'add' combination is implemented"),
    ("bidirectional_weight_tie", True, "untied in_proj/out_proj of the reverse Mamba are not implemented"),
)
_SSM_FIXED: tuple[tuple[str, Any], ...] = (("conv_bias", True), ("bias", False))

# Fields of the official config.json that do not affect inference; written unchanged by
# ``to_official_dict`` so a demo model directory looks like a real one.
_OFFICIAL_PASSTHROUGH: dict[str, Any] = {
    "architectures": ["CaduceusForMaskedLM"],
    "auto_map": {
        "AutoConfig": "configuration_caduceus.CaduceusConfig",
        "AutoModel": "modeling_caduceus.Caduceus",
        "AutoModelForMaskedLM": "modeling_caduceus.CaduceusForMaskedLM",
        "AutoModelForSequenceClassification": "modeling_caduceus.CaduceusForSequenceClassification",
    },
    "initializer_cfg": {
        "initializer_range": 0.02,
        "n_residuals_per_layer": 1,
        "rescale_prenorm_residual": True,
    },
    "model_type": "caduceus",
    "pad_vocab_size_multiple": 8,
    "residual_in_fp32": False,
    "torch_dtype": "float32",
    "transformers_version": "4.38.1",
}
_SSM_PASSTHROUGH: dict[str, Any] = {
    "dt_init": "random",
    "dt_init_floor": 0.0001,
    "dt_max": 0.1,
    "dt_min": 0.001,
    "dt_scale": 1.0,
    "use_fast_path": True,
}


@dataclass(frozen=True)
class CaduceusConfig:
    """Architecture hyper-parameters (names as in the official config.json and its ``ssm_cfg``).

    ``complement_map[i]`` is the id of the complement of token ``i`` (length ``vocab_size``).
    """

    d_model: int
    n_layer: int
    vocab_size: int
    rcps: bool
    complement_map: tuple[int, ...]
    d_state: int = 16
    d_conv: int = 4
    expand: int = 2
    dt_rank: int | str = "auto"
    norm_epsilon: float = 1e-5

    @property
    def d_inner(self) -> int:
        return self.expand * self.d_model

    @property
    def dt_rank_value(self) -> int:
        """``"auto"`` -> ceil(d_model / 16), as the official Mamba."""
        return math.ceil(self.d_model / 16) if self.dt_rank == "auto" else int(self.dt_rank)

    @property
    def hidden_size(self) -> int:
        """Width of the last hidden state: 2 * d_model for PS (both strands), d_model for PH."""
        return 2 * self.d_model if self.rcps else self.d_model

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "config") -> CaduceusConfig:
        """Validate and convert a parsed config.json; ``source`` names the file in error messages."""
        missing = [name for name in _REQUIRED if name not in raw]
        if missing:
            raise ModelLoadError(
                f"{source} lacks required field(s) {missing}. Use the config.json shipped with a "
                "kuleshov-group/caduceus-* checkpoint (or one written by the Caduceus demo-model writer)."
            )
        for name, expected, why in _FIXED_FIELDS:
            if name in raw and raw[name] != expected:
                raise ModelLoadError(
                    f"{source}: {name}={raw[name]!r} is not supported ({why}); expected {expected!r}."
                )
        ssm = raw.get("ssm_cfg") or {}
        for name, expected in _SSM_FIXED:
            if name in ssm and ssm[name] != expected:
                raise ModelLoadError(
                    f"{source}: ssm_cfg.{name}={ssm[name]!r} is not supported; expected {expected!r}."
                )
        values: dict[str, Any] = {name: raw[name] for name in ("d_model", "n_layer", "vocab_size")}
        values.update({name: ssm[name] for name in ("d_state", "d_conv", "expand", "dt_rank") if name in ssm})
        for name, value in values.items():
            if name == "dt_rank" and value == "auto":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ModelLoadError(
                    f"{source}: {name}={value!r} must be a positive integer; fix that value."
                )
        if not isinstance(raw["rcps"], bool):
            raise ModelLoadError(
                f"{source}: rcps={raw['rcps']!r} must be true (Caduceus-PS) or false (Caduceus-PH)."
            )
        eps = raw.get("norm_epsilon", 1e-5)
        if isinstance(eps, bool) or not isinstance(eps, int | float) or not 0 < eps < 1:
            raise ModelLoadError(
                f"{source}: norm_epsilon={eps!r} must be a number in (0, 1); fix that value."
            )
        return cls(
            **values,
            rcps=raw["rcps"],
            norm_epsilon=float(eps),
            complement_map=_complement_map(raw.get("complement_map"), values["vocab_size"], source),
        )

    @classmethod
    def from_json(cls, path: Path) -> CaduceusConfig:
        """Read ``config.json``; unknown fields are ignored."""
        return cls.from_dict(read_config_json(path), source=str(path))

    def to_official_dict(self) -> dict[str, Any]:
        """All fields of the official config.json, with this config's architecture values."""
        fields = {
            **_OFFICIAL_PASSTHROUGH,
            **{name: expected for name, expected, _ in _FIXED_FIELDS},
            # keys in numeric order, as save_pretrained writes them (the official loader reads them in order)
            "complement_map": {str(i): c for i, c in enumerate(self.complement_map)},
            "d_model": self.d_model,
            "n_layer": self.n_layer,
            "norm_epsilon": self.norm_epsilon,
            "rcps": self.rcps,
            "ssm_cfg": dict(
                sorted(
                    {
                        **_SSM_PASSTHROUGH,
                        **dict(_SSM_FIXED),
                        "d_conv": self.d_conv,
                        "d_state": self.d_state,
                        "dt_rank": self.dt_rank,
                        "expand": self.expand,
                    }.items()
                )
            ),
            "vocab_size": self.vocab_size,
        }
        return dict(sorted(fields.items()))


def _complement_map(raw: Any, vocab_size: int, source: str) -> tuple[int, ...]:
    """Read the complement map by integer key (JSON keys are strings); ids absent map to themselves."""
    if raw is None:
        raise ModelLoadError(
            f"{source} lacks complement_map; every Caduceus config.json has one. Re-download it."
        )
    if not isinstance(raw, dict):
        raise ModelLoadError(
            f"{source}: complement_map must be a JSON object of id -> id; re-download config.json."
        )
    try:
        mapping = {int(key): int(value) for key, value in raw.items()}
    except (TypeError, ValueError) as err:
        raise ModelLoadError(
            f"{source}: complement_map has a non-integer entry ({err}); re-download config.json."
        ) from err
    out_of_range = sorted(k for k, v in mapping.items() if not (0 <= k < vocab_size and 0 <= v < vocab_size))
    if out_of_range:
        raise ModelLoadError(
            f"{source}: complement_map entries {out_of_range[:5]} fall outside [0, vocab_size={vocab_size}); "
            "config.json is inconsistent, re-download it."
        )
    table = tuple(mapping.get(i, i) for i in range(vocab_size))
    if any(table[table[i]] != i for i in range(vocab_size)):
        raise ModelLoadError(
            f"{source}: complement_map is not an involution (comp[comp[i]] != i); re-download config.json."
        )
    return table
