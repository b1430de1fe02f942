"""Group ``cross_species``: several genomes side by side, their orthologs, and per encoder how well gene vectors
transfer between species (domain code: ``neuro_omics_assets.cross_species``).

The genomes are the deployment's (``[genomes.<name>]``; default: the bundled human and mouse chrM pilot) and
are this group's partitions: one partition per genome, so each genome's genes are extracted and embedded on
their own, from their own FASTA (two genomes may both call their contig ``MT``), into tables keyed by genome.
The content cache is shared with the gene-chunk pipeline, so genes it already embedded cost no model pass.
"""

from collections.abc import Sequence

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow as pa

from ...checksums import file_sha256
from ...cross_species.composition import kmer_vectors
from ...cross_species.orthologs import ortholog_pairs as pair_orthologs
from ...cross_species.orthologs import read_ortholog_table
from ...cross_species.pilot import PilotResult, embed_genes, pilot_from_vectors, shuffled_sequences
from ...deployment import Deployment
from ...warehouse import UNPARTITIONED
from ...warehouse.catalog import Catalog
from ...warehouse.cross_species_tables import species_gene_sequences_table, species_gene_vectors_table
from ...warehouse.evaluation_tables import frame_table
from ...warehouse.schemas import vectors_from_arrow
from ..encoders import EncoderName
from ..lineage import model_checksums, persist, stored_identity
from ..metadata import png_markdown, table_preview
from ..resources import CrossSpeciesResource, DnaEncoderResource, WarehouseResource
from .embeddings import encoder_resource, warehouse_resource

GROUP = "cross_species"


def cross_species_assets(deployment: Deployment, encoders: Sequence[EncoderName]) -> list:
    """The group's assets over the genomes of ``deployment`` (its partitions) and the ``encoders``."""
    genomes = dg.StaticPartitionsDefinition(list(deployment.genomes))

    @dg.asset(group_name=GROUP, partitions_def=genomes, backfill_policy=dg.BackfillPolicy.single_run(),
              kinds={"parquet"})
    def species_gene_sequences(context: dg.AssetExecutionContext, cross_species: CrossSpeciesResource,
                               warehouse: WarehouseResource) -> dg.MaterializeResult:
        """Per genome: its selected genes' strand-aware sequences, from its own FASTA and annotation."""
        configured, catalog, counts = cross_species.read_deployment(), warehouse.catalog(), {}
        for genome in context.partition_keys:
            config = configured.genome(genome)
            sequences = config.gene_sequences()
            checksums = {"fasta_sha256": file_sha256(config.fasta), "annotation_sha256": file_sha256(config.annotation)}
            persist(context, catalog, "species_gene_sequences", genome, species_gene_sequences_table(genome, sequences),
                    checksums, {"species": config.species, "region": config.region.kind})
            counts[genome] = len(sequences)
        return dg.MaterializeResult(metadata={"genes": dg.MetadataValue.json(counts)})

    @dg.asset(group_name=GROUP, deps=[species_gene_sequences], kinds={"parquet"})
    def ortholog_pairs(context: dg.AssetExecutionContext, cross_species: CrossSpeciesResource,
                       warehouse: WarehouseResource) -> dg.MaterializeResult:
        """The ortholog table's one-to-one pairs present in both genomes' genes; every other row reported (one-to-many, unknown gene, ...) and excluded."""
        configured, catalog = cross_species.read_deployment(), warehouse.catalog()
        names = configured.orthologs.genomes
        sequences = [catalog.read_partition("species_gene_sequences", g).to_pandas() for g in names]
        pairs = pair_orthologs(read_ortholog_table(configured.orthologs.path, names), names, *sequences,
                               cross_species.many)
        checksums = {"ortholog_table_sha256": file_sha256(configured.orthologs.path)}
        settings = {"genomes": list(names), "many": cross_species.many}
        persist(context, catalog, "ortholog_pairs", UNPARTITIONED,
                pa.Table.from_pandas(pairs.pairs, preserve_index=False), checksums, settings)
        persist(context, catalog, "ortholog_pair_report", UNPARTITIONED, frame_table(pairs.report, "ortholog_pair_report"),
                checksums, settings)
        return dg.MaterializeResult(metadata={
            **checksums, **settings, "pairs": len(pairs.pairs), "excluded_rows": len(pairs.report),
            "excluded_by_status": dg.MetadataValue.json(pairs.report["status"].value_counts().to_dict()),
            "preview": table_preview(pairs.pairs, ["gene_name_a", "gene_name_b", "gene_id_a", "gene_id_b"])})

    per_encoder = []
    for enc in encoders:
        per_encoder += _encoder_assets(enc, genomes, species_gene_sequences, ortholog_pairs)
    return [species_gene_sequences, ortholog_pairs, *per_encoder]


def _encoder_assets(enc: EncoderName, genomes: dg.StaticPartitionsDefinition, sequences_asset: dg.AssetsDefinition,
                    pairs_asset: dg.AssetsDefinition) -> list:
    """``<encoder>/species_gene_vectors`` and the pilot of ``enc`` (``ortholog_transfer``, ``zero_shot_classification``)."""

    @dg.asset(key=enc.key("species_gene_vectors"), group_name=GROUP, partitions_def=genomes, deps=[sequences_asset],
              pool="gpu", backfill_policy=dg.BackfillPolicy.single_run(), kinds={"pytorch", "parquet"},
              required_resource_keys={"warehouse", enc.resource_key},
              description=f"{enc.name}: per genome, one vector per gene (the encoder's pooling and RC handling).")
    def species_gene_vectors(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        catalog, engine = warehouse_resource(context).catalog(), encoder_resource(context, enc).engine()
        lineage = engine.lineage()
        for genome in context.partition_keys:
            sequences = catalog.read_partition("species_gene_sequences", genome).to_pandas()
            result = engine.embed(zip(sequences["gene_id"], sequences["sequence"], strict=True))
            upstream = catalog.partition_metadata("species_gene_sequences", genome)
            persist(context, catalog, enc.table("species_gene_vectors"), genome,
                    species_gene_vectors_table(genome, result, sequences),
                    {**model_checksums(lineage), "fasta_sha256": upstream["fasta_sha256"]}, lineage)
        return dg.MaterializeResult(metadata={"genomes": list(context.partition_keys), "model_calls": engine.model_calls,
                                              "cache_hits": engine.cache_hits, **lineage})

    @dg.multi_asset(
        specs=[dg.AssetSpec(enc.key(name), group_name=GROUP, deps=[species_gene_vectors, pairs_asset], kinds={"parquet"},
                            description=description)
               for name, description in (
                   ("ortholog_transfer", f"{enc.name}: per direction, the rank of each gene's ortholog among all genes "
                    "of the other species (top-1, top-5, MRR, AUROC) with a gene-label permutation null, beside the "
                    "same on composition-matched shuffles and on k-mer frequencies."),
                   ("zero_shot_classification", f"{enc.name}: a classifier of the genes' functional class trained "
                    "on one species' vectors and tested on the other's, against the majority-class and "
                    "composition-only baselines."))],
        name=f"{enc.name}__cross_species_pilot", pool="gpu",
        required_resource_keys={"warehouse", "cross_species", enc.resource_key},
    )
    def pilot(context: dg.AssetExecutionContext):
        catalog = warehouse_resource(context).catalog()
        result, settings = _pilot(catalog, enc, context.resources.cross_species, encoder_resource(context, enc))
        for table_name, frame in (("ortholog_ranks", result.ranks), ("ortholog_transfer", result.metrics),
                                  ("zero_shot_classification", result.classification),
                                  ("zero_shot_predictions", result.predictions)):
            asset = "zero_shot_classification" if table_name.startswith("zero_shot") else "ortholog_transfer"
            persist(context, catalog, table_name, enc.name, frame_table(frame.assign(encoder=enc.name), table_name), {},
                    settings, asset_key=enc.key(asset))
        model = result.metrics[result.metrics["vectors"] == "model"]
        yield dg.MaterializeResult(asset_key=enc.key("ortholog_transfer"), metadata={
            **settings, "metrics": dg.MetadataValue.md(result.metrics.to_markdown(index=False, floatfmt=".4g")),
            "model_top1": float(model.loc[model["metric"] == "top1", "value"].mean()),
            **{name: png_markdown(figure) for name, figure in result.figures("model").items()}})
        yield dg.MaterializeResult(asset_key=enc.key("zero_shot_classification"), metadata={
            **settings,
            "classification": dg.MetadataValue.md(result.classification.to_markdown(index=False, floatfmt=".3f"))})

    return [species_gene_vectors, pilot]


def _pilot(catalog: Catalog, enc: EncoderName, cross_species: CrossSpeciesResource,
           encoder: DnaEncoderResource) -> tuple[PilotResult, dict]:
    """The pilot of ``enc`` on the stored vectors of the two ortholog genomes (plus shuffles and k-mers)."""
    configured = cross_species.read_deployment()
    names = configured.orthologs.genomes
    table = enc.table("species_gene_vectors")
    identity = stored_identity(catalog, table, list(names))  # refuses vectors of two models
    sequences = [catalog.read_partition("species_gene_sequences", g).to_pandas() for g in names]
    stored = [_aligned_vectors(catalog.read_partition(table, g), s) for g, s in zip(names, sequences, strict=True)]
    spec = cross_species.spec()
    engine = encoder.engine()
    shuffled = [embed_genes(engine, shuffled_sequences(s, np.random.default_rng([spec.seed, i])))
                for i, s in enumerate(sequences)]
    vectors = {"model": tuple(stored), "shuffled": tuple(shuffled),
               "kmer": tuple(kmer_vectors(s["sequence"].tolist(), spec.kmer, s["gene_id"].tolist()) for s in sequences)}
    pairs = catalog.read_partition("ortholog_pairs", UNPARTITIONED).to_pandas()
    result = pilot_from_vectors(vectors, *sequences, pairs, spec)
    settings = {"genomes": list(names), "n_permutations": spec.n_permutations, "seed": spec.seed, "top_k": spec.top_k,
                "kmer": spec.kmer, "label": spec.label, "pairs": len(pairs), **identity.metadata()}
    return result, settings


def _aligned_vectors(vectors: pa.Table, sequences: pd.DataFrame) -> np.ndarray:
    """The stored vectors in the row order of the genome's sequence table (one per gene)."""
    by_gene = pd.Series(np.arange(vectors.num_rows), index=vectors["gene_id"].to_pylist())
    return vectors_from_arrow(vectors["embedding"])[by_gene.loc[sequences["gene_id"]].to_numpy()]
