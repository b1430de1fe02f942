"""The DNABERT-2 configuration, parsed from the official ``config.json``.

Only fields that change inference are kept; every other field of the official file
(``auto_map``, dropout probabilities, ``max_position_embeddings``, ``use_cache``...) is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuro_omics_assets.errors import ModelLoadError
from neuro_omics_assets.models.loading import read_config_json

_REQUIRED_INTS = (
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "vocab_size",
)

# Fields of the official DNABERT-2-117M config.json that do not affect inference; written unchanged by
# ``to_official_dict`` so a demo model directory looks like the real one.
_OFFICIAL_PASSTHROUGH: dict[str, Any] = {
    "attention_probs_dropout_prob": 0.0,
    "auto_map": {
        "AutoConfig": "configuration_bert.BertConfig",
        "AutoModel": "bert_layers.BertModel",
        "AutoModelForMaskedLM": "bert_layers.BertForMaskedLM",
        "AutoModelForSequenceClassification": "bert_layers.BertForSequenceClassification",
    },
    "classifier_dropout": None,
    "gradient_checkpointing": False,
    "hidden_dropout_prob": 0.1,
    "initializer_range": 0.02,
    "max_position_embeddings": 512,
    "position_embedding_type": "absolute",
    "torch_dtype": "float32",
    "transformers_version": "4.28.0",
    "use_cache": True,
}


@dataclass(frozen=True)
class Dnabert2Config:
    """Architecture hyper-parameters (field names as in the official config.json)."""

    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    vocab_size: int
    type_vocab_size: int = 2
    # The reference uses 1e-12 everywhere; the MLM head hard-codes it whatever the config says.
    layer_norm_eps: float = 1e-12
    # Only the initial size of the reference's ALiBi cache: outputs do not depend on it.
    alibi_starting_size: int = 512
    # Activation of the MLM head transform only; the encoder MLP always uses exact GELU.
    hidden_act: str = "gelu"

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "config") -> Dnabert2Config:
        """Validate and convert a parsed config.json; ``source`` names the file in error messages."""
        missing = [name for name in _REQUIRED_INTS if name not in raw]
        if missing:
            raise ModelLoadError(
                f"{source} lacks required field(s) {missing}. Use the config.json shipped with "
                "zhihan1996/DNABERT-2-117M (or one written by `neuro-omics demo-model`)."
            )
        values = {name: raw[name] for name in _REQUIRED_INTS}
        for name in ("type_vocab_size", "layer_norm_eps", "alibi_starting_size", "hidden_act"):
            if raw.get(name) is not None:
                values[name] = raw[name]
        for name in (*_REQUIRED_INTS, "type_vocab_size", "alibi_starting_size"):
            value = values.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                raise ModelLoadError(
                    f"{source}: {name}={value!r} must be a positive integer; fix that value."
                )
        eps = values.get("layer_norm_eps", 1e-12)
        if isinstance(eps, bool) or not isinstance(eps, int | float) or not 0 < eps < 1:
            raise ModelLoadError(
                f"{source}: layer_norm_eps={eps!r} must be a number in (0, 1); fix that value."
            )
        config = cls(**values)
        if config.hidden_size % config.num_attention_heads != 0:
            raise ModelLoadError(
                f"{source}: hidden_size {config.hidden_size} is not divisible by num_attention_heads "
                f"{config.num_attention_heads}; every head needs the same width; fix those values."
            )
        if config.hidden_act != "gelu":
            raise ModelLoadError(
                f"{source}: hidden_act {config.hidden_act!r} is not supported; DNABERT-2 uses 'gelu' "
                "(exact erf GELU); fix that value."
            )
        return config

    @classmethod
    def from_json(cls, path: Path) -> Dnabert2Config:
        """Read ``config.json``; unknown fields are ignored."""
        return cls.from_dict(read_config_json(path), source=str(path))

    def to_official_dict(self, name_or_path: str) -> dict[str, Any]:
        """All fields of the official config.json, with this config's architecture values."""
        fields = {
            **_OFFICIAL_PASSTHROUGH,
            "_name_or_path": name_or_path,
            "alibi_starting_size": self.alibi_starting_size,
            "hidden_act": self.hidden_act,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "layer_norm_eps": self.layer_norm_eps,
            "num_attention_heads": self.num_attention_heads,
            "num_hidden_layers": self.num_hidden_layers,
            "type_vocab_size": self.type_vocab_size,
            "vocab_size": self.vocab_size,
        }
        return dict(sorted(fields.items()))
