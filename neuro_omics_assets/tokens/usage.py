"""Tokenize region sequences with the DNABERT-2 tokenizer and count token use per region class."""

from __future__ import annotations

import numpy as np
import pandas as pd

from neuro_omics_assets.models.dnabert2.tokenizer import DnaBert2Tokenizer
from neuro_omics_assets.tokens.regions import REGION_CLASSES

USAGE_COLUMNS = ("region_class", "token_id", "token", "length", "count", "frequency", "class_tokens", "class_bases")


def tokenize_regions(tokenizer: DnaBert2Tokenizer, regions: pd.DataFrame) -> pd.DataFrame:
    """``regions`` (from ``regions.region_sequences``) without ``sequence``, plus ``token_ids``
    (``int32 (n_tokens,)`` per row, no ``[CLS]``/``[SEP]``) and ``n_tokens``.

    Each piece is tokenized on its own, as the model would see it if it were the whole input.
    """
    encoded = tokenizer.encode(regions["sequence"].tolist()) if len(regions) else []
    out = regions.drop(columns=["sequence"]).copy()
    out["token_ids"] = [np.asarray(seq.ids[1:-1], dtype=np.int32) for seq in encoded]
    out["n_tokens"] = [len(ids) for ids in out["token_ids"]]
    return out


def class_counts(tokenized: pd.DataFrame, vocab_size: int) -> dict[str, np.ndarray]:
    """Region class -> ``int64 (vocab_size,)`` token counts, for the classes present in ``tokenized``."""
    counts = {}
    for name in REGION_CLASSES:
        rows = tokenized.loc[tokenized["region_class"] == name, "token_ids"]
        if len(rows):
            counts[name] = np.bincount(np.concatenate(rows.to_list()), minlength=vocab_size).astype(np.int64)
    return counts


def usage_table(counts: dict[str, np.ndarray], vocabulary: pd.DataFrame, lengths: np.ndarray) -> pd.DataFrame:
    """One row per (region class, token used there): count, frequency (count / class_tokens), and the
    class's total tokens and bases (``class_bases / class_tokens`` = mean bases per token)."""
    frames = []
    for name, count in counts.items():
        used = np.flatnonzero(count)
        total = int(count.sum())
        frames.append(pd.DataFrame({
            "region_class": name,
            "token_id": used.astype(np.int64),
            "token": vocabulary["token"].to_numpy()[used],
            "length": vocabulary["length"].to_numpy()[used].astype(np.int64),
            "count": count[used],
            "frequency": count[used] / total,
            "class_tokens": total,
            "class_bases": int((count * lengths).sum()),
        }))
    if not frames:
        return pd.DataFrame(columns=list(USAGE_COLUMNS))
    return pd.concat(frames, ignore_index=True).loc[:, list(USAGE_COLUMNS)]


def class_summary(usage: pd.DataFrame) -> pd.DataFrame:
    """Per class: tokens, bases, bases per token, distinct tokens, and the three most frequent tokens."""
    rows = []
    for name, group in usage.groupby("region_class", sort=False):
        top = group.nlargest(3, "count")
        rows.append({
            "region_class": name,
            "tokens": int(group["class_tokens"].iat[0]),
            "bases": int(group["class_bases"].iat[0]),
            "bases_per_token": round(group["class_bases"].iat[0] / group["class_tokens"].iat[0], 3),
            "distinct_tokens": len(group),
            "top_tokens": ", ".join(f"{t} ({f:.2%})" for t, f in zip(top["token"], top["frequency"], strict=True)),
        })
    return pd.DataFrame(rows)
