"""tokens/enrichment.py and tokens/jaspar.py: a planted motif is found and matched; shuffles give nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from neuro_omics_assets.tokens.enrichment import enrichment_table, exact_two_sided, log2_odds_ratio
from neuro_omics_assets.tokens.jaspar import best_matches
from neuro_omics_assets.tokens.usage import class_counts, tokenize_regions


def _random(rng: np.random.Generator, n: int) -> str:
    return "".join(rng.choice(list("ACGT"), n))


def _enrichment(tokenizer, vocabulary, rows: list[tuple[str, str]]) -> pd.DataFrame:
    tokenized = tokenize_regions(tokenizer, pd.DataFrame(rows, columns=["region_class", "sequence"]))
    counts = class_counts(tokenized, len(vocabulary))
    return enrichment_table(counts, ~vocabulary["special"].to_numpy(), vocabulary["token"].to_numpy())


def test_exact_test_doubles_fishers_one_sided_tail_and_odds_ratio_matches_hand_values():
    for a, b, c, d in [(12, 88, 3, 97), (0, 50, 7, 43), (5, 5, 5, 5)]:
        greater = stats.fisher_exact([[a, b], [c, d]], alternative="greater").pvalue
        less = stats.fisher_exact([[a, b], [c, d]], alternative="less").pvalue
        ours = exact_two_sided(np.array([a]), np.array([a + c]), a + b, a + b + c + d)[0]
        assert ours == pytest.approx(min(1.0, 2 * min(greater, less)), rel=1e-9)
    log_or, low, high = log2_odds_ratio([12], [88], [3], [97])
    odds = (12.5 * 97.5) / (88.5 * 3.5)
    half = 1.959964 * np.sqrt(1 / 12.5 + 1 / 88.5 + 1 / 3.5 + 1 / 97.5)
    assert log_or[0] == pytest.approx(np.log2(odds)) and low[0] == pytest.approx((np.log(odds) - half) / np.log(2))
    assert high[0] == pytest.approx((np.log(odds) + half) / np.log(2))


def test_planted_ctcf_motif_is_found_in_promoters_and_matched_to_its_jaspar_matrix(tokenizer, vocabulary, motifs, scorer):
    ctcf = next(m for m in motifs if m.matrix_id == "MA0139.2")
    consensus = "".join("ACGT"[i] for i in ctcf.counts.argmax(axis=1))
    assert consensus == "GCCACCAGGGGGCGC"
    rng = np.random.default_rng(1)
    rows = []
    for _ in range(60):  # 60 promoters with two planted copies each, 60 background sequences
        sequence = _random(rng, 500)
        for position in sorted(rng.choice(480, 2, replace=False))[::-1]:
            sequence = sequence[:position] + consensus + sequence[position:]
        rows += [("promoter", sequence), ("intron", _random(rng, 530))]
    table = _enrichment(tokenizer, vocabulary, rows)
    found = table[(table["region_class"] == "promoter") & (table["direction"] == "over") & (table["q_value"] < 0.01)]
    matches = best_matches(found["token"].tolist(), scorer, n_shuffles=200, seed=0)
    ctcf_tokens = matches[(matches["jaspar_id"] == "MA0139.2") & (matches["jaspar_p"] <= 0.05)]
    # A consensus fragment of 6+ bases, enriched at FDR < 0.01, best matches CTCF with shuffle p <= 0.05.
    assert len(ctcf_tokens) >= 1 and all(len(t) >= 6 and t in consensus for t in ctcf_tokens["token"])
    assert (ctcf_tokens["jaspar_tf"] == "CTCF").all()


def test_shuffled_sequences_give_no_token_at_fdr_005_in_at_least_95_percent_of_seeded_runs(tokenizer, vocabulary):
    clean = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        # The same bases dealt at random to two classes: any "enriched" token is a false discovery.
        pool = _random(rng, 40_000)
        pieces = [pool[i : i + 500] for i in range(0, len(pool), 500)]
        labels = rng.permutation(["promoter"] * 40 + ["intron"] * 40)
        table = _enrichment(tokenizer, vocabulary, list(zip(labels, pieces, strict=True)))
        clean += int((table["q_value"] >= 0.05).all())
    assert clean >= 19


def test_a_consensus_matches_its_own_matrix_on_either_strand(scorer):
    from neuro_omics_assets.genome.sequence import reverse_complement

    site = "CCGCCAGCAGGGGGCGC"  # CTCF core with flanks
    forward, reverse = best_matches([site, reverse_complement(site)], scorer, n_shuffles=50, seed=3).itertuples()
    assert forward.jaspar_tf == reverse.jaspar_tf == "CTCF"
    assert forward.jaspar_score == pytest.approx(reverse.jaspar_score) and forward.jaspar_strand != reverse.jaspar_strand
    assert forward.jaspar_p < 0.05 and forward.jaspar_p_any_matrix < 0.05
