"""tokens/vocabulary.py: the token table of the shipped DNABERT-2 tokenizer."""

from __future__ import annotations

import pytest

from neuro_omics_assets.tokens.vocabulary import repeat_unit, token_lengths


def test_vocabulary_has_4096_rows_and_every_token_round_trips_through_the_tokenizer(vocabulary, tokenizer):
    assert len(vocabulary) == 4096 and vocabulary["token_id"].tolist() == list(range(4096))
    assert vocabulary.loc[vocabulary["special"], "token"].tolist() == ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
    dna = vocabulary[~vocabulary["special"]]
    encoded = tokenizer.encode(dna["token"].tolist())
    # Each token string alone encodes to [CLS] <that token> [SEP]: the table's ids are the tokenizer's.
    assert [seq.ids.tolist() for seq in encoded] == [[tokenizer.cls_id, i, tokenizer.sep_id] for i in dna["token_id"]]


def test_derived_columns_match_hand_counts(vocabulary):
    rows = vocabulary.set_index("token")
    for token in ("CGCG", "ATATAT", "GGCAGG", "TTTTTTTT"):
        if token in rows.index:
            row = rows.loc[token]
            assert row["length"] == len(token)
            assert row["gc_fraction"] == pytest.approx(sum(b in "GC" for b in token) / len(token))
            assert row["cpg_count"] == sum(token[i : i + 2] == "CG" for i in range(len(token) - 1))
    # Reverse complements: when both are tokens they point at each other.
    paired = vocabulary[vocabulary["rc_token_id"].notna()]
    back = vocabulary.set_index("token_id").loc[paired["rc_token_id"].astype(int), "rc_token_id"]
    assert len(paired) > 0 and (back.to_numpy() == paired["token_id"].to_numpy()).all()
    assert (token_lengths(vocabulary)[:5] == 1).all()  # [UNK] stands for one base


@pytest.mark.parametrize(
    "token, unit",
    [("AAAA", "A"), ("ATATAT", "AT"), ("CAGCAGC", "CAG"), ("ACGT", None), ("ACGTACGT", None), ("A", None)],
)
def test_repeat_unit(token, unit):
    assert repeat_unit(token) == unit
