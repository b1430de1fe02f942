"""DNA foundation models behind one small contract.

``Encoder`` is what the embedding layer codes against: tokenize sequences, run them, read the
per-token hidden states. ``TokenizedSequence`` is the tokenizer output every encoder shares.
Concrete models live in subpackages (``models.dnabert2``); this module imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from neuro_omics_assets.errors import ConfigError, SequenceError

__all__ = [
    "Encoder", "ModelDescription", "SequenceTokenizer", "TokenizedSequence", "describe", "dtype_name", "pad_right",
]


@dataclass(frozen=True, eq=False)
class TokenizedSequence:
    """One tokenized DNA sequence, special tokens included.

    ids: int64 (S,) token ids, ``[CLS] ... [SEP]``.
    base_lengths: int32 (S,) number of input characters each token covers (from the tokenizer's
    character offsets); 0 for ``[CLS]``/``[SEP]``. Whitespace between words is covered by no token.
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
    """A frozen tokenizer: sequences to ids, and ids to a right-padded batch."""

    sha256: str
    vocab_size: int
    pad_id: int

    def encode(self, sequences: list[str]) -> list[TokenizedSequence]: ...

    def pad(
        self, tokenized: list[TokenizedSequence], device: torch.device | str, length: int | None = None
    ) -> dict[str, torch.Tensor]: ...


@runtime_checkable
class Encoder(Protocol):
    """A loaded sequence model that returns per-token hidden states.

    ``hidden_states(input_ids, attention_mask)`` takes int64 (B, S) tensors on ``device`` and returns
    ``dtype`` (B, S, hidden_size) with rows at padded positions exactly 0. ``name`` is the encoder
    family (``dnabert2``), ``kernel`` its explicitly chosen compute kernel (recorded in the identity).
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

    def tokenize(self, sequences: list[str]) -> dict[str, torch.Tensor]: ...

    def hidden_states(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None
    ) -> torch.Tensor: ...


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.bfloat16`` → ``"bfloat16"``: the name recorded in identities and metadata."""
    return str(dtype).removeprefix("torch.")


@dataclass(frozen=True)
class ModelDescription:
    """What identifies a loaded (or configured) encoder: family name, weight and tokenizer checksums,
    compute dtype name, device class (``cpu``/``cuda``) and compute kernel. A model package can say
    this without loading its weights (e.g. ``models.dnabert2.describe_dnabert2``)."""

    name: str
    model_sha256: str
    tokenizer_sha256: str
    dtype: str
    device_class: str
    kernel: str


def describe(encoder: Encoder) -> ModelDescription:
    """The description of a loaded encoder."""
    return ModelDescription(
        name=encoder.name,
        model_sha256=encoder.model_sha256,
        tokenizer_sha256=encoder.tokenizer_sha256,
        dtype=dtype_name(encoder.dtype),
        device_class=encoder.device.type,
        kernel=encoder.kernel,
    )
