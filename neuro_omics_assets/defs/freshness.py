"""Which gene-chunk partitions are stale, and why: the staleness policy behind the chunk sensor.

Every chunk asset records in its Parquet metadata what it was made from (``MADE_FROM``): the chunk's
content hash (its genes' coordinates, transcript choice and region settings), the FASTA's SHA-256, and
for the embedding tables the embedding identity digest (``embedding/identity.py``). A partition is
stale when what it recorded differs from what the current genes table, FASTA and configured encoder
give now, or when it was never built. So an annotation edit marks the chunks whose genes changed; a new
FASTA marks every chunk; a new model, tokenizer, dtype, device class, kernel, window setting, pooling
or numerics code marks every embedding partition (but not the sequences or haplotypes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..checksums import file_sha256
from ..embedding.identity import DIGEST_KEY
from ..genome.gene_table import EMPTY_CHUNK_HASH, chunk_hashes
from ..warehouse.catalog import Catalog
from ..warehouse.tables import read_genes
from .resources import DnaEncoderResource, GenomeInputsResource

CHUNK_HASH_KEY = "chunk_content_hash"
FASTA_KEY = "fasta_sha256"

# Chunk asset → the recorded inputs that must match; the asset's table has the asset's name.
MADE_FROM: dict[str, tuple[str, ...]] = {
    "gene_sequences": (CHUNK_HASH_KEY, FASTA_KEY),
    "token_embeddings": (CHUNK_HASH_KEY, FASTA_KEY, DIGEST_KEY),
    "gene_vectors": (CHUNK_HASH_KEY, FASTA_KEY, DIGEST_KEY),
    "subject_haplotypes": (CHUNK_HASH_KEY, FASTA_KEY),
    "personal_gene_vectors": (CHUNK_HASH_KEY, FASTA_KEY, DIGEST_KEY),
}
# Chunk asset → the chunk assets computed from it (a stale asset re-runs them too).
DOWNSTREAM: dict[str, tuple[str, ...]] = {
    "gene_sequences": ("token_embeddings", "gene_vectors"),
    "token_embeddings": ("gene_vectors",),
    "gene_vectors": (),
    "subject_haplotypes": ("personal_gene_vectors",),
    "personal_gene_vectors": (),
}


@dataclass(frozen=True)
class CurrentInputs:
    """What every chunk partition should be made from now: per-chunk content hashes, the FASTA's
    SHA-256 and the configured embedding identity's digest."""

    chunk_hashes: Mapping[str, str]
    fasta_sha256: str
    embedding_identity: str

    def expected(self, chunk: str) -> dict[str, str]:
        return {CHUNK_HASH_KEY: self.chunk_hashes.get(chunk, EMPTY_CHUNK_HASH), FASTA_KEY: self.fasta_sha256,
                DIGEST_KEY: self.embedding_identity}


def current_inputs(catalog: Catalog, fasta_sha256: str, embedding_identity: str) -> CurrentInputs:
    """``CurrentInputs`` under the current ``genes`` table."""
    return CurrentInputs(chunk_hashes(read_genes(catalog)[0]), fasta_sha256, embedding_identity)


def stale_partitions(catalog: Catalog, chunk_keys: Sequence[str], now: CurrentInputs) -> dict[str, dict[str, list[str]]]:
    """Chunk → {stale asset → why (the recorded keys that differ, or ``never built``)}, for stale chunks
    only; an asset downstream of a stale one is stale too (``upstream stale``)."""
    built = {asset: set(catalog.partitions(asset)) for asset in MADE_FROM}
    stale: dict[str, dict[str, list[str]]] = {}
    for chunk in chunk_keys:
        expected = now.expected(chunk)
        reasons: dict[str, list[str]] = {}
        for asset, keys in MADE_FROM.items():
            if chunk not in built[asset]:
                reasons[asset] = ["never built"]
                continue
            recorded = catalog.partition_metadata(asset, chunk)
            differing = [key for key in keys if recorded.get(key) != expected[key]]
            if differing:
                reasons[asset] = differing
        for asset in list(reasons):
            for below in DOWNSTREAM[asset]:
                reasons.setdefault(below, ["upstream stale"])
        if reasons:
            stale[chunk] = {asset: reasons[asset] for asset in MADE_FROM if asset in reasons}
    return stale



def stale_chunks_now(
    catalog: Catalog, chunk_keys: Sequence[str], inputs: GenomeInputsResource, encoder: DnaEncoderResource
) -> dict[str, dict[str, list[str]]]:
    """``stale_partitions`` under the configured FASTA and encoder (checksums memoized by file stat, so a
    long-lived sensor process hashes the FASTA and the weights once, not on every evaluation)."""
    now = current_inputs(catalog, file_sha256(inputs.path("fasta")), encoder.identity().digest())
    return stale_partitions(catalog, chunk_keys, now)
