"""Engine behaviour with ``FakeEncoder`` (real tokenizer, stand-in network)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from neuro_omics_assets.embedding.cache import CACHE_FORMAT_VERSION
from neuro_omics_assets.embedding.engine import EmbeddingEngine, EmbeddingSpec
from neuro_omics_assets.embedding.identity import NUMERICS_VERSION, code_fingerprint
from neuro_omics_assets.embedding.pooling import vectors_from_window_stats
from neuro_omics_assets.embedding.windows import WINDOW_ALGORITHM, WindowSpec, cut_windows
from neuro_omics_assets.errors import ConfigError, SequenceError
from neuro_omics_assets.genome.sequence import reverse_complement
from neuro_omics_assets_tests.embedding.fakes import FakeEncoder


def _random_dna(n: int, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice("ACGT") for _ in range(n))


def _spec(max_tokens: int = 32, **kwargs: object) -> EmbeddingSpec:
    return EmbeddingSpec(window=WindowSpec(max_tokens=max_tokens), **kwargs)  # type: ignore[arg-type]


def test_result_fields_and_counts(fake_encoder: FakeEncoder) -> None:
    sequence = _random_dna(700, 1) + "NNNN" + "ryk" + _random_dna(293, 2)  # 1000 bp, 4 N, 3 IUPAC
    result = EmbeddingEngine(fake_encoder, _spec()).embed({"g1": sequence})
    emb = result["g1"]
    windows = cut_windows(sequence.upper(), fake_encoder.tokenizer, WindowSpec(max_tokens=32))
    assert emb.n_windows == len(windows) > 5
    assert (emb.n_bases, emb.n_count, emb.iupac_count) == (1000, 4, 3)
    forward_tokens = fake_encoder.tokenizer.encode([sequence[w.start : w.end].upper() for w in windows])
    assert emb.n_tokens == sum(len(t.ids) - 2 for t in forward_tokens)
    assert emb.vector.shape == (8,) and emb.vector.dtype == np.float32
    np.testing.assert_allclose(emb.vector, (emb.forward + emb.reverse) / 2, rtol=1e-6)  # mean, RC-averaged
    assert -1 <= emb.rc_cosine <= 1 and emb.rc_cosine < 0.9999  # the fake is not RC-equivariant
    assert result.vectors().shape == (1, 8)


def test_forward_and_reverse_windows_cover_the_same_bases(fake_encoder: FakeEncoder) -> None:
    sequence = _random_dna(2000, 3)
    result = EmbeddingEngine(fake_encoder, _spec()).embed([("g1", sequence)])
    stats = result.window_stats[result["g1"].sha256]
    forward, reverse = stats.strand_rows("forward"), stats.strand_rows("reverse_complement")
    np.testing.assert_array_equal(forward.window_start, reverse.window_start)
    np.testing.assert_array_equal(forward.window_end, reverse.window_end)
    np.testing.assert_array_equal(forward.n_bases, reverse.n_bases)
    assert forward.n_bases.sum() == 2000 and forward.window_start[0] == 0 and forward.window_end[-1] == 2000
    np.testing.assert_array_equal(forward.window_index, np.arange(stats.n_windows))


def test_reverse_complement_windows_are_embedded_as_written(fake_encoder: FakeEncoder) -> None:
    """The reverse vector equals base-weighted forward vectors of each window's reverse complement,
    embedded separately: the RC of window [s, e) is reverse_complement(seq[s:e])."""
    sequence = _random_dna(1500, 4)
    engine = EmbeddingEngine(fake_encoder, _spec(rc_average=False))
    emb = engine.embed({"g": sequence})["g"]
    windows = cut_windows(sequence, fake_encoder.tokenizer, WindowSpec(max_tokens=32))
    pieces = {f"w{w.index}": reverse_complement(sequence[w.start : w.end]) for w in windows}
    separately = engine.embed(pieces)
    lengths = np.array([w.end - w.start for w in windows], dtype=np.float64)
    expected = sum(n * separately[f"w{w.index}"].forward for n, w in zip(lengths, windows, strict=True))
    np.testing.assert_allclose(emb.reverse, expected / lengths.sum(), rtol=1e-5, atol=1e-6)


def test_rc_average_is_the_mean_of_forward_only_and_rc_only_runs(fake_encoder: FakeEncoder) -> None:
    sequence = _random_dna(120, 5)  # one 64-token window
    averaged = EmbeddingEngine(fake_encoder, _spec(64)).embed({"g": sequence})["g"]
    single = EmbeddingEngine(fake_encoder, _spec(64, rc_average=False))
    forward_only = single.embed({"g": sequence})["g"]
    rc_only = single.embed({"g": reverse_complement(sequence)})["g"]
    assert averaged.n_windows == 1
    np.testing.assert_allclose(averaged.vector, (forward_only.vector + rc_only.vector) / 2, rtol=1e-6)


def test_lowercase_is_upper_cased_and_identical_sequences_run_once(fake_encoder: FakeEncoder) -> None:
    sequence = _random_dna(400, 6)
    engine = EmbeddingEngine(fake_encoder, _spec())
    result = engine.embed({"upper": sequence, "lower": sequence.lower(), "copy": sequence})
    windows = cut_windows(sequence, fake_encoder.tokenizer, WindowSpec(max_tokens=32))
    assert len(fake_encoder.rows_seen) == 2 * len(windows)  # one sequence, both strands, once
    assert len(result.window_stats) == 1
    np.testing.assert_array_equal(result["upper"].vector, result["lower"].vector)
    assert result["lower"].sha256 == result["upper"].sha256
    assert list(result.sequences) == ["upper", "lower", "copy"]


def test_vectors_are_recomputed_from_the_window_table(fake_encoder: FakeEncoder) -> None:
    sequences = {"a": _random_dna(900, 7), "b": _random_dna(300, 8)}
    result = EmbeddingEngine(fake_encoder, _spec(pooling="cls")).embed(sequences)
    table = result.window_table()
    assert set(table) == {
        "sha256", "window_index", "window_start", "window_end", "strand",
        "n_tokens", "n_bases", "token_sum", "cls",
    }  # fmt: skip
    assert table["token_sum"].shape == (len(table["sha256"]), 8)
    for sequence_id in sequences:
        emb = result[sequence_id]
        stats = result.window_stats[emb.sha256]
        assert (table["sha256"] == emb.sha256).sum() == 2 * emb.n_windows
        np.testing.assert_array_equal(vectors_from_window_stats(stats, "cls", True).vector, emb.vector)
        recomputed_mean = vectors_from_window_stats(stats, "mean", False).vector
        np.testing.assert_array_equal(recomputed_mean, emb.forward)


def test_vector_does_not_depend_on_batch_size_or_neighbours(tokenizer) -> None:
    target = _random_dna(3000, 9)
    neighbours = {f"n{i}": _random_dna(200 * (i + 1), 10 + i) for i in range(4)}
    small = EmbeddingEngine(FakeEncoder(tokenizer), _spec(batch_tokens=32)).embed({"t": target})
    big_encoder = FakeEncoder(tokenizer)
    big = EmbeddingEngine(big_encoder, _spec(batch_tokens=4096)).embed({**neighbours, "t": target})
    assert max(big_encoder.batch_sizes) > 1
    np.testing.assert_allclose(small["t"].vector, big["t"].vector, rtol=1e-5, atol=1e-6)


def test_counters_and_token_budget(fake_encoder: FakeEncoder) -> None:
    engine = EmbeddingEngine(fake_encoder, _spec(batch_tokens=128))
    engine.embed({"g": _random_dna(1000, 11)})
    assert engine.model_calls == fake_encoder.calls > 1
    assert engine.tokens_processed == sum(len(row) for row in fake_encoder.rows_seen)
    assert engine.tokens_per_second > 0
    assert all(size * 32 <= 128 for size in fake_encoder.batch_sizes)  # windows are <= 32 tokens
    assert (engine.cache_hits, engine.cache_misses) == (0, 0)  # no cache configured


def test_progress_bar_goes_to_stderr_only_when_asked(fake_encoder: FakeEncoder, capsys) -> None:
    engine = EmbeddingEngine(fake_encoder, _spec())
    engine.embed({"g": _random_dna(100, 12)})
    assert capsys.readouterr() == ("", "")
    engine.embed({"g": _random_dna(100, 12)}, progress=True)
    out, err = capsys.readouterr()
    assert out == "" and "1/1" in err


def test_empty_input_gives_an_empty_result(fake_encoder: FakeEncoder) -> None:
    result = EmbeddingEngine(fake_encoder, _spec()).embed({})
    assert result.sequences == {} and fake_encoder.calls == 0
    assert result.vectors().shape == (0, 8)
    table = result.window_table()
    assert table["token_sum"].shape == (0, 8) and table["n_bases"].dtype == np.int64


def test_lineage_names_everything_that_identifies_the_vectors(fake_encoder: FakeEncoder) -> None:
    engine = EmbeddingEngine(fake_encoder, _spec(pooling="cls", rc_average=False))
    lineage = engine.lineage()
    assert lineage.pop("code_fingerprint") == code_fingerprint() and len(code_fingerprint()) == 64
    assert lineage.pop("embedding_identity") == engine.identity.digest()
    assert lineage == {
        "encoder": "fake",
        "model_sha256": "fake-model-sha256",
        "tokenizer_sha256": "5d178e8ce2ba55df97fff197f4b30f40133b95d7096be398c2df6b526c5d8cd3",  # official
        "dtype": "float32",
        "device_class": "cpu",
        "kernel": "table-lookup",
        "window_algorithm": WINDOW_ALGORITHM,
        "window_max_tokens": 32,
        "pooling": "cls",
        "rc_averaged": False,
        "rc_handling": "forward_only",
        "numerics_version": NUMERICS_VERSION,
        "vocab_size": 4096,
        "hidden_size": 8,
        "vector_size": 8,
        "cache_format": CACHE_FORMAT_VERSION,
    }


@pytest.mark.parametrize(
    ("sequence", "message"),
    [
        ("", r"'bad' is empty"),
        ("ACGTU", r"'bad' holds 'U' at 0-based position 4"),  # RNA
        ("ACG-T", r"'bad' holds '-' at 0-based position 3"),  # alignment gap
        ("ACGT\nACGT", r"'bad' holds whitespace '\\n' at 0-based position 4"),  # unjoined FASTA lines
    ],
)
def test_bad_sequences_are_rejected_with_id_and_position(
    fake_encoder: FakeEncoder, sequence: str, message: str
) -> None:
    with pytest.raises(SequenceError, match=message):
        EmbeddingEngine(fake_encoder, _spec()).embed({"ok": "ACGT", "bad": sequence})
    assert fake_encoder.calls == 0


def test_repeated_id_is_rejected(fake_encoder: FakeEncoder) -> None:
    with pytest.raises(SequenceError, match="'g' appears more than once"):
        EmbeddingEngine(fake_encoder, _spec()).embed([("g", "ACGT"), ("g", "ACGA")])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"pooling": "max"}, "pooling='max'"), ({"batch_tokens": 0}, "batch_tokens=0")],
)
def test_spec_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        EmbeddingSpec(**kwargs)  # type: ignore[arg-type]
