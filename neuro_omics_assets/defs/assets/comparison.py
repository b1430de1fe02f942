"""Group ``comparison``: the configured encoders compared gene by gene (domain code:
``evaluation.encoder_comparison``).

``encoder_comparison`` reads each encoder's stored gene vectors and per-strand window statistics; nothing is
re-embedded. Every encoder must cover the same genes, in the same order, from the same reference FASTA, which
they do by construction (they share ``gene_sequences``): a comparison over anything else is refused with an
error naming the difference.
"""

from collections.abc import Sequence

import dagster as dg
import numpy as np
import pyarrow as pa

from ...embedding.pooling import vectors_from_window_stats
from ...errors import WarehouseError
from ...evaluation.encoder_comparison import ComparisonSettings, EncoderVectors, compare_encoders
from ...warehouse import UNPARTITIONED
from ...warehouse.catalog import Catalog
from ...warehouse.evaluation_tables import frame_table
from ...warehouse.schemas import vectors_from_arrow
from ...warehouse.tables import read_genes, window_stats_by_gene
from ..encoders import EncoderName
from ..freshness import FASTA_KEY
from ..lineage import persist, stored_identity
from ..metadata import png_markdown
from ..resources import WarehouseResource


class ComparisonConfig(dg.Config):
    """How the encoders' gene–gene similarity structures are compared (evaluation.encoder_comparison)."""

    n_permutations: int = 1000  # gene-label permutations of the nulls; p resolution 1/1001
    seed: int = 42
    k_neighbours: int = 10  # a gene's close neighbourhood
    max_genes: int = 4000  # pair statistics hold a few G x G float64 arrays (~0.8 GB at 4,000 genes)
    subsample_genes: int | None = None  # above max_genes: compare this many seeded genes (refused when None)

    def to_settings(self, n_genes: int) -> ComparisonSettings:
        """The settings for ``n_genes`` genes: ``k_neighbours`` capped at G - 2 (a small gene panel), as recorded."""
        k = max(1, min(self.k_neighbours, n_genes - 2))
        return ComparisonSettings(self.n_permutations, self.seed, k, self.max_genes, self.subsample_genes)


def comparison_asset(encoders: Sequence[EncoderName]) -> dg.AssetsDefinition:
    """``encoder_comparison`` over every configured encoder's gene vectors."""

    @dg.asset(group_name="comparison", deps=[enc.key(a) for enc in encoders for a in ("token_embeddings", "gene_vectors")],
              kinds={"parquet"})
    def encoder_comparison(context: dg.AssetExecutionContext, config: ComparisonConfig,
                           warehouse: WarehouseResource) -> dg.MaterializeResult:
        """Per encoder, RC agreement (cosine of forward- and reverse-strand gene vectors); per encoder pair, linear CKA, the rank correlation of the gene–gene similarity matrices and nearest-neighbour overlap, each with a gene-permutation null."""
        catalog = warehouse.catalog()
        vectors, handling, identities = [], {}, {}
        for enc in encoders:
            encoder_vectors, identity = _encoder_vectors(catalog, enc)
            vectors.append(encoder_vectors)
            handling[enc.name], identities[enc.name] = identity.rc_handling, identity.digest()
        result = compare_encoders(vectors, config.to_settings(len(vectors[0].gene_ids)))
        settings = {**config.model_dump(), "k_neighbours_used": result.settings.k_neighbours, "encoders": [enc.name for enc in encoders], "embedding_identities": identities}
        summary = result.rc_summary.assign(rc_handling=result.rc_summary["encoder"].map(handling))
        for name, frame in (("encoder_rc_agreement", result.rc_per_gene), ("encoder_rc_summary", summary),
                            ("encoder_pairs", result.pairs), ("encoder_knn", result.knn_per_gene)):
            persist(context, catalog, name, UNPARTITIONED, frame_table(frame, name), {}, settings)
        shown = result.pairs.drop(columns=["n_permutations", "seed"])
        return dg.MaterializeResult(metadata={
            **settings, "genes": len(result.genes),
            "rc_agreement": dg.MetadataValue.md(summary.to_markdown(index=False, floatfmt=".6g")),
            "pairs": dg.MetadataValue.md(shown.to_markdown(index=False, floatfmt=".4g")),
            **{name: png_markdown(figure) for name, figure in result.figures.items()}})

    return encoder_comparison


def _encoder_vectors(catalog: Catalog, enc: EncoderName):
    """``enc``'s gene vectors in manifest order, its per-strand vectors from the stored window statistics (its
    pooling, no strand averaging), the reference FASTA they were made from, and their one embedding identity."""
    genes, _ = read_genes(catalog)
    order = genes.sort_values("manifest_index")["gene_id"].tolist()
    chunks = catalog.partitions(enc.table("gene_vectors"))
    if not chunks:
        raise WarehouseError(f"{catalog.db_path} has no gene_vectors of encoder {enc.name}; materialize them first "
                             "(gene_chunks_job over every chunk), then compare.")
    identity = stored_identity(catalog, enc.table("gene_vectors"), chunks)  # refuses mixed models
    tables = [catalog.read_partition(enc.table("gene_vectors"), c) for c in chunks]
    stored = pa.concat_tables(tables)
    by_gene = {g: i for i, g in enumerate(stored["gene_id"].to_pylist())}
    present = [g for g in order if g in by_gene]
    strands = {}
    for chunk in chunks:
        for gene_id, _, _, stats in window_stats_by_gene(catalog.read_partition(enc.table("token_embeddings"), chunk)):
            pooled = vectors_from_window_stats(stats, identity.pooling, identity.rc_averaged)
            strands[gene_id] = (pooled.forward, pooled.reverse)
    references = sorted({catalog.partition_metadata(enc.table("gene_vectors"), c)[FASTA_KEY] for c in chunks})
    vectors = EncoderVectors(
        name=enc.name, gene_ids=present, vectors=vectors_from_arrow(stored["embedding"])[[by_gene[g] for g in present]],
        forward=np.stack([strands[g][0] for g in present]), reverse=np.stack([strands[g][1] for g in present]),
        reference=",".join(references))
    return vectors, identity
