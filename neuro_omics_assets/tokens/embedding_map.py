"""A 2-D map of a DNABERT-2 model's input token embeddings (the word-embedding matrix), by PCA.

PCA (not t-SNE/UMAP) because it is deterministic, has no tuning knobs, and its axes are linear in
the embeddings, so distances along PC1 mean the same everywhere on the map.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA

from neuro_omics_assets.errors import ModelLoadError
from neuro_omics_assets.models.dnabert2.checkpoint import (
    WORD_EMBEDDINGS_KEY,
    canonical_keys,
    find_weights_file,
    read_state_dict,
)


def input_embeddings(model_dir: str | Path) -> np.ndarray:
    """``float32 (vocab_size, H)``: the word-embedding matrix of the model in ``model_dir``."""
    path = find_weights_file(Path(model_dir))
    state = canonical_keys(read_state_dict(path), path)
    if WORD_EMBEDDINGS_KEY not in state:
        raise ModelLoadError(f"{path} has no {WORD_EMBEDDINGS_KEY}; use a DNABERT-2 checkpoint.")
    return state[WORD_EMBEDDINGS_KEY].float().numpy()


def pca_map(embeddings: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(float64 (V, 2) coordinates, float64 (2,) explained variance ratios)``: PCA fitted on the rows
    where ``keep`` (``bool (V,)``, False for special tokens) and applied to all rows."""
    pca = PCA(n_components=2, svd_solver="full").fit(embeddings[keep].astype(np.float64))
    return pca.transform(embeddings.astype(np.float64)), pca.explained_variance_ratio_
