"""Embedding layer: DNA sequences → windows → per-window statistics → pooled vectors (no Dagster).

``EmbeddingEngine(encoder, EmbeddingSpec(...), EmbeddingCache(root)).embed({id: sequence})``.
"""

from neuro_omics_assets.embedding.batching import token_budget_batches
from neuro_omics_assets.embedding.cache import CACHE_FORMAT_VERSION, EmbeddingCache
from neuro_omics_assets.embedding.engine import (
    EmbeddingEngine,
    EmbeddingResult,
    SequenceEmbedding,
)
from neuro_omics_assets.embedding.pooling import (
    PooledVectors,
    WindowStats,
    cls_vector,
    cosine,
    mean_vector,
    pool_token_states,
    rc_average,
    vectors_from_window_stats,
)
from neuro_omics_assets.embedding.spec import EmbeddingSpec, resolve_spec
from neuro_omics_assets.embedding.windows import (
    WINDOW_ALGORITHM,
    NormalisedSequence,
    Window,
    WindowSpec,
    cut_windows,
    normalise_sequence,
    tokenize_windows,
)

__all__ = [
    "CACHE_FORMAT_VERSION",
    "WINDOW_ALGORITHM",
    "EmbeddingCache",
    "EmbeddingEngine",
    "EmbeddingResult",
    "EmbeddingSpec",
    "NormalisedSequence",
    "PooledVectors",
    "SequenceEmbedding",
    "Window",
    "WindowSpec",
    "WindowStats",
    "cls_vector",
    "cosine",
    "cut_windows",
    "mean_vector",
    "normalise_sequence",
    "pool_token_states",
    "rc_average",
    "resolve_spec",
    "token_budget_batches",
    "tokenize_windows",
    "vectors_from_window_stats",
]
