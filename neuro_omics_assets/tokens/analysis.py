"""The token analyses end to end, shared by the Dagster assets and ``neuro-omics tokens``."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from neuro_omics_assets.errors import AnnotationError, ConfigError
from neuro_omics_assets.genome.fasta import ReferenceGenome
from neuro_omics_assets.models.dnabert2.tokenizer import DnaBert2Tokenizer
from neuro_omics_assets.tokens.codon import codon_frame_tables
from neuro_omics_assets.tokens.enrichment import DEFAULT_MIN_COUNT, enrichment_table
from neuro_omics_assets.tokens.jaspar import MATCH_COLUMNS, JasparMotif, MotifScorer, best_matches
from neuro_omics_assets.tokens.regions import region_sequences
from neuro_omics_assets.tokens.usage import class_counts, tokenize_regions, usage_table
from neuro_omics_assets.tokens.vocabulary import token_lengths

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenAnalysisSpec:
    """Settings of the token analyses (each default's reason is in the module that uses it)."""

    upstream: int = 2000  # promoter bases 5' of the TSS (RegionSpec's default)
    downstream: int = 500  # promoter bases 3' of the TSS (RegionSpec's default)
    min_count: int = DEFAULT_MIN_COUNT
    # 5 % FDR: the conventional level; enriched tokens below it are matched to JASPAR.
    fdr: float = 0.05
    # 10 per class: enough for a logo panel, and JASPAR matching stays well under a second per class.
    top_matches: int = 10
    n_shuffles: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.fdr < 1 or self.n_shuffles < 0 or self.top_matches < 0 or self.min_count < 1:
            raise ConfigError(
                f"token analysis settings out of range ({self}); need 0 < fdr < 1, n_shuffles >= 0, "
                f"top_matches >= 0, min_count >= 1."
            )


def region_tokens(
    genome: ReferenceGenome,
    genes: pd.DataFrame,
    tokenizer: DnaBert2Tokenizer,
    cds_phases: dict[str, int],
    spec: TokenAnalysisSpec,
) -> pd.DataFrame:
    """Tokenized region pieces of ``genes`` (``tokenize_regions`` columns) plus ``cds_phase`` (null off CDS).

    ``cds_phases``: transcript id -> phase of its 5'-most CDS part (``genome.gff3.cds_start_phases``).
    """
    regions = region_sequences(genome, genes, spec.upstream, spec.downstream)
    tokenized = tokenize_regions(tokenizer, regions)
    is_cds = tokenized["region_class"] == "cds"
    missing = sorted(set(tokenized.loc[is_cds, "transcript_id"]) - set(cds_phases))
    if missing:
        raise AnnotationError(
            f"no CDS phase for transcripts {missing[:5]}; their CDS lines need a frame/phase of 0, 1 or 2."
        )
    tokenized["cds_phase"] = [cds_phases[t] if cds else None for t, cds in zip(tokenized["transcript_id"], is_cds, strict=True)]
    tokenized["cds_phase"] = tokenized["cds_phase"].astype("Int64")
    log.info("%d region pieces, %d tokens", len(tokenized), int(tokenized["n_tokens"].sum()))
    return tokenized


def token_strings(vocabulary: pd.DataFrame) -> np.ndarray:
    """``str (V,)`` token per id, special tokens as ``N`` (the DNABERT-2 tokenizer's ``[UNK]`` is one base)."""
    return np.where(vocabulary["special"].to_numpy(), "N", vocabulary["token"].to_numpy()).astype(str)


def token_usage(tokenized: pd.DataFrame, vocabulary: pd.DataFrame) -> pd.DataFrame:
    """``usage.usage_table`` of the tokenized pieces."""
    return usage_table(class_counts(tokenized, len(vocabulary)), vocabulary, token_lengths(vocabulary))


def motif_enrichment(
    tokenized: pd.DataFrame, vocabulary: pd.DataFrame, motifs: list[JasparMotif] | None, spec: TokenAnalysisSpec
) -> pd.DataFrame:
    """``enrichment.enrichment_table`` plus the ``jaspar.MATCH_COLUMNS`` of the top over-represented tokens.

    Per class, the ``top_matches`` over-represented tokens with ``q_value < fdr`` (smallest q first)
    are matched to ``motifs`` (``jaspar.read_jaspar``); other rows have null match columns; ``motifs=None``
    skips matching.
    """
    counts = class_counts(tokenized, len(vocabulary))
    table = enrichment_table(counts, ~vocabulary["special"].to_numpy(), vocabulary["token"].to_numpy(), spec.min_count)
    chosen = table[(table["direction"] == "over") & (table["q_value"] < spec.fdr)]
    chosen = chosen.sort_values(["q_value", "log2_odds_ratio"], ascending=[True, False], kind="stable")
    chosen = chosen.groupby("region_class", sort=False).head(spec.top_matches)
    for column in MATCH_COLUMNS[1:]:
        table[column] = None
    if motifs is None or chosen.empty:
        return table
    tokens = sorted(set(chosen["token"]))
    matches = best_matches(tokens, MotifScorer(motifs), spec.n_shuffles, spec.seed).set_index("token")
    for column in MATCH_COLUMNS[1:]:
        table.loc[chosen.index, column] = matches.loc[chosen["token"], column].to_numpy()
    return table


def codon_frame(tokenized: pd.DataFrame, vocabulary: pd.DataFrame, spec: TokenAnalysisSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``codon.codon_frame_tables`` of the CDS pieces."""
    cds = tokenized[tokenized["region_class"] == "cds"]
    return codon_frame_tables(cds, token_strings(vocabulary), token_lengths(vocabulary), spec.n_shuffles, spec.seed)
