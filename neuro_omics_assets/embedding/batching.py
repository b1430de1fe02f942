"""Token-budget batches: group tokenized windows so a padded batch stays under a token budget.

Padding costs compute and memory, so items are sorted by length (longest first, ties by input
position) and packed greedily while ``batch_size * longest <= batch_tokens``. An item longer than
the budget forms a batch of its own. The result depends only on the lengths and the budget.
"""

from __future__ import annotations

from collections.abc import Sequence

from neuro_omics_assets.errors import ConfigError


def token_budget_batches(lengths: Sequence[int], batch_tokens: int) -> list[list[int]]:
    """Indices into ``lengths`` (tokens per item, padding excluded), grouped into batches.

    Every index appears in exactly one batch; within a batch indices are in descending length
    order, and ``len(batch) * lengths[batch[0]] <= batch_tokens`` unless the batch is one item.
    """
    if batch_tokens < 1:
        raise ConfigError(
            f"batch_tokens={batch_tokens} must be >= 1; use about 16384 on a GPU, fewer if memory runs out."
        )
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        if current and (len(current) + 1) * lengths[current[0]] > batch_tokens:
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches
