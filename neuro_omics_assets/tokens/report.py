"""Tables and figures of the token analyses as Arrow tables and files (``neuro-omics tokens`` and the assets)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
from matplotlib.figure import Figure

from neuro_omics_assets.genome.annotation import select_genes
from neuro_omics_assets.genome.contigs import ContigAliases
from neuro_omics_assets.genome.fasta import ReferenceGenome
from neuro_omics_assets.genome.gff3 import AnnotationFormat, cds_start_phases, read_annotation
from neuro_omics_assets.models.dnabert2.tokenizer import DnaBert2Tokenizer
from neuro_omics_assets.tokens import plots
from neuro_omics_assets.tokens.analysis import (
    TokenAnalysisSpec,
    codon_frame,
    motif_enrichment,
    region_tokens,
    token_usage,
)
from neuro_omics_assets.tokens.embedding_map import input_embeddings, pca_map
from neuro_omics_assets.tokens.jaspar import JasparMotif, read_jaspar
from neuro_omics_assets.tokens.vocabulary import vocabulary_table
from neuro_omics_assets.warehouse.parquet import write_parquet_atomic
from neuro_omics_assets.warehouse.schemas import validate
from neuro_omics_assets.warehouse.token_schemas import TOKEN_TABLES

log = logging.getLogger(__name__)


def to_arrow(frame: pd.DataFrame, name: str) -> pa.Table:
    """``frame`` as table ``name`` of ``warehouse.token_schemas``, validated (no rows: the schema's empty table,
    since pandas cannot type the columns of an empty frame)."""
    schema = TOKEN_TABLES[name]()
    if frame.empty:
        return schema.empty_table()
    return validate(pa.Table.from_pandas(frame, preserve_index=False), schema, name)


def vocabulary_with_map(tokenizer_json: Path, model_dir: Path | None) -> tuple[pd.DataFrame, Figure | None]:
    """``vocabulary_table`` plus ``pc1``/``pc2`` of the model's input token embeddings (null without a model)
    and the embedding map figure (None without a model)."""
    vocabulary = vocabulary_table(tokenizer_json)
    vocabulary["pc1"], vocabulary["pc2"] = None, None
    if model_dir is None:
        return vocabulary, None
    embeddings = input_embeddings(model_dir)
    coordinates, explained = pca_map(embeddings, ~vocabulary["special"].to_numpy())
    vocabulary["pc1"], vocabulary["pc2"] = coordinates[:, 0], coordinates[:, 1]
    title = (f"input token embeddings of {Path(model_dir).name} ({embeddings.shape[1]}-d), PCA "
             f"({explained[0]:.1%} + {explained[1]:.1%} of variance)")
    return vocabulary, plots.embedding_map(coordinates, vocabulary, title)


def analysis_figures(
    usage: pd.DataFrame, enrichment: pd.DataFrame, frame: pd.DataFrame, motifs: list[JasparMotif] | None
) -> dict[str, Figure]:
    """File stem -> figure of the length histogram, phase bars and (with JASPAR) motif logos."""
    figures = {"token_length_histogram": plots.length_histogram(usage)}
    if (frame["scope"] == "gene").any():
        figures["codon_phase_bars"] = plots.phase_bars(frame)
    if motifs is not None:
        figures["enriched_token_logos"] = plots.motif_logos(enrichment, motifs)
    return figures


def write_report(
    fasta: Path,
    annotation: Path,
    out: Path,
    *,
    annotation_format: AnnotationFormat = "auto",
    genes: Sequence[str] | None = None,
    tokenizer_json: Path,
    model_dir: Path | None,
    jaspar: Path | None,
    spec: TokenAnalysisSpec,
    aliases: ContigAliases | None = None,
) -> dict[str, int]:
    """Run every token analysis on ``genes`` (all genes when None) and write ``out/<table>.parquet`` and
    ``out/<figure>.png``. Returns row counts per table."""
    table = select_genes(read_annotation(annotation, annotation_format), genes)
    tokenizer = DnaBert2Tokenizer(tokenizer_json)
    vocabulary, embedding_figure = vocabulary_with_map(tokenizer_json, model_dir)
    with ReferenceGenome(fasta, aliases=aliases) as genome:
        tokenized = region_tokens(genome, table, tokenizer, cds_start_phases(annotation, annotation_format), spec)
    usage = token_usage(tokenized, vocabulary)
    motifs = read_jaspar(jaspar) if jaspar is not None else None
    enrichment = motif_enrichment(tokenized, vocabulary, motifs, spec)
    frame, splitting = codon_frame(tokenized, vocabulary, spec)
    tables = {"bpe_vocabulary": vocabulary, "bpe_region_tokens": tokenized, "bpe_token_usage": usage,
              "bpe_motif_enrichment": enrichment, "bpe_codon_frame": frame, "bpe_codon_tokens": splitting}
    out.mkdir(parents=True, exist_ok=True)
    for name, frame_ in tables.items():
        write_parquet_atomic(to_arrow(frame_, name), out / f"{name}.parquet")
    figures = analysis_figures(usage, enrichment, frame, motifs)
    if embedding_figure is not None:
        figures["token_embedding_map"] = embedding_figure
    for stem, figure in figures.items():
        plots.save(figure, out / f"{stem}.png")
    log.info("wrote %d tables and %d figures to %s", len(tables), len(figures), out)
    return {name: len(frame_) for name, frame_ in tables.items()}
