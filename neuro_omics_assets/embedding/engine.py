"""The embedding engine: DNA sequences → per-window statistics → pooled vectors, with a cache.

``EmbeddingEngine.embed`` normalises every sequence (upper case, IUPAC-validated), embeds each
distinct sequence (by sha256) once, and only those missing from the cache reach the model. Each
sequence is cut into windows (``windows.py``); the windows go through token-budget batches
(``batching.py``); hidden states are reduced to per-window statistics on the fly (``pooling.py``),
which are cached (``cache.py``) and pooled into vectors. A sequence's windows and vectors depend only
on the sequence, the encoder and the spec, never on its batch.

Strands, per encoder (recorded as the identity's ``rc_handling``):

* not RC-equivariant (DNABERT-2, Caduceus-PH): every window **and** its reverse complement run;
  ``rc_average`` averages the two strands' vectors post hoc (``posthoc_average``) or keeps the forward
  one (``forward_only``).
* RC-equivariant (Caduceus-PS, ``equivariant``): each window runs **once**, in the sequence's canonical
  orientation (``TokenizedWindow.canonical``), and its token states are folded to RC-invariant states
  (``Encoder.rc_invariant_tokens``) before the statistics; the reverse-complement rows are copies of the
  forward rows. Running the canonical orientation matters because the tokenizer appends ``[SEP]`` on the
  right of whichever strand it reads: a sequence and its reverse complement thus feed the model the very
  same windows, and their vectors are equal, not only close. ``rc_average`` changes nothing here.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

import numpy as np
import torch
from tqdm import tqdm

from neuro_omics_assets.embedding.batching import token_budget_batches
from neuro_omics_assets.embedding.cache import CACHE_FORMAT_VERSION, EmbeddingCache
from neuro_omics_assets.embedding.identity import (
    NUMERICS_VERSION,
    EmbeddingIdentity,
    code_fingerprint,
    rc_handling,
)
from neuro_omics_assets.embedding.pooling import (
    FORWARD,
    STRANDS,
    PooledVectors,
    WindowStats,
    pool_token_states,
    vectors_from_window_stats,
)
from neuro_omics_assets.embedding.spec import EmbeddingSpec, resolve_spec
from neuro_omics_assets.embedding.windows import (
    WINDOW_ALGORITHM,
    NormalisedSequence,
    TokenizedWindow,
    normalise_sequence,
    tokenize_windows,
)
from neuro_omics_assets.errors import ConfigError, SequenceError
from neuro_omics_assets.models import Encoder, ModelDescription, TokenizedSequence, describe

log = logging.getLogger(__name__)

# Sequences are tokenized and run in groups of about this many batches' worth of tokens: large enough
# to fill batches across sequences, small enough to bound memory and to cache results as they come.
_GROUP_BATCHES = 32


@dataclass(frozen=True)
class SequenceEmbedding(PooledVectors):
    """One input sequence's vectors (see ``PooledVectors``) with its identity and counts: ``n_tokens``
    forward-strand tokens excluding special tokens, ``n_bases`` its length, ``n_windows`` per strand,
    ``n_count`` Ns and ``iupac_count`` other ambiguity codes."""

    sequence_id: str
    sha256: str
    n_windows: int
    n_tokens: int
    n_bases: int
    n_count: int
    iupac_count: int


@dataclass(frozen=True)
class EmbeddingResult:
    """The vectors of one ``embed`` call, by sequence id in input order, and the per-window statistics
    of each distinct sequence, by sha256."""

    sequences: dict[str, SequenceEmbedding]
    window_stats: dict[str, WindowStats]
    spec: EmbeddingSpec
    hidden_size: int

    def __getitem__(self, sequence_id: str) -> SequenceEmbedding:
        return self.sequences[sequence_id]

    def vectors(self) -> np.ndarray:
        """The configured vectors in input order: float32 (n_sequences, H)."""
        rows = [embedding.vector for embedding in self.sequences.values()]
        return np.stack(rows) if rows else np.empty((0, self.hidden_size), dtype=np.float32)

    def window_table(self) -> dict[str, np.ndarray]:
        """Per-window statistics of every distinct sequence as columns (R rows): ``sha256`` str plus
        the ``WindowStats`` columns (``token_sum`` and ``cls`` float32 (R, H))."""
        parts = [("", WindowStats.empty(self.hidden_size)), *self.window_stats.items()]  # dtypes if empty
        columns = {"sha256": np.concatenate([np.full(len(s.strand), sha, dtype="<U64") for sha, s in parts])}
        for f in fields(WindowStats):
            columns[f.name] = np.concatenate([getattr(s, f.name) for _, s in parts])
        return columns


class EmbeddingEngine:
    """Embeds DNA sequences with ``encoder`` according to ``spec``, reusing ``cache`` when given.

    Counters (cumulative over calls): ``model_calls`` forward passes, ``tokens_processed`` tokens
    fed to the model (special tokens included, padding excluded), ``model_seconds``, ``cache_hits`` and
    ``cache_misses`` (distinct sequences looked up; only with a cache), ``tokens_per_second``.
    ``spec`` is the given spec resolved for the encoder (``resolve_spec``: its window filled in).
    """

    def __init__(
        self, encoder: Encoder, spec: EmbeddingSpec | None = None, cache: EmbeddingCache | None = None
    ):
        self.encoder = encoder
        self.spec = resolve_spec(spec if spec is not None else EmbeddingSpec(), describe(encoder))
        if encoder.traits.rc_equivariant and not callable(getattr(encoder, "rc_invariant_tokens", None)):
            raise ConfigError(
                f"encoder {encoder.name} says rc_equivariant but has no rc_invariant_tokens(hidden); an "
                "RC-equivariant encoder must fold its states to RC-invariant ones (see models.Encoder)."
            )
        self.cache = cache
        self._identity = self.identity  # fixed for the engine's life: computed once, used in every cache key
        self.model_calls = 0
        self.tokens_processed = 0
        self.model_seconds = 0.0
        self.cache_hits = 0
        self.cache_misses = 0

    @property
    def tokens_per_second(self) -> float:
        return self.tokens_processed / self.model_seconds if self.model_seconds > 0 else 0.0

    @property
    def identity(self) -> EmbeddingIdentity:
        """What makes this engine's vectors what they are (see ``identity.py``)."""
        return engine_identity(describe(self.encoder), self.spec)

    def lineage(self) -> dict[str, str | int | bool]:
        """The identity (digest and fields) plus the model's sizes and the cache format, for every output."""
        return {
            **self.identity.metadata(),
            "vocab_size": self.encoder.vocab_size,
            "hidden_size": self.encoder.hidden_size,
            "vector_size": self.encoder.traits.vector_size,
            "cache_format": CACHE_FORMAT_VERSION,
        }

    def embed(
        self, sequences: Mapping[str, str] | Iterable[tuple[str, str]], *, progress: bool = False
    ) -> EmbeddingResult:
        """Embed ``{id: sequence}`` (or ``(id, sequence)`` pairs; ids must be unique).

        Raises ``SequenceError`` (naming the id) for an empty sequence, whitespace or a character
        outside the IUPAC alphabet, and for a repeated id. A tqdm bar on stderr if ``progress``.
        """
        return self.embed_normalised(normalise_all(sequences), progress=progress)

    def embed_normalised(self, records: list[NormalisedSequence], *, progress: bool = False) -> EmbeddingResult:
        """``embed`` for sequences already through ``normalise_all`` (validated before loading a model)."""
        distinct: dict[str, NormalisedSequence] = {}
        for record in records:
            distinct.setdefault(record.sha256, record)
        with tqdm(total=len(distinct), unit="seq", file=sys.stderr, disable=not progress) as bar:
            stats = self._window_stats(list(distinct.values()), bar)
        result = EmbeddingResult(
            sequences={
                record.sequence_id: self._sequence_embedding(record, stats[record.sha256])
                for record in records
            },
            window_stats=stats,
            spec=self.spec,
            hidden_size=self.encoder.traits.vector_size,
        )
        log.info(
            "embedded %d sequences (%d distinct): %d cache hits, %d model calls so far, %.0f tokens/s",
            len(records),
            len(distinct),
            self.cache_hits,
            self.model_calls,
            self.tokens_per_second,
        )
        return result

    def _sequence_embedding(self, record: NormalisedSequence, stats: WindowStats) -> SequenceEmbedding:
        pooled = vectors_from_window_stats(stats, self.spec.pooling, self.spec.rc_average)
        forward = stats.strand == FORWARD
        return SequenceEmbedding(
            **{f.name: getattr(pooled, f.name) for f in fields(PooledVectors)},
            sequence_id=record.sequence_id,
            sha256=record.sha256,
            n_windows=stats.n_windows,
            n_tokens=int(stats.n_tokens[forward].sum()),
            n_bases=len(record.sequence),
            n_count=record.n_count,
            iupac_count=record.iupac_count,
        )

    def _window_stats(self, distinct: list[NormalisedSequence], bar: tqdm) -> dict[str, WindowStats]:
        """Statistics of each distinct sequence by sha256: from the cache, else from the model."""
        found: dict[str, WindowStats] = {}
        group: list[tuple[NormalisedSequence, list[TokenizedWindow]]] = []
        group_tokens = 0
        for record in distinct:
            cached = self._cache_get(record)
            if cached is not None:
                found[record.sha256] = cached
                bar.update(1)
                continue
            windows = tokenize_windows(record.sequence, self.encoder.tokenizer, self.spec.window)
            group.append((record, windows))
            group_tokens += sum(len(item.ids) for item in self._model_inputs(windows))
            if group_tokens >= _GROUP_BATCHES * self.spec.batch_tokens:
                self._embed_group(group, found, bar)
                group, group_tokens = [], 0
        if group:
            self._embed_group(group, found, bar)
        return {record.sha256: found[record.sha256] for record in distinct}

    def _cache_get(self, record: NormalisedSequence) -> WindowStats | None:
        if self.cache is None:
            return None
        stats = self.cache.get(self._cache_key(record))
        if stats is None:
            self.cache_misses += 1
        else:
            self.cache_hits += 1
        return stats

    def _cache_key(self, record: NormalisedSequence) -> str:
        return EmbeddingCache.key_for(record.sha256, self._identity)

    def _embed_group(
        self,
        group: list[tuple[NormalisedSequence, list[TokenizedWindow]]],
        found: dict[str, WindowStats],
        bar: tqdm,
    ) -> None:
        """Run every window of ``group`` through the model (``_model_inputs``); fill ``found`` and the cache."""
        items: list[TokenizedSequence] = []
        for _, windows in group:
            items += self._model_inputs(windows)
        token_sum = np.zeros((len(items), self.encoder.traits.vector_size), dtype=np.float32)
        cls = np.zeros_like(token_sum)
        for batch in token_budget_batches([len(item.ids) for item in items], self.spec.batch_tokens):
            token_sum[batch], cls[batch] = self._forward([items[i] for i in batch])
        row = 0
        for record, windows in group:
            rows = slice(row, row + len(self._model_inputs(windows)))
            if self.encoder.traits.rc_equivariant:  # one RC-invariant pass: the RC rows are the forward rows
                token_sum_rows, cls_rows = np.tile(token_sum[rows], (2, 1)), np.tile(cls[rows], (2, 1))
            else:
                token_sum_rows, cls_rows = token_sum[rows], cls[rows]
            stats = _assemble_stats(windows, token_sum_rows, cls_rows, self.encoder.traits.special_tokens)
            found[record.sha256] = stats
            if self.cache is not None:
                self.cache.put(self._cache_key(record), stats)
            row = rows.stop
        bar.update(len(group))

    def _model_inputs(self, windows: list[TokenizedWindow]) -> list[TokenizedSequence]:
        """What the model runs for ``windows``: each window in the canonical orientation once for an
        RC-equivariant encoder; else every forward window, then every reverse-complement window."""
        if self.encoder.traits.rc_equivariant:
            return [w.canonical for w in windows]
        return [w.forward for w in windows] + [w.reverse for w in windows]

    def _forward(self, batch: list[TokenizedSequence]) -> tuple[np.ndarray, np.ndarray]:
        """One forward pass: ``(token_sum, cls)`` float32 (B, vector_size) for the tokenized windows in ``batch``."""
        padded = self.encoder.tokenizer.pad(batch, self.encoder.device)
        input_ids, attention_mask = padded["input_ids"], padded["attention_mask"]
        base_lengths = np.zeros(input_ids.shape, dtype=np.int64)
        for i, item in enumerate(batch):
            base_lengths[i, : len(item.base_lengths)] = item.base_lengths
        started = time.perf_counter()
        with torch.inference_mode():
            hidden = self.encoder.hidden_states(input_ids, attention_mask)
            if self.encoder.traits.rc_equivariant:
                # fold in float32 (pooling accumulates in float32 anyway): (B, S, vector_size)
                hidden = self.encoder.rc_invariant_tokens(hidden.to(torch.float32))
            pooled = pool_token_states(hidden, torch.from_numpy(base_lengths), has_cls=self.encoder.traits.has_cls)
        self.model_seconds += time.perf_counter() - started
        self.model_calls += 1
        self.tokens_processed += int(attention_mask.sum())
        return pooled


def _assemble_stats(
    windows: list[TokenizedWindow], token_sum: np.ndarray, cls: np.ndarray, special_tokens: int
) -> WindowStats:
    """``WindowStats`` of one sequence; ``token_sum``/``cls`` float32 (2W, H): forward rows, then RC rows;
    ``special_tokens`` per tokenized window (not counted in ``n_tokens``)."""
    spans = np.array([(w.window.index, w.window.start, w.window.end) for w in windows], dtype=np.int64)
    tokens = [len(w.forward.ids) for w in windows] + [len(w.reverse.ids) for w in windows]
    return WindowStats(
        window_index=np.tile(spans[:, 0], 2).astype(np.int32),
        window_start=np.tile(spans[:, 1], 2),
        window_end=np.tile(spans[:, 2], 2),
        strand=np.repeat(np.array(STRANDS), len(windows)),
        n_tokens=np.array(tokens, dtype=np.int32) - special_tokens,  # e.g. [CLS], [SEP]: not real tokens
        n_bases=np.tile(spans[:, 2] - spans[:, 1], 2),
        token_sum=token_sum,
        cls=cls,
    )


def engine_identity(model: ModelDescription, spec: EmbeddingSpec) -> EmbeddingIdentity:
    """The identity of vectors this engine code makes with the ``model`` so described, under ``spec``
    (resolved with ``resolve_spec``): the one constructor, used by a loaded engine and by whoever must
    know the identity without loading a model."""
    spec = resolve_spec(spec, model)
    return EmbeddingIdentity(
        encoder=model.name,
        model_sha256=model.model_sha256,
        tokenizer_sha256=model.tokenizer_sha256,
        dtype=model.dtype,
        device_class=model.device_class,
        kernel=model.kernel,
        window_algorithm=WINDOW_ALGORITHM,
        window_max_tokens=spec.window.max_tokens,
        pooling=spec.pooling,
        rc_averaged=spec.rc_average,
        rc_handling=rc_handling(model.traits.rc_equivariant, spec.rc_average),
        numerics_version=NUMERICS_VERSION,
        code_fingerprint=code_fingerprint(),
    )


def normalise_all(sequences: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[NormalisedSequence]:
    """Every sequence normalised (``normalise_sequence``); ``SequenceError`` for a bad one or a repeated id."""
    pairs = sequences.items() if isinstance(sequences, Mapping) else sequences
    records: list[NormalisedSequence] = []
    seen: set[str] = set()
    for sequence_id, sequence in pairs:
        if sequence_id in seen:
            raise SequenceError(
                f"sequence id {sequence_id!r} appears more than once in the input; ids must be unique "
                f"(identical sequences under different ids are fine and embedded once)."
            )
        seen.add(sequence_id)
        records.append(normalise_sequence(sequence_id, sequence))
    return records
