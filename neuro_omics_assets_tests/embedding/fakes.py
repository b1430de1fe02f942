"""A stand-in for the DNABERT-2 network with the ``models.Encoder`` interface.

``FakeEncoder`` keeps the real tokenizer (the fixture's official tokenizer.json) but replaces the
network by a fixed random embedding table plus each row's mean over its real tokens, so a token's
state depends on its window's content and padded rows are 0. It counts forward passes.
"""

from __future__ import annotations

from pathlib import Path

import torch

from neuro_omics_assets.models import EngineTraits
from neuro_omics_assets.models.dnabert2 import DnaBert2Tokenizer

FIXTURE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "dnabert2-tiny"


class FakeEncoder:
    name = "fake"
    kernel = "table-lookup"
    vocab_size = 4096
    device = torch.device("cpu")
    model_dir = FIXTURE_DIR

    def __init__(self, tokenizer: DnaBert2Tokenizer, hidden_size: int = 8) -> None:
        self.tokenizer = tokenizer
        self.hidden_size = hidden_size
        self.traits = EngineTraits(  # DNABERT-2's
            vector_size=hidden_size, special_tokens=2, has_cls=True, default_window_tokens=2048,
            max_window_tokens=None, rc_equivariant=False,
        )
        self.dtype = torch.float32
        self.model_sha256 = "fake-model-sha256"
        self.tokenizer_sha256 = tokenizer.sha256
        self._table = torch.randn(self.vocab_size, hidden_size, generator=torch.Generator().manual_seed(0))
        self.calls = 0
        self.batch_sizes: list[int] = []
        self.rows_seen: list[list[int]] = []  # the real token ids of every row passed to the model

    def hidden_states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        self.batch_sizes.append(int(input_ids.shape[0]))
        self.rows_seen += [
            ids[mask.bool()].tolist() for ids, mask in zip(input_ids, attention_mask, strict=True)
        ]
        mask = attention_mask.unsqueeze(-1).to(torch.float32)  # (B, S, 1)
        states = self._table[input_ids] * mask  # (B, S, H)
        context = states.sum(1, keepdim=True) / mask.sum(1, keepdim=True)  # (B, 1, H)
        return (states + 0.5 * context) * mask
