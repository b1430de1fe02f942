"""Which gene-chunk partitions are stale, and why: the staleness policy behind the chunk sensor.

Every chunk asset records in its Parquet metadata what it was made from (``chunk_tables``): the chunk's
content hash (its genes' coordinates, transcript choice and region settings), the FASTA's SHA-256, and
for the embedding tables the embedding identity digest (``embedding/identity.py``). A partition is
stale when what it recorded differs from what the current genes table, FASTA and configured encoder
give now, or when it was never built. So an annotation edit marks the chunks whose genes changed; a new
FASTA marks every chunk; a new model, tokenizer, dtype, device class, kernel, window setting, pooling
or numerics code marks every embedding partition of that encoder (but not the sequences, the haplotypes or
another encoder's partitions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..checksums import file_sha256
from ..embedding.identity import DIGEST_KEY
from ..genome.gene_table import EMPTY_CHUNK_HASH, chunk_hashes
from ..warehouse.catalog import Catalog
from ..warehouse.tables import read_genes
from .encoders import EncoderName
from .resources import DnaEncoderResource, GenomeInputsResource

CHUNK_HASH_KEY = "chunk_content_hash"
FASTA_KEY = "fasta_sha256"


@dataclass(frozen=True)
class ChunkTable:
    """One chunk asset: its asset key (as in run requests), its warehouse table, the recorded inputs that must
    match, the encoder whose identity it records (None for the shared assets), and the chunk assets computed
    from it (a stale asset re-runs them too)."""

    asset: str
    table: str
    made_from: tuple[str, ...]
    encoder: str | None = None
    downstream: tuple[str, ...] = ()


def chunk_tables(encoders: Sequence[EncoderName]) -> list[ChunkTable]:
    """Every chunk asset of a deployment with ``encoders``, upstream before downstream."""
    shared = (CHUNK_HASH_KEY, FASTA_KEY)
    embedded = (CHUNK_HASH_KEY, FASTA_KEY, DIGEST_KEY)
    return [
        ChunkTable("gene_sequences", "gene_sequences", shared,
                   downstream=tuple(enc.asset(a) for enc in encoders for a in ("token_embeddings", "gene_vectors"))),
        ChunkTable("subject_haplotypes", "subject_haplotypes", shared,
                   downstream=tuple(enc.asset("personal_gene_vectors") for enc in encoders)),
        *(table for enc in encoders for table in (
            ChunkTable(enc.asset("token_embeddings"), enc.table("token_embeddings"), embedded, enc.name,
                       (enc.asset("gene_vectors"),)),
            ChunkTable(enc.asset("gene_vectors"), enc.table("gene_vectors"), embedded, enc.name),
            ChunkTable(enc.asset("personal_gene_vectors"), enc.table("personal_gene_vectors"), embedded, enc.name),
        )),
    ]


@dataclass(frozen=True)
class CurrentInputs:
    """What every chunk partition should be made from now: per-chunk content hashes, the FASTA's
    SHA-256 and each encoder's configured embedding identity digest."""

    chunk_hashes: Mapping[str, str]
    fasta_sha256: str
    embedding_identities: Mapping[str, str]

    def expected(self, chunk: str, encoder: str | None) -> dict[str, str | None]:
        return {CHUNK_HASH_KEY: self.chunk_hashes.get(chunk, EMPTY_CHUNK_HASH), FASTA_KEY: self.fasta_sha256,
                DIGEST_KEY: self.embedding_identities.get(encoder) if encoder else None}


def current_inputs(catalog: Catalog, fasta_sha256: str, embedding_identities: Mapping[str, str]) -> CurrentInputs:
    """``CurrentInputs`` under the current ``genes`` table."""
    return CurrentInputs(chunk_hashes(read_genes(catalog)[0]), fasta_sha256, dict(embedding_identities))


def stale_partitions(
    catalog: Catalog, chunk_keys: Sequence[str], now: CurrentInputs, tables: Sequence[ChunkTable]
) -> dict[str, dict[str, list[str]]]:
    """Chunk → {stale asset → why (the recorded keys that differ, or ``never built``)}, for stale chunks
    only; an asset downstream of a stale one is stale too (``upstream stale``)."""
    built = {t.asset: set(catalog.partitions(t.table)) for t in tables}
    stale: dict[str, dict[str, list[str]]] = {}
    for chunk in chunk_keys:
        reasons: dict[str, list[str]] = {}
        for t in tables:
            if chunk not in built[t.asset]:
                reasons.setdefault(t.asset, ["never built"])
                continue
            expected = now.expected(chunk, t.encoder)
            recorded = catalog.partition_metadata(t.table, chunk)
            differing = [key for key in t.made_from if recorded.get(key) != expected[key]]
            if differing:
                reasons.setdefault(t.asset, differing)
        for t in tables:  # upstream first, so staleness flows down chains
            if t.asset in reasons:
                for below in t.downstream:
                    reasons.setdefault(below, ["upstream stale"])
        if reasons:
            stale[chunk] = {t.asset: reasons[t.asset] for t in tables if t.asset in reasons}
    return stale


def stale_chunks_now(
    catalog: Catalog, chunk_keys: Sequence[str], inputs: GenomeInputsResource,
    encoders: Mapping[EncoderName, DnaEncoderResource],
) -> dict[str, dict[str, list[str]]]:
    """``stale_partitions`` under the configured FASTA and encoders (checksums memoized by file stat, so a
    long-lived sensor process hashes the FASTA and the weights once, not on every evaluation)."""
    identities = {enc.name: resource.identity().digest() for enc, resource in encoders.items()}
    now = current_inputs(catalog, file_sha256(inputs.path("fasta")), identities)
    return stale_partitions(catalog, chunk_keys, now, chunk_tables(list(encoders)))
