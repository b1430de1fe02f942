"""Which tokens are over- or under-represented in a region class: exact test, effect size, BH FDR.

Statistical choices (also in the README's token-analysis section):

* **Unit.** A token occurrence. Each class's tokens are compared with a **background** of every
  token of the other tested classes pooled (``gene_body`` is the union of the others, so it is not
  tested and not in any background; ``promoter`` overlaps the 5' end of the transcript by
  ``downstream`` bases, which a reader of promoter results should keep in mind).
* **Test.** Fisher's exact test on the 2x2 table (token / other tokens) x (class / background),
  i.e. the hypergeometric distribution of the token's count in the class given its total; two-sided
  p = min(1, 2 x the smaller one-sided tail) (the "doubling" rule, conservative). Computed with
  ``scipy.stats.hypergeom`` for all tokens at once. Occurrences are treated as exchangeable; tokens
  from one repeat-rich gene are not independent, so p-values on real genes are optimistic where one
  gene dominates a token's count.
* **Filter.** Only non-special tokens seen at least ``min_count`` times in class + background are
  tested (a token seen fewer times cannot reach significance; the total is independent of the
  class label under the null, so filtering on it keeps the FDR valid).
* **Effect size.** log2 odds ratio with 0.5 added to every cell (Haldane-Anscombe) and its 95 %
  Wald (Woolf) interval, ``log OR +- 1.96 * sqrt(1/a + 1/b + 1/c + 1/d)``.
* **Multiplicity.** Benjamini-Hochberg FDR over the tested tokens of each class separately
  (``scipy.stats.false_discovery_control``); ``q_value`` is the BH-adjusted p.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

ENRICHMENT_COLUMNS = (
    "region_class", "token_id", "token", "count", "class_tokens", "background_count", "background_tokens",
    "log2_odds_ratio", "ci_low", "ci_high", "p_value", "q_value", "direction",
)
_Z95 = stats.norm.ppf(0.975)
# 5 occurrences: below that even a token found only in the class cannot pass BH over thousands of tests.
DEFAULT_MIN_COUNT = 5
UNTESTED_CLASSES = frozenset({"gene_body"})


def enrichment_table(
    counts: dict[str, np.ndarray], testable: np.ndarray, tokens: np.ndarray, min_count: int = DEFAULT_MIN_COUNT
) -> pd.DataFrame:
    """One row per (tested class, tested token), columns ``ENRICHMENT_COLUMNS``, sorted by class then p.

    ``counts``: class -> ``int64 (V,)`` token counts (``usage.class_counts``); ``testable``:
    ``bool (V,)`` (False for special tokens); ``tokens``: ``str (V,)`` token strings. ``direction`` is
    ``over`` or ``under`` (the sign of the log odds ratio).
    """
    classes = [name for name in counts if name not in UNTESTED_CLASSES]
    frames = []
    for name in classes:
        background = sum((counts[other] for other in classes if other != name), np.zeros_like(counts[name]))
        frames.append(_one_class(name, counts[name], background, testable, tokens, min_count))
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        return pd.DataFrame(columns=list(ENRICHMENT_COLUMNS))
    return pd.concat(frames, ignore_index=True)


def _one_class(
    name: str, in_class: np.ndarray, background: np.ndarray, testable: np.ndarray, tokens: np.ndarray, min_count: int
) -> pd.DataFrame:
    """The tested tokens of one class against its background (see the module docstring)."""
    class_total, background_total = int(in_class.sum()), int(background.sum())
    if class_total == 0 or background_total == 0:
        return pd.DataFrame(columns=list(ENRICHMENT_COLUMNS))
    tested = np.flatnonzero(testable & (in_class + background >= min_count))
    a, c = in_class[tested], background[tested]
    p_value = exact_two_sided(a, a + c, class_total, class_total + background_total)
    log_or, low, high = log2_odds_ratio(a, class_total - a, c, background_total - c)
    frame = pd.DataFrame({
        "region_class": name,
        "token_id": tested.astype(np.int64),
        "token": tokens[tested],
        "count": a,
        "class_tokens": class_total,
        "background_count": c,
        "background_tokens": background_total,
        "log2_odds_ratio": log_or,
        "ci_low": low,
        "ci_high": high,
        "p_value": p_value,
        "q_value": stats.false_discovery_control(p_value, method="bh") if len(tested) else p_value,
        "direction": np.where(log_or >= 0, "over", "under"),
    })
    return frame.sort_values(["p_value", "log2_odds_ratio"], ascending=[True, False], kind="stable")


def exact_two_sided(in_class: np.ndarray, token_total: np.ndarray, class_total: int, grand_total: int) -> np.ndarray:
    """Fisher's exact two-sided p by doubling: ``float64 (n,)`` for n tokens.

    ``in_class``/``token_total``: ``int (n,)`` the token's count in the class and overall.
    Hypergeometric: population ``grand_total``, ``token_total`` successes, ``class_total`` draws.
    """
    upper = stats.hypergeom.sf(in_class - 1, grand_total, token_total, class_total)
    lower = stats.hypergeom.cdf(in_class, grand_total, token_total, class_total)
    return np.minimum(1.0, 2.0 * np.minimum(upper, lower))


def log2_odds_ratio(a, b, c, d) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(log2 OR, 95 % low, 95 % high)`` of 2x2 tables ``[[a, b], [c, d]]`` with 0.5 added to each cell."""
    a, b, c, d = (np.asarray(x, dtype=np.float64) + 0.5 for x in (a, b, c, d))
    log_or = np.log(a * d / (b * c))
    half = _Z95 * np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    return log_or / np.log(2), (log_or - half) / np.log(2), (log_or + half) / np.log(2)
