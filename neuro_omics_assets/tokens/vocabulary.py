"""The BPE vocabulary of a DNABERT-2 ``tokenizer.json`` as a table: one row per token id.

Read straight from the file's ``model.vocab`` (token -> id) and ``added_tokens`` (the special
tokens), so the table is the tokenizer's own and needs no model.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from neuro_omics_assets.errors import TokenizerError
from neuro_omics_assets.genome.sequence import reverse_complement

VOCABULARY_COLUMNS = (
    "token_id", "token", "special", "length", "gc_fraction", "cpg_count", "repeat_unit", "low_complexity",
    "rc_token", "rc_token_id",
)
# Longest repeat unit that makes a token "low complexity": homopolymers (1), dinucleotide (2) and
# trinucleotide (3) repeats — the short tandem repeats that DUST and RepeatMasker's simple-repeat
# class flag; longer periods in a <= 32 bp token are at most two copies, not a repeat.
MAX_REPEAT_UNIT = 3


def read_vocabulary(tokenizer_json: str | Path) -> dict[str, int]:
    """Token string -> id for every token of ``tokenizer_json``, special tokens included."""
    path = Path(tokenizer_json)
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
        vocab = dict(spec["model"]["vocab"])
        vocab.update({entry["content"]: entry["id"] for entry in spec.get("added_tokens", [])})
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TokenizerError(f"{path} is not a BPE tokenizer.json with model.vocab ({exc}); use DNABERT-2's.") from exc
    if sorted(vocab.values()) != list(range(len(vocab))):
        raise TokenizerError(f"{path}: token ids are not 0..{len(vocab) - 1} without gaps; the file is damaged.")
    return vocab


def repeat_unit(token: str) -> str | None:
    """Shortest unit of length <= ``MAX_REPEAT_UNIT`` whose tandem copies (at least two) make up ``token``.

    ``'ATATAT'`` -> ``'AT'``, ``'CAGCAGC'`` -> ``'CAG'`` (a partial last copy counts), ``'ACGT'`` -> None.
    """
    for period in range(1, MAX_REPEAT_UNIT + 1):
        if len(token) >= 2 * period and all(token[i] == token[i - period] for i in range(period, len(token))):
            return token[:period]
    return None


def vocabulary_table(tokenizer_json: str | Path) -> pd.DataFrame:
    """One row per token id (4,096 for DNABERT-2), columns ``VOCABULARY_COLUMNS``.

    ``length`` is in bases (0 for special tokens); ``gc_fraction`` (G+C)/length and ``cpg_count``
    (occurrences of ``CG``) are null/0 for special tokens; ``low_complexity`` is True when
    ``repeat_unit`` is set; ``rc_token`` is the reverse complement string and ``rc_token_id`` its id
    when it is itself a token (null otherwise; a palindrome such as ``ACGT`` is its own).
    """
    vocab = read_vocabulary(tokenizer_json)
    rows = []
    for token, token_id in sorted(vocab.items(), key=lambda item: item[1]):
        special = token.startswith("[") and token.endswith("]")
        if special:
            rows.append({"token_id": token_id, "token": token, "special": True, "length": 0, "gc_fraction": None,
                         "cpg_count": 0, "repeat_unit": None, "low_complexity": False, "rc_token": None,
                         "rc_token_id": None})
            continue
        unit = repeat_unit(token)
        rc = reverse_complement(token)
        rows.append({
            "token_id": token_id,
            "token": token,
            "special": False,
            "length": len(token),
            "gc_fraction": (token.count("G") + token.count("C")) / len(token),
            "cpg_count": token.count("CG"),
            "repeat_unit": unit,
            "low_complexity": unit is not None,
            "rc_token": rc,
            "rc_token_id": vocab.get(rc),
        })
    table = pd.DataFrame(rows, columns=list(VOCABULARY_COLUMNS))
    table["rc_token_id"] = table["rc_token_id"].astype("Int64")
    table["gc_fraction"] = table["gc_fraction"].astype(float)
    return table


def token_lengths(vocabulary: pd.DataFrame) -> np.ndarray:
    """``int64 (vocab_size,)``: bases per token id; special tokens count 1 (``[UNK]`` stands for one base)."""
    lengths = np.zeros(int(vocabulary["token_id"].max()) + 1, dtype=np.int64)
    lengths[vocabulary["token_id"].to_numpy()] = vocabulary["length"].to_numpy()
    return np.maximum(lengths, 1)
