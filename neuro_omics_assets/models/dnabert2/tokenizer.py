"""The frozen DNABERT-2 BPE tokenizer over the model's ``tokenizer.json`` (``tokenizers`` library).

Reproduces the official ids exactly, including its lack of normalisation: lower-case bases, ``N``
and any other non-ACGT character each become one ``[UNK]``; whitespace splits words. Callers that
want upper-casing do it before ``encode`` (the embedding pipeline does, and counts N bases).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer

from neuro_omics_assets.checksums import file_sha256
from neuro_omics_assets.errors import SequenceError, TokenizerError
from neuro_omics_assets.models import TokenizedSequence, pad_right

__all__ = ["OFFICIAL_TOKENIZER_SHA256", "DnaBert2Tokenizer", "TokenizedSequence"]

# sha256 of tokenizer.json in zhihan1996/DNABERT-2-117M (HF revision d064dec, git blob 3b3ab6d7).
OFFICIAL_TOKENIZER_SHA256 = "5d178e8ce2ba55df97fff197f4b30f40133b95d7096be398c2df6b526c5d8cd3"
_SPECIAL_TOKENS = ("[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]")


class DnaBert2Tokenizer:
    """DNABERT-2 tokenizer frozen by checksum.

    ``expected_sha256`` defaults to the official file's checksum; pass None to accept another
    tokenizer.json (its checksum is still recorded in ``sha256``).
    """

    special_tokens = 2  # [CLS] first, [SEP] last
    one_token_per_base = False  # BPE: a token covers one to a dozen or more bases

    def __init__(self, path: Path, expected_sha256: str | None = OFFICIAL_TOKENIZER_SHA256) -> None:
        path = Path(path)
        if not path.is_file():
            raise TokenizerError(
                f"{path} does not exist. Copy tokenizer.json from zhihan1996/DNABERT-2-117M into the model "
                "directory (or write a random demo model with `neuro-omics demo-model --out DIR`)."
            )
        self.path = path
        self.sha256 = file_sha256(path)
        if expected_sha256 is not None and self.sha256 != expected_sha256:
            raise TokenizerError(
                f"{path} has sha256 {self.sha256}, expected {expected_sha256} (the official DNABERT-2 "
                "tokenizer). Replace it with tokenizer.json from zhihan1996/DNABERT-2-117M, or pass "
                "expected_sha256=None to use a custom tokenizer on purpose."
            )
        try:
            self._tokenizer = Tokenizer.from_file(str(path))
        except Exception as err:  # the Rust side raises a bare Exception for any parse failure
            raise TokenizerError(f"{path} cannot be parsed by `tokenizers` ({err}); re-download it.") from err
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self.vocab_size = self._tokenizer.get_vocab_size(with_added_tokens=True)
        ids = {token: self._tokenizer.token_to_id(token) for token in _SPECIAL_TOKENS}
        absent = [token for token, token_id in ids.items() if token_id is None]
        if absent:
            raise TokenizerError(
                f"{path} lacks special token(s) {absent}; use the official DNABERT-2 tokenizer.json."
            )
        self.unk_id, self.cls_id, self.sep_id, self.pad_id, self.mask_id = (ids[t] for t in _SPECIAL_TOKENS)

    def encode(self, sequences: list[str]) -> list[TokenizedSequence]:
        """Tokenize each sequence as the official tokenizer does: ``[CLS] tokens [SEP]``, no truncation."""
        if isinstance(sequences, str) or not all(isinstance(seq, str) for seq in sequences):
            raise SequenceError(
                f"encode takes a list of str, got {type(sequences).__name__}; wrap a single sequence as [seq]."
            )
        encodings = self._tokenizer.encode_batch(list(sequences))
        return [
            TokenizedSequence(
                ids=np.asarray(enc.ids, dtype=np.int64),
                base_lengths=np.asarray([end - start for start, end in enc.offsets], dtype=np.int32),
            )
            for enc in encodings
        ]

    def pad(
        self,
        tokenized: list[TokenizedSequence],
        device: torch.device | str = "cpu",
        length: int | None = None,
    ) -> dict[str, torch.Tensor]:
        """Right-pad with ``[PAD]`` to ``length`` (default: the longest sequence); see ``models.pad_right``."""
        return pad_right(tokenized, self.pad_id, device, length)
