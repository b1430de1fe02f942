"""``load_dnabert2``: a model directory -> a ready ``Dnabert2Encoder`` on one device and dtype.

Device and dtype are arguments, resolved once here: ``"auto"`` picks CUDA if present (bf16) else CPU
(fp32) and logs the choice; an explicit ``"cuda"`` without a GPU raises ``DeviceError`` (no silent
fallback). All inference runs under ``torch.inference_mode()`` on a model in eval mode.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from neuro_omics_assets.checksums import file_sha256
from neuro_omics_assets.errors import ModelLoadError, SequenceError, TokenizerError
from neuro_omics_assets.models import EngineTraits, ModelDescription, dtype_name
from neuro_omics_assets.models.dnabert2.checkpoint import (
    HOW_TO_GET_A_MODEL,
    find_weights_file,
    load_checkpoint,
    required_file,
)
from neuro_omics_assets.models.dnabert2.config import Dnabert2Config
from neuro_omics_assets.models.dnabert2.layers import check_attention_kernel
from neuro_omics_assets.models.dnabert2.model import Dnabert2ForMaskedLM, set_compute_dtype
from neuro_omics_assets.models.dnabert2.tokenizer import OFFICIAL_TOKENIZER_SHA256, DnaBert2Tokenizer
from neuro_omics_assets.models.loading import resolve_device, resolve_dtype

log = logging.getLogger(__name__)

# 2048 tokens (incl. [CLS]/[SEP]) is ~10 kb of DNA: the DNABERT-2 authors embed up to ~10 kb in one
# pass (MAGICS-LAB/DNABERT_2 #2), and attention time and memory grow with tokens squared.
DEFAULT_WINDOW_TOKENS = 2048


class Dnabert2Encoder:
    """A loaded DNABERT-2: tokenizer + network on one device and dtype. Build it with ``load_dnabert2``."""

    def __init__(
        self, model: Dnabert2ForMaskedLM, tokenizer: DnaBert2Tokenizer, *, model_dir: Path, model_sha256: str
    ) -> None:
        # The one place eval mode is set (the network has no dropout, but keep torch's flag honest).
        self.model = model.eval()
        self.model.requires_grad_(False)
        self.tokenizer = tokenizer
        self.model_dir = Path(model_dir)
        self.model_sha256 = model_sha256
        self.config: Dnabert2Config = model.bert.config
        word_embeddings = model.bert.embeddings.word_embeddings.weight
        self.device: torch.device = word_embeddings.device
        self.dtype: torch.dtype = word_embeddings.dtype
        self.attention: str = model.bert.attention_kernel
        self.num_parameters = sum(p.numel() for p in model.parameters())
        self.traits = dnabert2_traits(self.config)

    name = "dnabert2"

    @property
    def kernel(self) -> str:
        """The attention kernel (``sdpa`` or ``eager``): part of the embedding identity."""
        return self.attention

    @property
    def hidden_size(self) -> int:
        return self.config.hidden_size

    @property
    def vocab_size(self) -> int:
        return self.config.vocab_size

    @property
    def tokenizer_sha256(self) -> str:
        return self.tokenizer.sha256

    def tokenize(self, sequences: list[str]) -> dict[str, torch.Tensor]:
        """``input_ids``/``attention_mask`` int64 (B, S) on ``device``, right-padded with ``[PAD]``."""
        return self.tokenizer.pad(self.tokenizer.encode(sequences), self.device)

    def _inputs(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if input_ids.ndim != 2 or input_ids.dtype != torch.int64:
            raise SequenceError(
                f"input_ids must be int64 (B, S), got {input_ids.dtype} {list(input_ids.shape)}."
            )
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if attention_mask.shape != input_ids.shape:
            raise SequenceError(
                f"attention_mask {list(attention_mask.shape)} must have the shape of input_ids {list(input_ids.shape)}."
            )
        input_ids = input_ids.to(self.device)
        if input_ids.numel() and (int(input_ids.min()) < 0 or int(input_ids.max()) >= self.vocab_size):
            raise SequenceError(
                f"input_ids hold ids outside [0, {self.vocab_size}); tokenize with this model's tokenizer."
            )
        return input_ids, attention_mask.to(self.device)

    def hidden_states(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, *, all_layers: bool = False
    ) -> torch.Tensor:
        """Last hidden state ``dtype`` (B, S, H) incl. [CLS]/[SEP]; padded rows exactly 0.

        With ``all_layers``: (L + 1, B, S, H), the embedding output then each layer's output.
        ``attention_mask`` None means no padding.
        """
        input_ids, attention_mask = self._inputs(input_ids, attention_mask)
        with torch.inference_mode():
            return self.model.bert(input_ids, attention_mask, all_layers=all_layers)

    def mlm_logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Masked-LM logits ``dtype`` (B, S, vocab) from the ``cls.predictions`` head."""
        input_ids, attention_mask = self._inputs(input_ids, attention_mask)
        with torch.inference_mode():
            return self.model(input_ids, attention_mask)

    def __repr__(self) -> str:
        return (
            f"Dnabert2Encoder({self.model_dir}, hidden={self.hidden_size}, layers={self.config.num_hidden_layers}, "
            f"heads={self.config.num_attention_heads}, device={self.device}, dtype={self.dtype}, "
            f"attention={self.attention!r})"
        )


def dnabert2_traits(config: Dnabert2Config) -> EngineTraits:
    """What the engine needs from DNABERT-2: [CLS] + [SEP] in every window; ALiBi has no trained length that
    would bound the window; not RC-equivariant (the engine averages both strands post hoc)."""
    return EngineTraits(
        vector_size=config.hidden_size,
        special_tokens=DnaBert2Tokenizer.special_tokens,
        has_cls=True,
        default_window_tokens=DEFAULT_WINDOW_TOKENS,
        max_window_tokens=None,
        rc_equivariant=False,
    )


def describe_dnabert2(
    model_dir: str | Path, device: str | torch.device = "cpu", dtype: str | torch.dtype = torch.float32,
    attention: str = "sdpa",
) -> ModelDescription:
    """What ``load_dnabert2`` with these arguments would load, without loading it: checksums of the weight
    file and tokenizer.json (memoized by file stat), resolved dtype and device class, attention kernel."""
    check_attention_kernel(attention)
    resolved_device = resolve_device(device)
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelLoadError(f"model directory {model_dir} does not exist; {HOW_TO_GET_A_MODEL}.")
    return ModelDescription(
        name=Dnabert2Encoder.name,
        model_sha256=file_sha256(find_weights_file(model_dir)),
        tokenizer_sha256=file_sha256(required_file(model_dir, "tokenizer.json")),
        dtype=dtype_name(resolve_dtype(dtype, resolved_device)),
        device_class=resolved_device.type,
        kernel=attention,
        traits=dnabert2_traits(Dnabert2Config.from_json(required_file(model_dir, "config.json"))),
    )


def load_dnabert2(
    model_dir: str | Path,
    device: str | torch.device = "cpu",
    dtype: str | torch.dtype = torch.float32,
    attention: str = "sdpa",
    *,
    tokenizer_sha256: str | None = OFFICIAL_TOKENIZER_SHA256,
) -> Dnabert2Encoder:
    """Load an official-format DNABERT-2 directory (config.json, tokenizer.json, weights).

    ``attention``: ``"sdpa"`` (fused kernel) or ``"eager"`` (explicit softmax, for debugging).
    ``tokenizer_sha256``: the checksum tokenizer.json must have (None accepts any).
    """
    check_attention_kernel(attention)  # fail before reading ~0.5 GB of weights
    resolved_device = resolve_device(device)
    resolved_dtype = resolve_dtype(dtype, resolved_device)
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelLoadError(f"model directory {model_dir} does not exist; {HOW_TO_GET_A_MODEL}.")
    config = Dnabert2Config.from_json(required_file(model_dir, "config.json"))
    tokenizer = DnaBert2Tokenizer(
        required_file(model_dir, "tokenizer.json"), expected_sha256=tokenizer_sha256
    )
    if tokenizer.vocab_size != config.vocab_size:
        raise TokenizerError(
            f"{tokenizer.path} has {tokenizer.vocab_size} tokens but {model_dir / 'config.json'} says vocab_size "
            f"{config.vocab_size}; the tokenizer and the weights belong to different models. Use the "
            "tokenizer.json shipped with the weights."
        )
    model, weights_path = load_checkpoint(model_dir, config, attention)
    set_compute_dtype(model, resolved_device, resolved_dtype)
    encoder = Dnabert2Encoder(model, tokenizer, model_dir=model_dir, model_sha256=file_sha256(weights_path))
    log.info("loaded %r (%d parameters, weights %s)", encoder, encoder.num_parameters, weights_path.name)
    return encoder
