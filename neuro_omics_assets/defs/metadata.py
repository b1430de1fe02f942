"""Materialization metadata helpers: previews and plots a person would rather look at than read."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import dagster as dg
import numpy as np
import pandas as pd

PREVIEW_ROWS = 10


def table_preview(frame: pd.DataFrame, columns: Sequence[str], rows: int = PREVIEW_ROWS) -> dg.MetadataValue:
    """First ``rows`` rows of ``frame[columns]`` as a Markdown table."""
    return dg.MetadataValue.md(frame.loc[:, list(columns)].head(rows).to_markdown(index=False))


def png_markdown(figure) -> dg.MetadataValue:
    """A matplotlib figure as Markdown with an inline PNG (shown by the Dagster UI)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return dg.MetadataValue.md(f"![plot](data:image/png;base64,{encoded})")


def stability_figure(per_gene: pd.DataFrame):
    """Histogram of cosine(forward, RC) per gene under mean and CLS pooling."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 3))
    axes = figure.subplots()
    for column, label in (("rc_cosine", "mean pooling"), ("cls_rc_cosine", "CLS")):
        values = per_gene[column].dropna()
        if len(values):
            # an RC-invariant encoder (Caduceus-PS) gives cosines equal to round-off: widen the range to plot them
            low, high = float(values.min()), float(values.max())
            if high - low < 1e-6:
                low, high = low - 5e-4, high + 5e-4
            axes.hist(values, bins=np.linspace(low, high, 31), alpha=0.6, label=label)
    axes.set_xlabel("cosine(forward, reverse complement) per gene")
    axes.set_ylabel("genes")
    axes.legend()
    return figure


def throughput_figure(tokens_per_s: dict[str, float]):
    """Bar chart of model throughput (tokens/s) per gene chunk of one run (chunks served from cache omitted)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(max(4, 0.25 * len(tokens_per_s)), 3))
    axes = figure.subplots()
    axes.bar(range(len(tokens_per_s)), list(tokens_per_s.values()))
    axes.set_xticks(range(len(tokens_per_s)), [key.removeprefix("chunk_") for key in tokens_per_s], rotation=90, fontsize=7)
    axes.set_xlabel("gene chunk")
    axes.set_ylabel("tokens/s")
    return figure
