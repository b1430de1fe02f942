"""load_dnabert2 settings (device, dtype, kernel), the encoder's attributes, bf16 and the GPU path.

bf16 tolerance: bf16 keeps 8 significant bits, so MLP weights and activations are rounded by up to
2^-9 relative (the attention projections keep ~16 bits as hi + lo pairs, LayerNorm runs in fp32); on
the fixture's padded batch this leaves a per-token cosine to the fp32 reference of 0.99993 and a
pooled one of 0.99998 (measured). We require 0.999 per token (10x margin) and 0.9999 for mean-pooled
vectors; a real defect (a swapped head, a lost mask, a wrong GELU half) drops cosines below 0.9.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from neuro_omics_assets.errors import ConfigError, DeviceError, SequenceError
from neuro_omics_assets.models import Encoder
from neuro_omics_assets.models.dnabert2 import OFFICIAL_TOKENIZER_SHA256, Dnabert2Encoder, load_dnabert2
from neuro_omics_assets_tests.models.dnabert2.conftest import FIXTURE_DIR

TINY_PARAMETERS = 353_856  # embeddings 262,400 + 2 x 41,536 per layer + MLM head 8,384


def _cosines(hidden: torch.Tensor, expected: dict[str, np.ndarray], prefix: str) -> tuple[float, float]:
    """(minimum per-token cosine, minimum mean-pooled cosine) against the fp32 reference."""
    reference = torch.from_numpy(expected[f"{prefix}_last_hidden_state"]).double()
    mask = torch.from_numpy(expected[f"{prefix}_attention_mask"]).bool()
    hidden = hidden.double().cpu()
    per_token = torch.cosine_similarity(hidden[mask], reference[mask], dim=-1)
    weights = mask[..., None].double()
    pooled = torch.cosine_similarity((hidden * weights).sum(1), (reference * weights).sum(1), dim=-1)
    return float(per_token.min()), float(pooled.min())


def _batch(
    expected: dict[str, np.ndarray], prefix: str, device: str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    return tuple(
        torch.from_numpy(expected[f"{prefix}_{n}"]).to(device) for n in ("input_ids", "attention_mask")
    )


def test_attributes(tiny_sdpa: Dnabert2Encoder) -> None:
    assert isinstance(tiny_sdpa, Encoder)
    assert (tiny_sdpa.hidden_size, tiny_sdpa.vocab_size) == (64, 4096)
    assert tiny_sdpa.num_parameters == TINY_PARAMETERS
    assert tiny_sdpa.tokenizer_sha256 == OFFICIAL_TOKENIZER_SHA256
    assert tiny_sdpa.device == torch.device("cpu") and tiny_sdpa.dtype == torch.float32
    assert tiny_sdpa.attention == "sdpa" and tiny_sdpa.model_dir == FIXTURE_DIR
    assert not tiny_sdpa.model.training


def test_tokenize_pads_right_with_pad_id(tiny_sdpa: Dnabert2Encoder) -> None:
    batch = tiny_sdpa.tokenize(["ACGTAGCATCGGATCTATCTATCG", "A"])
    assert batch["input_ids"].dtype == torch.int64 and batch["input_ids"].device == tiny_sdpa.device
    np.testing.assert_array_equal(batch["input_ids"][1].numpy()[:3], [1, 5, 2])
    assert set(batch["input_ids"][1, 3:].tolist()) == {3}
    assert batch["attention_mask"].sum(1).tolist() == [batch["input_ids"].shape[1], 3]


def test_bf16_is_close_to_the_fp32_reference(expected) -> None:
    encoder = load_dnabert2(FIXTURE_DIR, dtype="bfloat16")
    hidden = encoder.hidden_states(*_batch(expected, "batch"))
    assert hidden.dtype == torch.bfloat16
    assert torch.all(hidden[torch.from_numpy(expected["batch_attention_mask"]) == 0] == 0)
    per_token, pooled = _cosines(hidden, expected, "batch")
    assert per_token >= 0.999 and pooled >= 0.9999


def test_bf16_keeps_layernorm_in_float32_and_attention_projections_as_pairs() -> None:
    encoder = load_dnabert2(FIXTURE_DIR, dtype=torch.bfloat16)
    layer = encoder.model.bert.encoder.layer[0]
    assert layer.mlp.layernorm.weight.dtype == torch.float32
    assert layer.mlp.gated_layers.weight.dtype == torch.bfloat16
    for projection in (layer.attention.self.Wqkv, layer.attention.output.dense):
        assert projection.weight.dtype == torch.bfloat16
        assert projection.weight_pair.shape == (projection.out_features, 2 * projection.in_features)
    assert encoder.num_parameters == TINY_PARAMETERS  # the pairs are buffers, not extra parameters
    fp32 = load_dnabert2(FIXTURE_DIR).model.bert.encoder.layer[0].attention.self.Wqkv
    assert fp32.weight_pair is None and fp32.weight.dtype == torch.float32


def test_auto_picks_cpu_fp32_without_a_gpu_and_logs_it(caplog: pytest.LogCaptureFixture) -> None:
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: auto picks it")
    with caplog.at_level(logging.INFO, logger="neuro_omics_assets.models"):
        encoder = load_dnabert2(FIXTURE_DIR, device="auto", dtype="auto")
    assert encoder.device == torch.device("cpu") and encoder.dtype == torch.float32
    assert "device='auto' chose cpu" in caplog.text


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
@pytest.mark.parametrize("device", ["cuda", "cuda:0", torch.device("cuda")])
def test_cuda_without_gpu_raises(device: str | torch.device) -> None:
    with pytest.raises(DeviceError, match="sees no CUDA GPU here; use device='cpu', or device='auto'"):
        load_dnabert2(FIXTURE_DIR, device=device)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"device": "tpu"}, "is not a device"),
        ({"device": "mps"}, "is not supported"),
        ({"dtype": "float16"}, "dtype='float16' is not supported"),
        ({"dtype": torch.float64}, "is not supported; use 'auto', 'float32' or 'bfloat16'"),
        ({"attention": "flash"}, r"attention='flash' is not a kernel; choose one of \('sdpa', 'eager'\)"),
    ],
)
def test_bad_settings_raise_config_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_dnabert2(FIXTURE_DIR, **kwargs)


def test_bad_inputs_raise_sequence_error(tiny_sdpa: Dnabert2Encoder) -> None:
    ids = torch.tensor([[1, 5, 2]])
    with pytest.raises(SequenceError, match=r"outside \[0, 4096\)"):
        tiny_sdpa.hidden_states(torch.tensor([[1, 4096, 2]]))
    with pytest.raises(SequenceError, match="must have the shape of input_ids"):
        tiny_sdpa.hidden_states(ids, torch.ones(1, 4, dtype=torch.int64))
    with pytest.raises(SequenceError, match="must be int64"):
        tiny_sdpa.hidden_states(ids.int())


def test_no_autograd_graph_is_kept(tiny_sdpa: Dnabert2Encoder) -> None:
    hidden = tiny_sdpa.hidden_states(torch.tensor([[1, 5, 2]]))
    assert hidden.is_inference() and not hidden.requires_grad


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_bf16_and_fp32_against_the_cpu_reference(expected) -> None:
    bf16 = load_dnabert2(FIXTURE_DIR, device="cuda", dtype="auto")
    assert bf16.dtype == torch.bfloat16 and bf16.device.type == "cuda"
    per_token, pooled = _cosines(bf16.hidden_states(*_batch(expected, "batch", "cuda")), expected, "batch")
    assert per_token >= 0.999 and pooled >= 0.9999
    fp32 = load_dnabert2(FIXTURE_DIR, device="cuda", dtype="float32")
    hidden = fp32.hidden_states(*_batch(expected, "batch2", "cuda")).cpu().numpy()
    # GPU kernels sum in another order than the reference's CPU kernels: allow 1e-4
    np.testing.assert_allclose(hidden, expected["batch2_last_hidden_state"], rtol=0, atol=1e-4)
