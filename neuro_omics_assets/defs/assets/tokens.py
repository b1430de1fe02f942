"""Group ``tokens``: what DNABERT-2's BPE tokens are, where they fall, which motifs they carry, and
whether they respect the codon frame (domain code: ``neuro_omics_assets.tokens``).

Inputs come from the ``tokens`` resource (FASTA, GTF/GFF3, JASPAR; default: the 16 bundled real gene
regions), the tokenizer and input embeddings from the ``encoder`` resource's model directory. The
region sequences are read once (``bpe_region_tokens``) and every analysis reads that table. Not
partitioned by gene chunk: these analyses compare region classes across all genes at once.
Figures land in the asset metadata and as PNG files next to the table's Parquet file.
"""

import dagster as dg
import pandas as pd
from matplotlib.figure import Figure

from ...genome.sequence import file_sha256
from ...tokens import plots
from ...tokens.analysis import codon_frame, motif_enrichment, region_tokens, token_usage
from ...tokens.jaspar import read_jaspar
from ...tokens.report import to_arrow, vocabulary_with_map
from ...tokens.usage import class_summary
from ...warehouse import UNPARTITIONED
from ...warehouse.catalog import Catalog
from ..lineage import persist
from ..metadata import png_markdown, table_preview
from ..resources import DnaEncoderResource, TokenInputsResource, WarehouseResource

GROUP = "tokens"


def _figure(catalog: Catalog, table: str, stem: str, figure: Figure) -> dict[str, dg.MetadataValue]:
    """Save ``figure`` next to ``table``'s Parquet files and return it as metadata (inline and path)."""
    path = plots.save(figure, catalog.table_dir(table) / f"{stem}.png")
    return {stem: png_markdown(figure), f"{stem}_png": dg.MetadataValue.path(str(path))}


def _read(catalog: Catalog, table: str) -> pd.DataFrame:
    return catalog.read_partition(table, UNPARTITIONED).to_pandas()


@dg.asset(group_name=GROUP, kinds={"parquet"})
def bpe_vocabulary(
    context: dg.AssetExecutionContext, encoder: DnaEncoderResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Every BPE token: id, string, length, GC, CpG, low-complexity flag, RC in vocabulary, 2-D embedding map."""
    model_dir = encoder.path("model_dir")
    vocabulary, figure = vocabulary_with_map(model_dir / "tokenizer.json", model_dir)
    catalog = warehouse.catalog()
    checksums = {"tokenizer_sha256": file_sha256(model_dir / "tokenizer.json")}
    persist(context, catalog, "bpe_vocabulary", UNPARTITIONED, to_arrow(vocabulary, "bpe_vocabulary"), checksums)
    tokens = vocabulary[~vocabulary["special"]]
    return dg.MaterializeResult(metadata={
        "tokens": len(vocabulary),
        "low_complexity": int(tokens["low_complexity"].sum()),
        "rc_in_vocabulary": int(tokens["rc_token_id"].notna().sum()),
        "mean_length": float(tokens["length"].mean()),
        **checksums,
        **_figure(catalog, "bpe_vocabulary", "token_embedding_map", figure),
    })


@dg.asset(group_name=GROUP, kinds={"parquet"})
def bpe_region_tokens(
    context: dg.AssetExecutionContext, tokens: TokenInputsResource, encoder: DnaEncoderResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """Token ids of every region piece (CDS, UTRs, introns, promoter, transcript body) of every gene."""
    from ...models.dnabert2.tokenizer import DnaBert2Tokenizer

    tokenizer = DnaBert2Tokenizer(encoder.path("model_dir") / "tokenizer.json")
    with tokens.genome() as genome:
        tokenized = region_tokens(genome, tokens.gene_table(), tokenizer, tokens.cds_phases(), tokens.spec())
        checksums = {"fasta_sha256": genome.sha256, "annotation_sha256": file_sha256(tokens.path("annotation")),
                     "tokenizer_sha256": tokenizer.sha256}
    settings = {"upstream": tokens.promoter_upstream, "downstream": tokens.promoter_downstream}
    persist(context, warehouse.catalog(), "bpe_region_tokens", UNPARTITIONED, to_arrow(tokenized, "bpe_region_tokens"),
            checksums, settings)
    per_class = tokenized.groupby("region_class")[["length", "n_tokens"]].sum()
    return dg.MaterializeResult(metadata={
        "genes": int(tokenized["gene_id"].nunique()),
        "pieces": len(tokenized),
        "per_class": dg.MetadataValue.md(per_class.to_markdown()),
        **checksums,
    })


@dg.asset(group_name=GROUP, deps=[bpe_vocabulary, bpe_region_tokens], kinds={"parquet"})
def bpe_token_usage(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Per region class: token counts and frequencies, token lengths and bases per token."""
    catalog = warehouse.catalog()
    usage = token_usage(_read(catalog, "bpe_region_tokens"), _read(catalog, "bpe_vocabulary"))
    persist(context, catalog, "bpe_token_usage", UNPARTITIONED, to_arrow(usage, "bpe_token_usage"), {})
    return dg.MaterializeResult(metadata={
        "summary": dg.MetadataValue.md(class_summary(usage).to_markdown(index=False)),
        **_figure(catalog, "bpe_token_usage", "token_length_histogram", plots.length_histogram(usage)),
    })


@dg.asset(group_name=GROUP, deps=[bpe_vocabulary, bpe_region_tokens], kinds={"parquet"})
def bpe_motif_enrichment(
    context: dg.AssetExecutionContext, tokens: TokenInputsResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Tokens over/under-represented per region class (exact test, log2 OR with CI, BH FDR), top ones matched to JASPAR."""
    catalog, jaspar, spec = warehouse.catalog(), tokens.path("jaspar"), tokens.spec()
    motifs = read_jaspar(jaspar)
    enrichment = motif_enrichment(_read(catalog, "bpe_region_tokens"), _read(catalog, "bpe_vocabulary"), motifs, spec)
    checksums = {"jaspar_sha256": file_sha256(jaspar)}
    persist(context, catalog, "bpe_motif_enrichment", UNPARTITIONED, to_arrow(enrichment, "bpe_motif_enrichment"),
            checksums, {"fdr": spec.fdr, "n_shuffles": spec.n_shuffles, "seed": spec.seed})
    significant = enrichment[enrichment["q_value"] < spec.fdr]
    matched = enrichment[enrichment["jaspar_id"].notna()]
    return dg.MaterializeResult(metadata={
        "significant_by_class": dg.MetadataValue.json(significant.groupby("region_class").size().to_dict()),
        "top_matched": table_preview(matched, ["region_class", "token", "log2_odds_ratio", "q_value", "jaspar_id",
                                               "jaspar_tf", "jaspar_p"]),
        **checksums,
        **_figure(catalog, "bpe_motif_enrichment", "enriched_token_logos", plots.motif_logos(enrichment, motifs)),
    })


@dg.asset(group_name=GROUP, deps=[bpe_vocabulary, bpe_region_tokens], kinds={"parquet"})
def bpe_codon_frame(
    context: dg.AssetExecutionContext, tokens: TokenInputsResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Codon phase of token boundaries in CDS per gene and pooled (chi-square, token-shuffle null), and the
    tokens that split codons most often (table ``bpe_codon_tokens``)."""
    catalog, spec = warehouse.catalog(), tokens.spec()
    frame, splitting = codon_frame(_read(catalog, "bpe_region_tokens"), _read(catalog, "bpe_vocabulary"), spec)
    settings = {"n_shuffles": spec.n_shuffles, "seed": spec.seed}
    persist(context, catalog, "bpe_codon_frame", UNPARTITIONED, to_arrow(frame, "bpe_codon_frame"), {}, settings)
    persist(context, catalog, "bpe_codon_tokens", UNPARTITIONED, to_arrow(splitting, "bpe_codon_tokens"), {}, settings)
    pooled = frame[frame["scope"] == "pooled"].iloc[0]
    return dg.MaterializeResult(metadata={
        "genes": int((frame["scope"] == "gene").sum()),
        "pooled_phase_shares": dg.MetadataValue.json({f"phase{p}": round(float(pooled[f"share{p}"]), 4) for p in range(3)}),
        "pooled_chi2_p": float(pooled["chi2_p"]),
        "pooled_shuffle_p": float(pooled["shuffle_p"]),
        "top_codon_splitting_tokens": table_preview(splitting, ["token", "length", "occurrences", "splitting",
                                                                "split_fraction"]),
        **_figure(catalog, "bpe_codon_frame", "codon_phase_bars", plots.phase_bars(frame)),
    })


TOKEN_ASSETS = [bpe_vocabulary, bpe_region_tokens, bpe_token_usage, bpe_motif_enrichment, bpe_codon_frame]
