"""``load_caduceus``: a model directory -> a ready ``CaduceusEncoder`` on one device, dtype and scan kernel.

Device and dtype resolve as for DNABERT-2 (``"auto"``: CUDA + bf16 if present, else CPU + fp32, logged;
an explicit ``"cuda"`` without a GPU raises). The selective-scan kernel is a setting too (``scan.py``):
``"auto"`` picks ``numba`` on CPU and ``reference`` on CUDA, logged and kept in ``encoder.scan``.

Padding never reaches the network. The official model has no attention mask, so a padded row's outputs
would depend on its padding; instead each row's real tokens (one contiguous span of ones in
``attention_mask``, on either side) are run in a group of rows of the same real length, and rows at
padded positions are exactly 0. A row's result is therefore what it gives alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import torch

from neuro_omics_assets.checksums import file_sha256
from neuro_omics_assets.errors import ConfigError, ModelLoadError, SequenceError, TokenizerError
from neuro_omics_assets.models import EngineTraits, ModelDescription, dtype_name
from neuro_omics_assets.models.caduceus.checkpoint import (
    HOW_TO_GET_A_MODEL,
    find_weights_file,
    load_checkpoint,
    required_file,
)
from neuro_omics_assets.models.caduceus.config import CaduceusConfig
from neuro_omics_assets.models.caduceus.model import (
    DEFAULT_CHUNK_TOKENS,
    CaduceusForMaskedLM,
    fold_rc_halves,
    set_compute_dtype,
)
from neuro_omics_assets.models.caduceus.scan import ScanKernel, resolve_scan_kernel
from neuro_omics_assets.models.caduceus.tokenizer import CaduceusTokenizer
from neuro_omics_assets.models.loading import resolve_device, resolve_dtype

log = logging.getLogger(__name__)


def real_spans(attention_mask: torch.Tensor) -> list[tuple[int, int]]:
    """(start, length) of each row's real tokens; SequenceError if a row's ones are not contiguous."""
    mask = attention_mask.to("cpu", torch.bool)
    lengths = mask.sum(dim=1)
    starts = mask.to(torch.int8).argmax(dim=1)
    spans = [(int(s), int(n)) for s, n in zip(starts, lengths, strict=True)]
    for row, (start, length) in enumerate(spans):
        if length and not bool(mask[row, start : start + length].all()):
            raise SequenceError(
                f"attention_mask row {row} has padding between real tokens; Caduceus needs each row's real "
                "tokens contiguous (pad on one side only, as CaduceusTokenizer.pad does)."
            )
    return spans


class CaduceusEncoder:
    """A loaded Caduceus (PS or PH): tokenizer + network on one device and dtype. Build it with ``load_caduceus``."""

    def __init__(
        self,
        model: CaduceusForMaskedLM,
        tokenizer: CaduceusTokenizer,
        *,
        model_dir: Path,
        model_sha256: str,
        scan: ScanKernel,
        chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
    ) -> None:
        # The one place eval mode is set (the network has no dropout, but keep torch's flag honest).
        self.model = model.eval()
        self.model.requires_grad_(False)
        self.tokenizer = tokenizer
        self.model_dir = Path(model_dir)
        self.model_sha256 = model_sha256
        self.config: CaduceusConfig = model.config
        self.scan_kernel = scan
        self.scan: str = scan.name  # recorded in lineage
        self.chunk_tokens = chunk_tokens
        self.device: torch.device = model.backbone.embeddings.table.device
        self.dtype: torch.dtype = model.backbone.layers[0].bimamba.mamba_fwd.in_proj.weight.dtype
        # PS outputs are RC-equivariant by construction: ``fold_rc_halves`` gives RC-invariant vectors
        # from one pass. PH needs a second pass on the reverse complement, averaged post hoc.
        self.rc_equivariant: bool = self.config.rcps
        # Trained length (tokenizer_config.json's model_max_length; 131,072 for the 131k checkpoints).
        self.max_bases: int = tokenizer.model_max_length
        self.num_parameters = sum(p.numel() for p in model.parameters())
        self.traits = caduceus_traits(self.config, tokenizer)

    @property
    def name(self) -> str:
        """The encoder recorded in the embedding identity: ``caduceus_ps`` or ``caduceus_ph``."""
        return encoder_name(self.config)

    @property
    def kernel(self) -> str:
        """The selective-scan kernel (``reference``, ``numba``, ``mamba_ssm``): part of the embedding identity."""
        return self.scan

    @property
    def hidden_size(self) -> int:
        """Channels of ``hidden_states``: 2 * d_model for PS (forward | RC strand), d_model for PH."""
        return self.config.hidden_size

    @property
    def vocab_size(self) -> int:
        """Rows of the (padded) embedding table and width of ``mlm_logits`` (16 for the official models)."""
        return self.config.vocab_size

    @property
    def tokenizer_sha256(self) -> str:
        return self.tokenizer.sha256

    def tokenize(self, sequences: list[str]) -> dict[str, torch.Tensor]:
        """``input_ids``/``attention_mask`` int64 (B, S) on ``device``, bases then ``[SEP]``, right-padded."""
        return self.tokenizer.pad(self.tokenizer.encode(sequences), self.device)

    def _by_length(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None,
        run: Callable[[torch.Tensor], torch.Tensor],
        width: int,
    ) -> torch.Tensor:
        """Apply ``run`` (ids (G, n) -> (..., G, n, width)) to each same-length group of real spans.

        Returns float32 (..., B, S, width) with rows at padded positions exactly 0.
        """
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
        spans = real_spans(attention_mask)
        groups: dict[int, list[int]] = {}
        for row, (_, length) in enumerate(spans):
            if length:
                groups.setdefault(length, []).append(row)
        out = None
        for length, rows in groups.items():
            ids = torch.stack(
                [input_ids[row, spans[row][0] : spans[row][0] + length] for row in rows]
            )  # (G, n)
            result = run(ids)  # (..., G, n, width)
            if out is None:
                out = result.new_zeros((*result.shape[:-3], *input_ids.shape, width))
            for i, row in enumerate(rows):
                out[..., row, spans[row][0] : spans[row][0] + length, :] = result[..., i, :, :]
        if out is None:  # every row is padding
            out = torch.zeros((*input_ids.shape, width), device=self.device)
        return out

    def hidden_states(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, *, all_layers: bool = False
    ) -> torch.Tensor:
        """Last hidden state ``dtype`` (B, S, hidden_size) incl. ``[SEP]``; padded rows exactly 0.

        With ``all_layers``: (n_layer + 1, B, S, hidden_size) as the official ``output_hidden_states``.
        ``attention_mask`` None means no padding.
        """

        def run(ids: torch.Tensor) -> torch.Tensor:
            return self.model.backbone(ids, self.scan_kernel, self.chunk_tokens, all_layers=all_layers)

        with torch.inference_mode():
            return self._by_length(input_ids, attention_mask, run, self.hidden_size).to(self.dtype)

    def mlm_logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Masked-LM logits float32 (B, S, vocab_size) from the tied head; padded rows exactly 0."""

        def run(ids: torch.Tensor) -> torch.Tensor:
            return self.model.logits(self.model.backbone(ids, self.scan_kernel, self.chunk_tokens))

        with torch.inference_mode():
            return self._by_length(input_ids, attention_mask, run, self.vocab_size)

    def rc_invariant_tokens(self, hidden: torch.Tensor) -> torch.Tensor:
        """PS only: hidden (..., 2 d_model) -> RC-invariant per-token vectors (..., d_model) (``fold_rc_halves``)."""
        if not self.rc_equivariant:
            raise SequenceError(
                "rc_invariant_tokens needs Caduceus-PS (rcps=true); for PH average the forward and "
                "reverse-complement passes post hoc."
            )
        return fold_rc_halves(hidden)

    def __repr__(self) -> str:
        return (
            f"CaduceusEncoder({self.model_dir}, {'PS' if self.config.rcps else 'PH'}, d_model={self.config.d_model}, "
            f"layers={self.config.n_layer}, device={self.device}, dtype={self.dtype}, scan={self.scan!r})"
        )


def encoder_name(config: CaduceusConfig) -> str:
    """``caduceus_ps`` (``rcps`` true) or ``caduceus_ph``."""
    return "caduceus_ps" if config.rcps else "caduceus_ph"


def caduceus_traits(config: CaduceusConfig, tokenizer: CaduceusTokenizer) -> EngineTraits:
    """What the engine needs from Caduceus: vectors of d_model (PS: after ``rc_invariant_tokens``); ``[SEP]``
    only, no ``[CLS]`` (position 0 is the first base); windows up to the trained length (``max_bases - 1``
    bases + ``[SEP]``; a state-space model is untested past it); PS is RC-equivariant."""
    return EngineTraits(
        vector_size=config.d_model,
        special_tokens=CaduceusTokenizer.special_tokens,
        has_cls=False,
        default_window_tokens=tokenizer.model_max_length,
        max_window_tokens=tokenizer.model_max_length,
        rc_equivariant=config.rcps,
    )


def describe_caduceus(
    model_dir: str | Path, device: str | torch.device = "auto", dtype: str | torch.dtype = "auto", scan: str = "auto"
) -> ModelDescription:
    """What ``load_caduceus`` with these arguments would load, without reading the weights: the weight file's
    and tokenizer_config.json's checksums (memoized by file stat), resolved dtype and device class, and the
    scan kernel ``load_caduceus`` would use (``"auto"`` resolved by the same rule, so the name is the same)."""
    resolved_device = resolve_device(device)
    resolved_dtype = resolve_dtype(dtype, resolved_device)
    kernel = resolve_scan_kernel(scan, resolved_device)
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelLoadError(f"model directory {model_dir} does not exist; {HOW_TO_GET_A_MODEL}.")
    config = CaduceusConfig.from_json(required_file(model_dir, "config.json"))
    tokenizer = CaduceusTokenizer(required_file(model_dir, "tokenizer_config.json"))
    return ModelDescription(
        name=encoder_name(config),
        model_sha256=file_sha256(find_weights_file(model_dir)),
        tokenizer_sha256=tokenizer.sha256,
        dtype=dtype_name(resolved_dtype),
        device_class=resolved_device.type,
        kernel=kernel.name,
        traits=caduceus_traits(config, tokenizer),
    )


def load_caduceus(
    model_dir: str | Path,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype = "auto",
    scan: str = "auto",
    *,
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
) -> CaduceusEncoder:
    """Load an official-format Caduceus directory (config.json, tokenizer_config.json, weights).

    ``scan``: ``"auto"``, ``"numba"`` (CPU), ``"reference"`` (any device) or ``"mamba_ssm"`` (CUDA, optional
    package). ``chunk_tokens``: tokens per chunk of the L-chunked mixer passes (bounds memory; results
    equal within float32 rounding for any value).
    """
    resolved_device = resolve_device(device)
    resolved_dtype = resolve_dtype(dtype, resolved_device)
    kernel = resolve_scan_kernel(scan, resolved_device)  # fail before reading the weights
    if isinstance(chunk_tokens, bool) or not isinstance(chunk_tokens, int) or chunk_tokens < 1:
        raise ConfigError(
            f"chunk_tokens={chunk_tokens!r} must be a positive integer (default {DEFAULT_CHUNK_TOKENS})."
        )
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelLoadError(f"model directory {model_dir} does not exist; {HOW_TO_GET_A_MODEL}.")
    config = CaduceusConfig.from_json(required_file(model_dir, "config.json"))
    tokenizer = CaduceusTokenizer(required_file(model_dir, "tokenizer_config.json"))
    _check_tokenizer_fits(tokenizer, config, model_dir)
    model, weights_path = load_checkpoint(model_dir, config)
    set_compute_dtype(model, resolved_device, resolved_dtype)
    encoder = CaduceusEncoder(
        model,
        tokenizer,
        model_dir=model_dir,
        model_sha256=file_sha256(weights_path),
        scan=kernel,
        chunk_tokens=chunk_tokens,
    )
    log.info("loaded %r (%d parameters, weights %s)", encoder, encoder.num_parameters, weights_path.name)
    return encoder


def _check_tokenizer_fits(tokenizer: CaduceusTokenizer, config: CaduceusConfig, model_dir: Path) -> None:
    """TokenizerError unless every tokenizer id has an embedding row and the same complement in config.json."""
    if tokenizer.vocab_size > config.vocab_size:
        raise TokenizerError(
            f"the Caduceus tokenizer has {tokenizer.vocab_size} ids but {model_dir / 'config.json'} says vocab_size "
            f"{config.vocab_size}; use the config.json shipped with the weights."
        )
    config_map = list(config.complement_map[: tokenizer.vocab_size])
    if config_map != tokenizer.complement_ids.tolist():
        raise TokenizerError(
            f"{model_dir / 'config.json'} complement_map {config_map} differs from the tokenizer's "
            f"{tokenizer.complement_ids.tolist()} (A<->T, C<->G); use the config.json shipped with the weights."
        )
