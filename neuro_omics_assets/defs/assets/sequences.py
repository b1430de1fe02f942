"""Group ``sequences``: strand-aware gene sequences, one Parquet file per gene chunk."""

import dagster as dg
import pandas as pd
import pyarrow as pa

from ...genome.chunks import chunk_index
from ...genome.extract import extract_gene_sequences
from ...genome.gene_table import chunk_hash
from ...warehouse.tables import read_genes
from ..freshness import CHUNK_HASH_KEY
from ..lineage import persist
from ..metadata import table_preview
from ..partitions import gene_chunks
from ..resources import GenomeInputsResource, WarehouseResource
from .reference import reference_genome, selected_genes


@dg.asset(
    group_name="sequences",
    partitions_def=gene_chunks,
    deps=[reference_genome, selected_genes],
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"parquet"},
)
def gene_sequences(
    context: dg.AssetExecutionContext, inputs: GenomeInputsResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Uppercase gene sequences (minus strand reverse-complemented) with N/IUPAC counts and SHA-256."""
    catalog = warehouse.catalog()
    genes, gtf_sha256 = read_genes(catalog)
    spec = inputs.region_spec()
    frames = []
    with inputs.genome() as genome:
        checksums = {"fasta_sha256": genome.sha256, "gtf_sha256": gtf_sha256}
        for chunk in context.partition_keys:
            in_chunk = genes[genes["chunk"] == chunk_index(chunk)]
            sequences = extract_gene_sequences(genome, in_chunk, spec)
            sequences["chunk"] = chunk_index(chunk)
            settings = {"region": spec.kind, "upstream": spec.upstream, "downstream": spec.downstream,
                        CHUNK_HASH_KEY: chunk_hash(in_chunk["content_hash"])}
            persist(context, catalog, "gene_sequences", chunk, pa.Table.from_pandas(sequences, preserve_index=False),
                    checksums, settings)
            frames.append(sequences)
    done = pd.concat(frames, ignore_index=True)
    context.log.info("%d chunks, %d genes, %d bp", len(context.partition_keys), len(done), int(done["length"].sum()))
    return dg.MaterializeResult(
        metadata={
            "chunks": len(context.partition_keys),
            "genes": len(done),
            "total_bp": int(done["length"].sum()),
            "n_count": int(done["n_count"].sum()),
            "all_n_genes": dg.MetadataValue.json(done.loc[done["all_n"], "gene_name"].tolist()),
            **checksums,
            "preview": table_preview(done, ["gene_id", "gene_name", "contig", "start", "end", "strand", "length", "n_count", "sha256"]),
        }
    )
