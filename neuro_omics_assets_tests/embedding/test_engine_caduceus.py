"""The engine with native Caduceus: PS runs each window once on RC-invariant states, PH averages two passes.

PS: the caduceus-ps-tiny fixture (official code outputs). PH: a seeded demo model (``write_demo_model``),
whose encoder is checked against an independent reference in models/caduceus.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from neuro_omics_assets.embedding.engine import EmbeddingEngine, EmbeddingSpec
from neuro_omics_assets.embedding.pooling import FORWARD, REVERSE_COMPLEMENT, cosine
from neuro_omics_assets.embedding.windows import WindowSpec
from neuro_omics_assets.errors import ConfigError
from neuro_omics_assets.genome.sequence import reverse_complement
from neuro_omics_assets.models import describe
from neuro_omics_assets.models.caduceus import (
    CaduceusEncoder,
    fold_rc_halves,
    load_caduceus,
    write_demo_model,
)

FIXTURE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "caduceus-ps-tiny"


def _random_dna(n: int, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice("ACGT") for _ in range(n))


def _spec(max_tokens: int | None = None, **kwargs: object) -> EmbeddingSpec:
    window = WindowSpec(max_tokens=max_tokens) if max_tokens is not None else None
    return EmbeddingSpec(window=window, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def ps() -> CaduceusEncoder:
    return load_caduceus(FIXTURE_DIR, device="cpu", dtype="float32", scan="numba")


@pytest.fixture(scope="module")
def ph(tmp_path_factory: pytest.TempPathFactory) -> CaduceusEncoder:
    model_dir = write_demo_model(tmp_path_factory.mktemp("caduceus-ph"), rcps=False, seed=7)
    return load_caduceus(model_dir, device="cpu", dtype="float32", scan="numba")


def _alone_mean(encoder: CaduceusEncoder, sequence: str) -> np.ndarray:
    """Mean over the bases (not [SEP]) of the last hidden state of ``sequence`` + [SEP], run alone."""
    batch = encoder.tokenize([sequence])
    hidden = encoder.hidden_states(batch["input_ids"], batch["attention_mask"])[0, :-1]  # (L, H)
    return hidden.to(torch.float64).mean(0).numpy()


def test_ps_gene_and_its_reverse_complement_get_one_vector_from_one_pass_per_window(ps: CaduceusEncoder) -> None:
    sequence = _random_dna(700, seed=3)  # 7 windows of 100 bases + [SEP]
    vectors = {}
    for name, given in (("forward", sequence), ("reverse", reverse_complement(sequence))):
        engine = EmbeddingEngine(ps, _spec(101, batch_tokens=1))  # each window its own forward pass
        result = engine.embed({name: given})[name]
        assert result.n_windows == 7 and engine.model_calls == 7  # one pass per window, no RC pass
        assert engine.tokens_processed == len(sequence) + 7  # one strand: the bases and one [SEP] per window
        assert result.rc_cosine == pytest.approx(1.0, abs=1e-6)
        np.testing.assert_array_equal(result.forward, result.reverse)  # RC rows are the forward rows
        vectors[name] = result.vector
    np.testing.assert_allclose(vectors["forward"], vectors["reverse"], atol=1e-5, rtol=0)
    assert cosine(vectors["forward"], vectors["reverse"]) == pytest.approx(1.0, abs=1e-6)


def test_ps_rc_invariance_does_not_depend_on_rc_averaging(ps: CaduceusEncoder) -> None:
    sequence = _random_dna(250, seed=4)
    averaged = EmbeddingEngine(ps, _spec(rc_average=True))
    forward_only = EmbeddingEngine(ps, _spec(rc_average=False))
    np.testing.assert_array_equal(averaged.embed({"g": sequence})["g"].vector, forward_only.embed({"g": sequence})["g"].vector)
    assert averaged.identity.rc_handling == forward_only.identity.rc_handling == "equivariant"
    assert averaged.identity.rc_averaged and not forward_only.identity.rc_averaged  # the setting, as configured


def test_ps_mean_vector_is_the_official_rc_invariant_pooling(ps: CaduceusEncoder) -> None:
    """For fixture cases whose sequence is in canonical orientation (so the engine runs exactly the fixture's
    input, bases + [SEP]): the vector is the mean over the bases of the folded official last hidden state,
    and the official pooled value (whose mean also takes the [SEP] position) follows from the same fold."""
    with np.load(FIXTURE_DIR / "expected.npz") as npz:
        expected = {key: npz[key] for key in npz.files}
    cases = json.loads((FIXTURE_DIR / "cases.json").read_text())["cases"]
    checked = []
    for case in cases:
        if len(case["sequences"]) != 1 or set(case["sequences"][0].upper()) - set("ACGTN"):
            continue
        sequence = case["sequences"][0].upper()
        if reverse_complement(sequence) < sequence:
            continue  # the engine would run the reverse complement + [SEP], which the fixture does not hold
        folded = fold_rc_halves(torch.from_numpy(expected[f"{case['name']}.last_hidden_state"][0])).numpy()  # (L+1, D)
        np.testing.assert_allclose(folded.mean(0), expected[f"{case['name']}.pooled"][0], atol=1e-5)
        vector = EmbeddingEngine(ps, _spec()).embed({"g": sequence})["g"].vector
        np.testing.assert_allclose(vector, folded[:-1].mean(0), atol=1e-4, rtol=0)  # [SEP] is not a base
        checked.append(case["name"])
    assert len(checked) >= 3, checked


def test_ph_rc_average_is_the_mean_of_separate_forward_and_rc_runs(ph: CaduceusEncoder) -> None:
    sequence = _random_dna(300, seed=5)
    engine = EmbeddingEngine(ph, _spec())
    result = engine.embed({"g": sequence})["g"]
    forward, reverse = _alone_mean(ph, sequence), _alone_mean(ph, reverse_complement(sequence))
    np.testing.assert_allclose(result.forward, forward, atol=1e-5, rtol=0)
    np.testing.assert_allclose(result.reverse, reverse, atol=1e-5, rtol=0)
    np.testing.assert_allclose(result.vector, (forward + reverse) / 2, atol=1e-5, rtol=0)
    assert engine.tokens_processed == 2 * (len(sequence) + 1)  # both strands ran
    assert engine.identity.rc_handling == "posthoc_average" and result.rc_cosine < 0.9999
    assert EmbeddingEngine(ph, _spec(rc_average=False)).identity.rc_handling == "forward_only"


@pytest.mark.parametrize("encoder", ["ps", "ph"])
def test_cls_pooling_is_refused_for_caduceus(encoder: str, request: pytest.FixtureRequest) -> None:
    with pytest.raises(ConfigError, match=r"pooling='cls' needs a \[CLS\] state, and caduceus_p[sh] has none"):
        EmbeddingEngine(request.getfixturevalue(encoder), _spec(pooling="cls"))


def test_caduceus_has_no_cls_state_to_store(ps: CaduceusEncoder) -> None:
    stats = EmbeddingEngine(ps, _spec()).embed({"g": _random_dna(40, seed=6)}).window_stats
    assert np.isnan(next(iter(stats.values())).cls).all()  # absent, not a made-up vector


@pytest.mark.parametrize("rcps", [True, False])
def test_windows_never_exceed_a_small_trained_length_and_are_strand_symmetric(rcps: bool, tmp_path: Path) -> None:
    encoder = load_caduceus(
        write_demo_model(tmp_path, rcps=rcps, model_max_length=64), device="cpu", dtype="float32", scan="numba"
    )
    engine = EmbeddingEngine(encoder, _spec(batch_tokens=1))
    assert engine.spec.window == WindowSpec(max_tokens=64)  # the family default: the trained length
    sequence = _random_dna(500, seed=8)
    result = engine.embed({"s": sequence, "rc": reverse_complement(sequence)})
    passes = 1 if rcps else 2
    assert result["s"].n_windows == 8 and engine.model_calls == passes * 2 * 8  # ceil(500 / 63) windows
    stats = result.window_stats[result["s"].sha256]
    assert (stats.n_tokens + 1 <= 64).all() and stats.n_tokens.max() == 63  # bases + [SEP] within the length
    np.testing.assert_array_equal(stats.n_tokens, stats.n_bases)  # only [SEP] is not counted
    assert result["s"].n_tokens == len(sequence)
    mirrored = result.window_stats[result["rc"].sha256]
    forward, forward_rc = stats.strand == FORWARD, mirrored.strand == REVERSE_COMPLEMENT
    spans = sorted(zip(stats.window_start[forward], stats.window_end[forward], strict=True))
    spans_rc = sorted((500 - e, 500 - s) for s, e in zip(mirrored.window_start[forward_rc], mirrored.window_end[forward_rc], strict=True))
    assert spans == spans_rc  # the same genomic cuts whichever strand the gene is given on
    with pytest.raises(ConfigError, match="exceeds what caduceus_p[sh] accepts \\(64 tokens"):
        EmbeddingEngine(encoder, _spec(65))


def test_identity_records_the_encoder_kernel_and_family_window(ps: CaduceusEncoder) -> None:
    identity = EmbeddingEngine(ps, _spec()).identity
    assert (identity.encoder, identity.kernel, identity.window_max_tokens) == ("caduceus_ps", "numba", 131072)
    assert identity.tokenizer_sha256 == ps.tokenizer.sha256 and identity.model_sha256 == describe(ps).model_sha256


def test_ps_in_bfloat16_stays_rc_invariant_and_close_to_float32(ps: CaduceusEncoder) -> None:
    bf16 = load_caduceus(FIXTURE_DIR, device="cpu", dtype="bfloat16", scan="numba")
    sequence = _random_dna(400, seed=9)
    result = EmbeddingEngine(bf16, _spec()).embed({"s": sequence, "rc": reverse_complement(sequence)})
    np.testing.assert_allclose(result["s"].vector, result["rc"].vector, atol=1e-5, rtol=0)
    reference = EmbeddingEngine(ps, _spec()).embed({"s": sequence})["s"].vector
    assert cosine(result["s"].vector, reference) >= 0.999
