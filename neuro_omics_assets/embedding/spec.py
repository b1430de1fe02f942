"""``EmbeddingSpec``: how sequences become vectors, and its resolution against an encoder (``resolve_spec``).

A spec may leave the window to the encoder family (``window=None``); ``resolve_spec`` fills it in from
the encoder's description (``models.ModelDescription``, available without loading weights) and refuses
settings the encoder cannot honour, so a loaded engine and a description-only identity agree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from neuro_omics_assets.embedding.pooling import POOLINGS, Pooling
from neuro_omics_assets.embedding.windows import WindowSpec
from neuro_omics_assets.errors import ConfigError
from neuro_omics_assets.models import ModelDescription


@dataclass(frozen=True)
class EmbeddingSpec:
    """How sequences become vectors. ``resolve_spec`` checks it against an encoder."""

    # None: the encoder family's window (EngineTraits.default_window_tokens): DNABERT-2 2048 tokens incl.
    # [CLS]/[SEP] (about 10 kb); Caduceus its trained length (131,072 for the 131k checkpoints).
    window: WindowSpec | None = None
    # Mean over bases is the maintainers' embedding recipe (DNABERT-2) and the official Caduceus
    # downstream pooling; DNABERT-2's [CLS] was never trained for sequence embeddings (no pooler), so
    # CLS is offered for comparison. Caduceus has no [CLS]: refused.
    pooling: Pooling = "mean"
    # DNABERT-2 and Caduceus-PH are not reverse-complement equivariant; averaging both strands, whose
    # windows are cut at the same positions whichever strand a sequence is given on (windows.py), makes
    # a gene's vector independent of the strand it is read from. Caduceus-PS vectors are RC-invariant
    # by construction: there this setting changes nothing (the identity says rc_handling=equivariant).
    rc_average: bool = True
    # 16384 tokens (e.g. 8 full windows) fills an H100 in bf16 with room to spare; on CPU the batch
    # size barely matters. Results do not depend on it.
    batch_tokens: int = 16384

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ConfigError(f"EmbeddingSpec.pooling={self.pooling!r} is unknown; use one of {POOLINGS}.")
        if self.batch_tokens < 1:
            raise ConfigError(
                f"EmbeddingSpec.batch_tokens={self.batch_tokens} must be >= 1; the default is 16384."
            )


def resolve_spec(spec: EmbeddingSpec, model: ModelDescription) -> EmbeddingSpec:
    """``spec`` for the encoder ``model`` describes: its window filled in (``window=None``: the family's
    default); ConfigError for a window beyond the encoder's limit or CLS pooling without a ``[CLS]``."""
    window = spec.window if spec.window is not None else WindowSpec(max_tokens=model.traits.default_window_tokens)
    if model.traits.max_window_tokens is not None and window.max_tokens > model.traits.max_window_tokens:
        raise ConfigError(
            f"window max_tokens={window.max_tokens} exceeds what {model.name} accepts ({model.traits.max_window_tokens} "
            f"tokens incl. special tokens: the model's trained length); use at most {model.traits.max_window_tokens}, "
            "or leave max_tokens unset for the encoder's default."
        )
    if window.max_tokens <= model.traits.special_tokens:
        raise ConfigError(
            f"window max_tokens={window.max_tokens} leaves no room for bases after {model.name}'s "
            f"{model.traits.special_tokens} special token(s); use a larger window."
        )
    if spec.pooling == "cls" and not model.traits.has_cls:
        raise ConfigError(
            f"pooling='cls' needs a [CLS] state, and {model.name} has none (its tokenizer only appends [SEP]); "
            "use pooling='mean' (the official downstream pooling of this model)."
        )
    return replace(spec, window=window)
