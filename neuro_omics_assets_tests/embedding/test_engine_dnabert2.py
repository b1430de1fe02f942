"""The engine on the native DNABERT-2 with the tiny fixture model (fp32, CPU)."""

from __future__ import annotations

import random

import numpy as np
import torch

from neuro_omics_assets.embedding.cache import EmbeddingCache
from neuro_omics_assets.embedding.engine import EmbeddingEngine, EmbeddingSpec
from neuro_omics_assets.embedding.pooling import cosine
from neuro_omics_assets.embedding.windows import WindowSpec
from neuro_omics_assets.genome.sequence import reverse_complement
from neuro_omics_assets.models.dnabert2 import Dnabert2Encoder, load_dnabert2
from neuro_omics_assets_tests.embedding.fakes import FIXTURE_DIR


def _random_dna(n: int, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice("ACGT") for _ in range(n))


def _spec(max_tokens: int, **kwargs: object) -> EmbeddingSpec:
    return EmbeddingSpec(window=WindowSpec(max_tokens=max_tokens), **kwargs)  # type: ignore[arg-type]


def test_single_window_mean_matches_the_reference_hidden_state(tiny_encoder: Dnabert2Encoder) -> None:
    """Independent check against the official implementation's last hidden state (expected.npz)."""
    expected = np.load(FIXTURE_DIR / "expected.npz")
    sequence = str(expected["sequences"][0])  # README example, 59 bp, 17 tokens
    hidden = expected["seq0_last_hidden_state"][0].astype(np.float64)  # (17, 64)
    (tokens,) = tiny_encoder.tokenizer.encode([sequence])
    np.testing.assert_array_equal(tokens.ids, expected["seq0_input_ids"][0])
    by_hand = (tokens.base_lengths[:, None] * hidden).sum(0) / len(sequence)  # [CLS]/[SEP] weigh 0

    emb = EmbeddingEngine(tiny_encoder, _spec(2048)).embed({"readme": sequence})["readme"]
    assert (emb.n_windows, emb.n_tokens, emb.n_bases) == (1, 15, 59)
    np.testing.assert_allclose(emb.forward, by_hand, atol=1e-5)
    np.testing.assert_allclose(emb.cls_forward, hidden[0], atol=1e-5)


def test_vector_does_not_depend_on_batch_size_or_neighbours(tiny_encoder: Dnabert2Encoder) -> None:
    target = _random_dna(2500, 1) + "N" * 30 + _random_dna(500, 2)
    neighbours = {f"n{i}": _random_dna(150 * (i + 1), 10 + i) for i in range(5)}
    alone = EmbeddingEngine(tiny_encoder, _spec(128, batch_tokens=128)).embed({"t": target})["t"]
    crowded_engine = EmbeddingEngine(tiny_encoder, _spec(128, batch_tokens=4096))
    crowded = crowded_engine.embed({**neighbours, "t": target})["t"]
    assert alone.n_windows > 3 and crowded_engine.model_calls < alone.n_windows
    for field in ("vector", "forward", "reverse", "cls_forward", "cls_reverse"):
        np.testing.assert_allclose(getattr(alone, field), getattr(crowded, field), atol=1e-5)


def test_long_sequence_same_vector_for_small_and_large_batches(tiny_encoder: Dnabert2Encoder) -> None:
    sequence = _random_dna(50_000, 3)
    small_engine = EmbeddingEngine(tiny_encoder, _spec(128, batch_tokens=256))
    small = small_engine.embed({"long": sequence})["long"]
    large_engine = EmbeddingEngine(tiny_encoder, _spec(128, batch_tokens=4096))
    large = large_engine.embed({"long": sequence})["long"]
    assert small.n_windows > 80 and small.n_bases == 50_000  # ~575 bp per 128-token window
    assert small_engine.model_calls > 4 * large_engine.model_calls
    np.testing.assert_allclose(small.vector, large.vector, atol=1e-5)


def test_rc_average_is_the_mean_of_forward_only_and_rc_only_runs(tiny_encoder: Dnabert2Encoder) -> None:
    sequence = _random_dna(400, 4)  # ~90 tokens: one 128-token window
    averaged = EmbeddingEngine(tiny_encoder, _spec(128)).embed({"g": sequence})["g"]
    single = EmbeddingEngine(tiny_encoder, _spec(128, rc_average=False))
    forward_only = single.embed({"g": sequence})["g"].vector
    rc_only = single.embed({"g": reverse_complement(sequence)})["g"].vector
    assert averaged.n_windows == 1
    np.testing.assert_allclose(averaged.vector, (forward_only + rc_only) / 2, atol=1e-6)
    assert averaged.rc_cosine == cosine(forward_only, rc_only) < 0.999  # DNABERT-2 is not RC-equivariant


def test_bfloat16_hidden_states_pool_to_float32() -> None:
    sequence = _random_dna(3000, 5)
    fp32 = EmbeddingEngine(load_dnabert2(FIXTURE_DIR, device="cpu", dtype=torch.float32), _spec(256))
    bf16 = EmbeddingEngine(load_dnabert2(FIXTURE_DIR, device="cpu", dtype=torch.bfloat16), _spec(256))
    reference, low = fp32.embed({"g": sequence})["g"], bf16.embed({"g": sequence})["g"]
    assert low.vector.dtype == np.float32
    assert cosine(low.vector, reference.vector) > 0.99


def test_a_multi_window_gene_gets_one_vector_on_either_strand(tiny_encoder: Dnabert2Encoder) -> None:
    """A gene given on '+' (sequence s) and the same locus given on '-' (reverse_complement(s)) are cut
    at the same genomic positions, so their RC-averaged vectors agree (fp32) for every pooling."""
    plus = _random_dna(1500, 6)  # ~330 tokens: six 64-token windows
    minus = reverse_complement(plus)
    for pooling in ("mean", "cls"):
        engine = EmbeddingEngine(tiny_encoder, _spec(64, pooling=pooling))
        result = engine.embed({"plus": plus, "minus": minus})
        assert result["plus"].n_windows == result["minus"].n_windows > 3
        np.testing.assert_allclose(result["plus"].vector, result["minus"].vector, atol=1e-5)
        np.testing.assert_allclose(result["plus"].forward, result["minus"].reverse, atol=1e-5)
    stats = {key: result.window_stats[result[key].sha256].strand_rows("forward") for key in ("plus", "minus")}
    starts, ends = stats["plus"].window_start, stats["plus"].window_end
    np.testing.assert_array_equal(starts, len(plus) - stats["minus"].window_end[::-1])
    np.testing.assert_array_equal(ends, len(plus) - stats["minus"].window_start[::-1])
    assert starts.tolist() != (len(plus) - ends[::-1]).tolist()  # the cut itself is not a palindrome


def test_an_eager_cache_entry_is_never_served_to_an_sdpa_run(tmp_path, tiny_encoder: Dnabert2Encoder) -> None:
    eager = load_dnabert2(FIXTURE_DIR, device="cpu", dtype=torch.float32, attention="eager")
    cache = EmbeddingCache(tmp_path)
    sequence = {"g": _random_dna(500, 3)}
    first = EmbeddingEngine(eager, _spec(64), cache=cache)
    first.embed(sequence)
    assert (first.cache_misses, first.identity.kernel) == (1, "eager")
    fused = EmbeddingEngine(tiny_encoder, _spec(64), cache=cache)
    fused.embed(sequence)
    assert (fused.cache_hits, fused.cache_misses) == (0, 1) and fused.model_calls > 0
    assert fused.identity.kernel == "sdpa" and fused.identity.digest() != first.identity.digest()
