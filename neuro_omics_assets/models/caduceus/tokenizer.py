"""The Caduceus character tokenizer (official ``CaduceusTokenizer``), configured by ``tokenizer_config.json``.

Ids: ``[CLS]`` 0, ``[SEP]`` 1, ``[BOS]`` 2, ``[MASK]`` 3, ``[PAD]`` 4, ``[RESERVED]`` 5, ``[UNK]`` 6,
``A`` 7, ``C`` 8, ``G`` 9, ``T`` 10, ``N`` 11. Each character is upper-cased and becomes one token;
anything outside ACGTN is ``[UNK]``. As the official default call, ``encode`` appends ``[SEP]`` (nothing
in front). The official tokenizer has no vocabulary file: ``sha256`` is that of ``tokenizer_config.json``.
Batches are right-padded with ``[PAD]`` and an attention mask; the official tokenizer pads on the left,
but the encoder never lets padding reach the model (see ``encoder.py``), so the side does not matter.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from neuro_omics_assets.checksums import file_sha256
from neuro_omics_assets.errors import SequenceError, TokenizerError
from neuro_omics_assets.models import TokenizedSequence, pad_right

__all__ = ["CHARACTERS", "SPECIAL_TOKENS", "CaduceusTokenizer", "TokenizedSequence"]

SPECIAL_TOKENS = ("[CLS]", "[SEP]", "[BOS]", "[MASK]", "[PAD]", "[RESERVED]", "[UNK]")
CHARACTERS = ("A", "C", "G", "T", "N")
VOCAB = {token: i for i, token in enumerate((*SPECIAL_TOKENS, *CHARACTERS))}
COMPLEMENT = {"A": "T", "C": "G", "G": "C", "T": "A"}
# The 131k checkpoints' tokenizer_config.json says 131072; used when the file has no model_max_length.
DEFAULT_MODEL_MAX_LENGTH = 131072


def _byte_table() -> np.ndarray:
    """int64 (256,): id of each ASCII byte after upper-casing; [UNK] elsewhere."""
    table = np.full(256, VOCAB["[UNK]"], dtype=np.int64)
    for base in CHARACTERS:
        table[ord(base)] = table[ord(base.lower())] = VOCAB[base]
    return table


class CaduceusTokenizer:
    """Character-level Caduceus tokenizer, checked against ``tokenizer_config.json``."""

    special_tokens = 1  # [SEP] appended, nothing in front
    one_token_per_base = True

    def __init__(self, config_path: Path) -> None:
        config_path = Path(config_path)
        if not config_path.is_file():
            raise TokenizerError(
                f"{config_path} does not exist. Copy tokenizer_config.json from the kuleshov-group/caduceus-* "
                "checkpoint into the model directory."
            )
        try:
            raw = json.loads(config_path.read_text())
        except json.JSONDecodeError as err:
            raise TokenizerError(f"{config_path} is not valid JSON ({err}); re-download it.") from err
        self.path = config_path
        self.sha256 = file_sha256(config_path)
        self._check(raw)
        self.model_max_length = int(raw.get("model_max_length", DEFAULT_MODEL_MAX_LENGTH))
        self.vocab_size = len(VOCAB)
        self.pad_id = VOCAB["[PAD]"]
        self.sep_id = VOCAB["[SEP]"]
        self.unk_id = VOCAB["[UNK]"]
        self.mask_id = VOCAB["[MASK]"]
        self._table = _byte_table()
        self.complement_ids = np.arange(self.vocab_size, dtype=np.int64)
        for base, comp in COMPLEMENT.items():
            self.complement_ids[VOCAB[base]] = VOCAB[comp]

    def _check(self, raw: object) -> None:
        """TokenizerError unless the file describes the official character tokenizer."""
        if not isinstance(raw, dict):
            raise TokenizerError(f"{self.path} must hold a JSON object; re-download tokenizer_config.json.")
        characters = raw.get("characters", list(CHARACTERS))
        if list(characters) != list(CHARACTERS):
            raise TokenizerError(
                f"{self.path}: characters {characters} differ from {list(CHARACTERS)}; only the official "
                "ACGTN vocabulary is implemented."
            )
        declared = {
            entry.get("content"): int(i) for i, entry in (raw.get("added_tokens_decoder") or {}).items()
        }
        wrong = {tok: i for tok, i in declared.items() if VOCAB.get(tok) != i}
        if wrong:
            raise TokenizerError(
                f"{self.path}: special token ids {wrong} differ from the official ones "
                f"{ {tok: VOCAB[tok] for tok in wrong if tok in VOCAB} }; this is not a Caduceus tokenizer."
            )
        max_length = raw.get("model_max_length", DEFAULT_MODEL_MAX_LENGTH)
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length <= 0:
            raise TokenizerError(f"{self.path}: model_max_length={max_length!r} must be a positive integer.")

    def encode(self, sequences: list[str], add_special_tokens: bool = True) -> list[TokenizedSequence]:
        """One token per character, then ``[SEP]`` (unless ``add_special_tokens`` is False).

        ``base_lengths`` is 1 for every character and 0 for ``[SEP]``.
        """
        if isinstance(sequences, str) or not all(isinstance(seq, str) for seq in sequences):
            raise SequenceError(
                f"encode takes a list of str, got {type(sequences).__name__}; wrap a single sequence as [seq]."
            )
        tail = [self.sep_id] if add_special_tokens else []
        encoded = []
        for seq in sequences:
            if seq.isascii():
                ids = self._table[np.frombuffer(seq.encode("ascii"), dtype=np.uint8)]
            else:  # per character: str.upper() may turn one character into several
                ids = np.array([VOCAB.get(c.upper(), self.unk_id) for c in seq], dtype=np.int64)
            encoded.append(
                TokenizedSequence(
                    ids=np.concatenate([ids, np.array(tail, dtype=np.int64)]),
                    base_lengths=np.array([1] * len(seq) + [0] * len(tail), dtype=np.int32),
                )
            )
        return encoded

    def reverse_complement(self, ids: np.ndarray) -> np.ndarray:
        """int64 (..., S) -> the reverse complement ids (reversed along S, each id complemented)."""
        return self.complement_ids[np.asarray(ids)[..., ::-1]]

    def pad(
        self,
        tokenized: list[TokenizedSequence],
        device: torch.device | str = "cpu",
        length: int | None = None,
    ) -> dict[str, torch.Tensor]:
        """Right-pad with ``[PAD]`` to ``length`` (default: the longest sequence); see ``models.pad_right``."""
        return pad_right(tokenized, self.pad_id, device, length)
