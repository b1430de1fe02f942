"""Stand-alone Parquet files for the CLI: ``neuro-omics extract`` and ``neuro-omics embed``.

The same domain functions and table builders as the Dagster assets, so a file made here holds the
same numbers as the warehouse partition of the same genes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import __version__
from .checksums import file_sha256
from .errors import ConfigError, InputFileError
from .genome.annotation import read_gene_list, select_genes
from .genome.contigs import ContigAliases
from .genome.extract import extract_gene_sequences
from .genome.fasta import ReferenceGenome
from .genome.gff3 import AnnotationFormat, read_annotation
from .genome.regions import RegionSpec
from .warehouse.parquet import write_parquet_atomic
from .warehouse.tables import gene_vectors_table, token_embeddings_table


def extract_to_parquet(
    *,
    fasta: Path,
    gtf: Path,
    out: Path,
    genes: Sequence[str] | None = None,
    gene_list: Path | None = None,
    gene_type: str | None = None,
    region: str = "gene_body",
    upstream: int = 2000,
    downstream: int = 500,
    contig_aliases: Path | None = None,
    annotation_format: AnnotationFormat = "auto",
) -> dict[str, int]:
    """Extract the selected genes' sequences into ``out`` (written atomically); return counts.

    ``gtf`` is a GTF or a GFF3 (``annotation_format``; ``auto`` decides by the file suffix).

    Parquet key-value metadata: ``fasta_sha256``, ``gtf_sha256``, ``region`` (JSON of the region
    settings) and ``package_version``.
    """
    spec = RegionSpec(kind=region, upstream=upstream, downstream=downstream)
    aliases = ContigAliases.from_tsv(contig_aliases) if contig_aliases else ContigAliases.hg38()
    wanted = read_gene_list(gene_list) if gene_list else genes
    selected = select_genes(read_annotation(gtf, annotation_format), wanted, gene_type)
    with ReferenceGenome(fasta, aliases=aliases) as genome:
        sequences = extract_gene_sequences(genome, selected, spec)
        fasta_sha256 = genome.sha256
    metadata = {
        "fasta_sha256": fasta_sha256,
        "gtf_sha256": file_sha256(gtf),
        "region": json.dumps({"kind": spec.kind, "upstream": spec.upstream, "downstream": spec.downstream}),
        "package_version": __version__,
    }
    write_parquet_atomic(pa.Table.from_pandas(sequences, preserve_index=False), out, metadata)
    return {
        "genes": len(sequences),
        "total_bp": int(sequences["length"].sum()),
        "n_count": int(sequences["n_count"].sum()),
    }


_IDENTIFYING_COLUMNS = ("contig", "start", "end", "strand", "region", "transcript_id")


def embed_parquet(
    *,
    model_dir: Path,
    sequences: Path,
    out: Path,
    pooling: str = "mean",
    rc_average: bool = True,
    max_tokens: int | None = None,
    batch_tokens: int = 16384,
    device: str = "auto",
    dtype: str = "auto",
    attention: str = "sdpa",
    scan: str = "auto",
    cache_dir: Path | None = None,
    progress: bool | None = None,
) -> dict[str, object]:
    """Embed the ``sequence`` column of an ``extract`` file into ``out`` with the DNABERT-2 or Caduceus model in
    ``model_dir``; return run figures. ``max_tokens`` None: the model's default window; ``attention`` matters to
    DNABERT-2 only, ``scan`` to Caduceus only.

    ``out`` holds the input's identifying columns, counts, agreement diagnostics and ``embedding``
    (``fixed_size_list<float32>[H]``); its key-value metadata records the model, tokenizer, window,
    pooling and dtype that made the vectors.
    """
    from .embedding.cache import EmbeddingCache
    from .embedding.engine import EmbeddingEngine, EmbeddingSpec, normalise_all
    from .embedding.windows import WindowSpec
    from .models.registry import load_encoder

    frame = _read_sequences(sequences)
    records = normalise_all(zip(frame["gene_id"], frame["sequence"], strict=True))  # before the model loads
    window = WindowSpec(max_tokens=max_tokens) if max_tokens is not None else None
    spec = EmbeddingSpec(window, pooling=pooling, rc_average=rc_average, batch_tokens=batch_tokens)
    encoder = load_encoder(model_dir, device=device, dtype=dtype, attention=attention, scan=scan)
    engine = EmbeddingEngine(encoder, spec, EmbeddingCache(cache_dir) if cache_dir else None)
    result = engine.embed_normalised(records, progress=bool(progress))
    frame["sha256"] = [result[g].sha256 for g in frame["gene_id"]]
    vectors = gene_vectors_table(token_embeddings_table(result, frame, chunk=0), 0, pooling, rc_average)
    extra = frame.set_index("gene_id").loc[vectors["gene_id"].to_pylist()]
    table = vectors.drop_columns(["chunk"])
    for column in [c for c in _IDENTIFYING_COLUMNS if c in frame.columns]:
        table = table.append_column(column, pa.array(extra[column].tolist()))
    for column in ("n_count", "iupac_count"):
        table = table.append_column(column, pa.array([getattr(result[g], column) for g in table["gene_id"].to_pylist()]))
    metadata = {key: str(value) for key, value in engine.lineage().items()}
    metadata.update(package_version=__version__, input_sha256=file_sha256(sequences))
    write_parquet_atomic(table, out, metadata)
    return {
        "sequences": len(frame),
        "windows": int(vectors["n_windows"].to_numpy().sum()) if len(vectors) else 0,
        "tokens": engine.tokens_processed,
        "tokens_per_s": engine.tokens_per_second,
        "device": str(engine.encoder.device),
        "dtype": metadata["dtype"],
    }


def _read_sequences(path: Path) -> pd.DataFrame:
    """The ``extract`` file at ``path`` as a DataFrame; clear errors for a missing file or columns."""
    if not path.is_file():
        raise InputFileError(f"sequence file {path} does not exist; make it with `neuro-omics extract ... --out {path}`")
    try:
        frame = pq.read_table(path).to_pandas()
    except pa.ArrowInvalid as error:
        raise InputFileError(f"{path} is not a readable Parquet file ({error}); re-run `neuro-omics extract`") from None
    missing = [c for c in ("gene_id", "sequence") if c not in frame.columns]
    if missing:
        raise ConfigError(f"{path} lacks column(s) {', '.join(missing)}; pass the output of `neuro-omics extract`")
    if "gene_name" not in frame.columns:
        frame["gene_name"] = None
    return frame
