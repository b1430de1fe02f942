"""The encoder contract: padding never changes a row, padded rows are 0, bf16, settings and errors."""

from __future__ import annotations

import pytest
import torch

from neuro_omics_assets.errors import ConfigError, DeviceError, SequenceError
from neuro_omics_assets.models import Encoder, SequenceTokenizer
from neuro_omics_assets.models.caduceus import fold_rc_halves, load_caduceus, write_demo_model
from neuro_omics_assets_tests.models.caduceus.conftest import FIXTURE_DIR

SEQUENCES = ["ACGTTGCA" * 9, "GATTACA", "acgtnnRY" * 4, "TTTT" * 18, "GATTACA"]  # two rows of one length


def test_satisfies_the_encoder_contract(ps_numba, ph_numba) -> None:
    for encoder, hidden in ((ps_numba, 64), (ph_numba, 32)):
        assert isinstance(encoder, Encoder) and isinstance(encoder.tokenizer, SequenceTokenizer)
        assert encoder.hidden_size == hidden and encoder.vocab_size == 16
        assert encoder.device == torch.device("cpu") and encoder.dtype == torch.float32
        assert encoder.scan == "numba" and encoder.max_bases == 131072
        assert len(encoder.model_sha256) == 64 and encoder.tokenizer_sha256 == encoder.tokenizer.sha256
    assert ps_numba.rc_equivariant and not ph_numba.rc_equivariant
    assert (ps_numba.name, ph_numba.name, ps_numba.kernel) == ("caduceus_ps", "caduceus_ph", "numba")


@pytest.mark.parametrize("variant", ["ps", "ph"])
@pytest.mark.parametrize("side", ["right", "left"])
def test_rows_equal_themselves_alone_and_padding_is_zero(ps_numba, ph_numba, variant: str, side: str) -> None:
    encoder = ps_numba if variant == "ps" else ph_numba
    batch = encoder.tokenize(SEQUENCES)  # right-padded
    ids, mask = batch["input_ids"], batch["attention_mask"]
    if side == "left":  # the official tokenizer's side
        lengths = mask.sum(1)
        ids = torch.stack([row.roll(int(ids.shape[1] - n)) for row, n in zip(ids, lengths, strict=True)])
        mask = torch.stack([row.roll(int(mask.shape[1] - n)) for row, n in zip(mask, lengths, strict=True)])
    hidden, logits = encoder.hidden_states(ids, mask), encoder.mlm_logits(ids, mask)
    for row, sequence in enumerate(SEQUENCES):
        alone = encoder.tokenize([sequence])["input_ids"]
        real = mask[row].bool()
        torch.testing.assert_close(hidden[row, real], encoder.hidden_states(alone)[0], rtol=0, atol=1e-6)
        torch.testing.assert_close(logits[row, real], encoder.mlm_logits(alone)[0], rtol=0, atol=1e-5)
        assert torch.all(hidden[row, ~real] == 0) and torch.all(logits[row, ~real] == 0)


def test_an_all_padding_row_is_zero(ps_numba) -> None:
    batch = ps_numba.tokenize(["ACGT"])
    ids = torch.cat([batch["input_ids"], torch.full((1, 5), 4)])
    mask = torch.cat([batch["attention_mask"], torch.zeros(1, 5, dtype=torch.int64)])
    hidden = ps_numba.hidden_states(ids, mask)
    assert torch.all(hidden[1] == 0) and hidden[0].abs().sum() > 0
    assert torch.all(ps_numba.hidden_states(ids[1:], mask[1:]) == 0)


def test_bad_inputs_are_refused(ps_numba) -> None:
    ids = torch.tensor([[7, 8, 9, 10, 1]])
    with pytest.raises(SequenceError, match="padding between real tokens"):
        ps_numba.hidden_states(ids, torch.tensor([[1, 0, 1, 1, 1]]))
    with pytest.raises(SequenceError, match="outside \\[0, 16\\)"):
        ps_numba.hidden_states(torch.tensor([[7, 16]]))
    with pytest.raises(SequenceError, match="int64"):
        ps_numba.hidden_states(ids.to(torch.int32))


def test_rc_invariant_tokens_are_ps_only(ps_numba, ph_numba) -> None:
    hidden = ps_numba.hidden_states(ps_numba.tokenize(["ACGTAC"])["input_ids"])
    torch.testing.assert_close(ps_numba.rc_invariant_tokens(hidden), fold_rc_halves(hidden))
    assert ps_numba.rc_invariant_tokens(hidden).shape == (1, 7, 32)
    with pytest.raises(SequenceError, match="needs Caduceus-PS"):
        ph_numba.rc_invariant_tokens(hidden)


def test_settings_are_checked_before_loading(tmp_path) -> None:
    with pytest.raises(ConfigError, match="not a selective-scan kernel"):
        load_caduceus(tmp_path / "missing", device="cpu", scan="fast")
    with pytest.raises(ConfigError, match="chunk_tokens"):
        load_caduceus(FIXTURE_DIR, device="cpu", chunk_tokens=0)
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="sees no CUDA GPU"):
            load_caduceus(FIXTURE_DIR, device="cuda")
    with pytest.raises(ConfigError, match="dtype"):
        load_caduceus(FIXTURE_DIR, device="cpu", dtype="float16")


def test_bf16_per_token_cosine(tmp_path) -> None:
    # a 64-d, 3-layer random PS over 2,000 bases: matmul weights in bf16, scan/norms in float32
    model_dir = write_demo_model(tmp_path / "m", d_model=64, n_layer=3, d_state=16, seed=11)
    fp32 = load_caduceus(model_dir, device="cpu", dtype="float32")
    bf16 = load_caduceus(model_dir, device="cpu", dtype="bfloat16")
    assert bf16.dtype == torch.bfloat16
    g = torch.Generator().manual_seed(0)
    sequence = "".join("ACGT"[i] for i in torch.randint(0, 4, (2000,), generator=g))
    ids = fp32.tokenize([sequence])["input_ids"]
    reference, reduced = fp32.hidden_states(ids), bf16.hidden_states(ids)
    assert reduced.dtype == torch.bfloat16
    cosine = torch.nn.functional.cosine_similarity(reduced.float(), reference, dim=-1)  # (1, 2001)
    assert cosine.min() >= 0.999
