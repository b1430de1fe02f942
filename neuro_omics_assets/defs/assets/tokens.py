"""Group ``tokens``: what DNABERT-2's BPE tokens are, where they fall, which motifs they carry, and
whether they respect the codon frame (domain code: ``neuro_omics_assets.tokens``).

Inputs come from the ``tokens`` resource (FASTA, GTF/GFF3, JASPAR; default: the 16 bundled real gene
regions), the tokenizer and input embeddings from its DNABERT-2 model directory (``model_dir``). The
region sequences are read once, per gene chunk (``bpe_region_tokens``, partitioned like the embedding
pipeline; job ``tokens_chunks_job``), and the analyses merge the chunks of the genes the ``tokens``
resource selects (job ``tokens_job``): a chunk that is missing or was built from another FASTA,
annotation or promoter setting stops them with an error naming it. Figures land in the asset metadata
and as PNG files next to the table's Parquet file.
"""

import dagster as dg
import pandas as pd
from matplotlib.figure import Figure

from ...checksums import file_sha256
from ...errors import WarehouseError
from ...genome.chunks import chunk_index, chunk_key, gene_chunk
from ...tokens import plots
from ...tokens.analysis import codon_frame, motif_enrichment, region_tokens, token_usage
from ...tokens.jaspar import read_jaspar
from ...tokens.report import to_arrow, vocabulary_with_map
from ...tokens.usage import class_summary
from ...warehouse import UNPARTITIONED
from ...warehouse.catalog import Catalog
from ..lineage import persist
from ..metadata import png_markdown, table_preview
from ..partitions import N_CHUNKS, gene_chunks
from ..resources import TokenInputsResource, WarehouseResource

GROUP = "tokens"


def _figure(catalog: Catalog, table: str, stem: str, figure: Figure) -> dict[str, dg.MetadataValue]:
    """Save ``figure`` next to ``table``'s Parquet files and return it as metadata (inline and path)."""
    path = plots.save(figure, catalog.table_dir(table) / f"{stem}.png")
    return {stem: png_markdown(figure), f"{stem}_png": dg.MetadataValue.path(str(path))}


def _read(catalog: Catalog, table: str) -> pd.DataFrame:
    return catalog.read_partition(table, UNPARTITIONED).to_pandas()


def _inputs(tokens: TokenInputsResource) -> dict[str, str]:
    """What a ``bpe_region_tokens`` chunk is built from, as stored in its Parquet metadata."""
    return {"fasta_sha256": file_sha256(tokens.path("fasta")), "annotation_sha256": file_sha256(tokens.path("annotation")),
            "upstream": str(tokens.promoter_upstream), "downstream": str(tokens.promoter_downstream)}


def _region_tokens(catalog: Catalog, tokens: TokenInputsResource) -> pd.DataFrame:
    """The ``bpe_region_tokens`` rows of the selected genes, merged over their chunks; WarehouseError when a
    chunk is missing or stale (built from other inputs)."""
    genes = set(tokens.gene_table()["gene_id"])
    wanted, inputs = sorted({chunk_key(gene_chunk(g, N_CHUNKS)) for g in genes}), _inputs(tokens)
    built = set(catalog.partitions("bpe_region_tokens"))
    stale = [k for k in wanted if k not in built or any(
        catalog.partition_metadata("bpe_region_tokens", k).get(key) != value for key, value in inputs.items())]
    if stale:
        raise WarehouseError(
            f"bpe_region_tokens chunks {stale[:5]}{' ...' if len(stale) > 5 else ''} ({len(stale)} of {len(wanted)}) are "
            "missing or were built from another FASTA, annotation or promoter setting; materialize them first "
            "(tokens_chunks_job over those chunks)."
        )
    frame = pd.concat([catalog.read_partition("bpe_region_tokens", k).to_pandas() for k in wanted], ignore_index=True)
    return frame[frame["gene_id"].isin(genes)].reset_index(drop=True)


@dg.asset(group_name=GROUP, kinds={"parquet"})
def bpe_vocabulary(
    context: dg.AssetExecutionContext, tokens: TokenInputsResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Every BPE token: id, string, length, GC, CpG, low-complexity flag, RC in vocabulary, 2-D embedding map."""
    model_dir = tokens.path("model_dir")
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


@dg.asset(group_name=GROUP, partitions_def=gene_chunks, backfill_policy=dg.BackfillPolicy.single_run(), kinds={"parquet"})
def bpe_region_tokens(
    context: dg.AssetExecutionContext, tokens: TokenInputsResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Token ids of every region piece (CDS, UTRs, introns, promoter, transcript body) of the genes of each chunk."""
    from ...models.dnabert2.tokenizer import DnaBert2Tokenizer

    tokenizer = DnaBert2Tokenizer(tokens.path("model_dir") / "tokenizer.json")
    genes, phases, catalog = tokens.gene_table(), tokens.cds_phases(), warehouse.catalog()
    chunk_of = [gene_chunk(g, N_CHUNKS) for g in genes["gene_id"]]
    checksums = {**_inputs(tokens), "tokenizer_sha256": tokenizer.sha256}
    frames = []
    with tokens.genome() as genome:
        for chunk in context.partition_keys:
            in_chunk = genes[[c == chunk_index(chunk) for c in chunk_of]]
            tokenized = region_tokens(genome, in_chunk, tokenizer, phases, tokens.spec())
            persist(context, catalog, "bpe_region_tokens", chunk, to_arrow(tokenized, "bpe_region_tokens"), checksums)
            frames.append(tokenized)
    done = pd.concat(frames, ignore_index=True)
    per_class = done.groupby("region_class")[["length", "n_tokens"]].sum()
    return dg.MaterializeResult(metadata={
        "chunks": len(context.partition_keys),
        "genes": int(done["gene_id"].nunique()),
        "pieces": len(done),
        "per_class": dg.MetadataValue.md(per_class.to_markdown()),
        **checksums,
    })


@dg.asset(group_name=GROUP, deps=[bpe_vocabulary, bpe_region_tokens], kinds={"parquet"})
def bpe_token_usage(
    context: dg.AssetExecutionContext, tokens: TokenInputsResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Per region class: token counts and frequencies, token lengths and bases per token."""
    catalog = warehouse.catalog()
    usage = token_usage(_region_tokens(catalog, tokens), _read(catalog, "bpe_vocabulary"))
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
    enrichment = motif_enrichment(_region_tokens(catalog, tokens), _read(catalog, "bpe_vocabulary"), motifs, spec)
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
    frame, splitting = codon_frame(_region_tokens(catalog, tokens), _read(catalog, "bpe_vocabulary"), spec)
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
