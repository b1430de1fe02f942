"""DNA foundation models behind one small contract.

``Encoder`` is what the embedding layer codes against: tokenize sequences, run them, read the
per-token hidden states, and the few facts the engine needs to window and pool them (``EngineTraits``).
``TokenizedSequence`` is the tokenizer output every encoder shares. Concrete models live in subpackages
(``models.dnabert2``, ``models.caduceus``; ``models.registry`` picks one for a directory); this module
imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from neuro_omics_assets.errors import ConfigError, SequenceError

__all__ = [
    "Encoder", "EngineTraits", "ModelDescription", "SequenceTokenizer", "TokenizedSequence", "describe",
    "dtype_name", "pad_right",
]


@dataclass(frozen=True, eq=False)
class TokenizedSequence:
    """One tokenized DNA sequence, special tokens included.

    ids: int64 (S,) token ids, e.g. ``[CLS] ... [SEP]`` (DNABERT-2) or ``... [SEP]`` (Caduceus).
    base_lengths: int32 (S,) number of input characters each token covers (from the tokenizer's
    character offsets); 0 for special tokens. Whitespace between words is covered by no token.
    """

    ids: np.ndarray
    base_lengths: np.ndarray

    def __len__(self) -> int:
        return int(self.ids.shape[0])


def pad_right(
    tokenized: list[TokenizedSequence], pad_id: int, device: torch.device | str = "cpu", length: int | None = None
) -> dict[str, torch.Tensor]:
    """Right-pad with ``pad_id`` to ``length`` (default: the longest sequence): ``input_ids`` and
    ``attention_mask``, int64 (B, length) on ``device``; mask 1 = real token. Every tokenizer's ``pad``."""
    if not tokenized:
        raise SequenceError("pad got no sequences; pass at least one TokenizedSequence.")
    longest = max(len(seq) for seq in tokenized)
    length = longest if length is None else length
    if length < longest:
        raise ConfigError(f"pad length {length} is shorter than the longest sequence ({longest} tokens).")
    input_ids = np.full((len(tokenized), length), pad_id, dtype=np.int64)
    attention_mask = np.zeros((len(tokenized), length), dtype=np.int64)
    for row, seq in enumerate(tokenized):
        input_ids[row, : len(seq)] = seq.ids
        attention_mask[row, : len(seq)] = 1
    return {
        "input_ids": torch.from_numpy(input_ids).to(device),
        "attention_mask": torch.from_numpy(attention_mask).to(device),
    }


@runtime_checkable
class SequenceTokenizer(Protocol):
    """A frozen tokenizer: sequences to ids, and ids to a right-padded batch.

    ``special_tokens``: tokens ``encode`` adds to every sequence (covering no base); ``one_token_per_base``:
    every base is exactly one token (a character tokenizer), so both strands of a window tokenize to the
    same length.
    """

    sha256: str
    vocab_size: int
    pad_id: int
    special_tokens: int
    one_token_per_base: bool

    def encode(self, sequences: list[str]) -> list[TokenizedSequence]: ...

    def pad(
        self, tokenized: list[TokenizedSequence], device: torch.device | str, length: int | None = None
    ) -> dict[str, torch.Tensor]: ...


@runtime_checkable
class Encoder(Protocol):
    """A loaded sequence model that returns per-token hidden states.

    ``hidden_states(input_ids, attention_mask)`` takes int64 (B, S) tensors on ``device`` and returns
    ``dtype`` (B, S, hidden_size) with rows at padded positions exactly 0. ``name`` is the encoder
    (``dnabert2``, ``caduceus_ps``, ``caduceus_ph``), ``kernel`` its explicitly chosen compute kernel
    (recorded in the identity).

    ``traits`` (``EngineTraits``) is what the engine needs besides. An RC-equivariant encoder
    (``traits.rc_equivariant``) also has ``rc_invariant_tokens(hidden)`` -> (..., ``traits.vector_size``)
    per-token states that are the same for a base pair read on either strand; for any other encoder
    ``traits.vector_size == hidden_size``.
    """

    name: str
    kernel: str
    tokenizer: SequenceTokenizer
    hidden_size: int
    vocab_size: int
    model_sha256: str
    tokenizer_sha256: str
    device: torch.device
    dtype: torch.dtype
    model_dir: Path
    traits: EngineTraits

    def tokenize(self, sequences: list[str]) -> dict[str, torch.Tensor]: ...

    def hidden_states(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None
    ) -> torch.Tensor: ...


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.bfloat16`` → ``"bfloat16"``: the name recorded in identities and metadata."""
    return str(dtype).removeprefix("torch.")


@dataclass(frozen=True)
class EngineTraits:
    """What the embedding engine needs from an encoder besides its tensors; an ``Encoder`` and the
    ``ModelDescription`` of its directory carry the same, so the engine's settings resolve without loading
    weights.

    ``vector_size``: width of the per-token vectors the engine pools. ``special_tokens``: per tokenized
    window (DNABERT-2 ``[CLS]`` + ``[SEP]`` = 2, Caduceus ``[SEP]`` = 1). ``has_cls``: position 0 is a
    ``[CLS]`` state. ``default_window_tokens``: the family's window (tokens incl. special ones);
    ``max_window_tokens``: the longest window it accepts (None: no limit). ``rc_equivariant``: one pass
    gives both strands (Caduceus-PS).
    """

    vector_size: int
    special_tokens: int
    has_cls: bool
    default_window_tokens: int
    max_window_tokens: int | None
    rc_equivariant: bool


@dataclass(frozen=True)
class ModelDescription:
    """What identifies a loaded (or configured) encoder: encoder name, weight and tokenizer checksums,
    compute dtype name, device class (``cpu``/``cuda``) and compute kernel, plus the engine ``traits``. A
    model package can say this without loading its weights (``models.registry.describe_model``)."""

    name: str
    model_sha256: str
    tokenizer_sha256: str
    dtype: str
    device_class: str
    kernel: str
    traits: EngineTraits


def describe(encoder: Encoder) -> ModelDescription:
    """The description of a loaded encoder."""
    return ModelDescription(
        name=encoder.name,
        model_sha256=encoder.model_sha256,
        tokenizer_sha256=encoder.tokenizer_sha256,
        dtype=dtype_name(encoder.dtype),
        device_class=encoder.device.type,
        kernel=encoder.kernel,
        traits=encoder.traits,
    )
