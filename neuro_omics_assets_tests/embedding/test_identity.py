"""The embedding identity: digest, metadata round trip, and the refusal to mix partitions."""

from __future__ import annotations

import dataclasses

import pytest

from neuro_omics_assets.embedding.identity import (
    DIGEST_KEY,
    NUMERICS_SOURCES,
    EmbeddingIdentity,
    code_fingerprint,
    rc_handling,
    require_one_identity,
)
from neuro_omics_assets.errors import MixedIdentityError

IDENTITY = EmbeddingIdentity(
    encoder="dnabert2", model_sha256="a" * 64, tokenizer_sha256="b" * 64, dtype="float32", device_class="cpu",
    kernel="sdpa", window_algorithm="w1", window_max_tokens=2048, pooling="mean", rc_averaged=True,
    rc_handling="posthoc_average", numerics_version=2, code_fingerprint="c" * 64,
)


def _as_parquet_metadata(identity: EmbeddingIdentity) -> dict[str, str]:
    """What ``defs.lineage.persist`` stores: strings as they are, other values as JSON."""
    return {k: v if isinstance(v, str) else ("true" if v is True else "false" if v is False else str(v))
            for k, v in identity.metadata().items()}


def test_every_field_changes_the_digest() -> None:
    digests = {IDENTITY.digest()}
    for field in dataclasses.fields(EmbeddingIdentity):
        value = getattr(IDENTITY, field.name)
        other = (not value) if isinstance(value, bool) else value + 1 if isinstance(value, int) else value + "x"
        digests.add(dataclasses.replace(IDENTITY, **{field.name: other}).digest())
    assert len(digests) == 1 + len(dataclasses.fields(EmbeddingIdentity))


def test_metadata_round_trips_through_string_key_values() -> None:
    stored = {**_as_parquet_metadata(IDENTITY), "unrelated": "x"}
    assert stored[DIGEST_KEY] == IDENTITY.digest()
    assert EmbeddingIdentity.from_metadata(stored) == IDENTITY
    assert EmbeddingIdentity.from_metadata({"model_sha256": "a" * 64}) is None  # an older file


def test_one_identity_is_returned_and_none_for_no_partitions() -> None:
    assert require_one_identity("gene_vectors", {"chunk_000": IDENTITY, "chunk_001": IDENTITY}, "fix") == IDENTITY
    assert require_one_identity("gene_vectors", {}, "fix") is None


def test_a_same_width_model_swap_is_refused_naming_chunks_and_fields() -> None:
    swapped = dataclasses.replace(IDENTITY, model_sha256="d" * 64)
    identities = {f"chunk_{i:03d}": IDENTITY for i in range(10)} | {"chunk_007": swapped}
    with pytest.raises(MixedIdentityError) as caught:
        require_one_identity("personal_gene_vectors", identities, "Re-run the stale chunks.")
    message = str(caught.value)
    assert "personal_gene_vectors partitions were made with 2 different embedding identities" in message
    assert "chunk_007 (dnabert2, model dddddddddddd" in message and "chunk_000, chunk_001" in message
    assert "differing fields: model_sha256." in message and message.endswith("Re-run the stale chunks.")
    assert "\n" not in message


def test_a_partition_without_identity_is_named() -> None:
    with pytest.raises(MixedIdentityError, match=r"chunk_001 \(no identity recorded"):
        require_one_identity("token_embeddings", {"chunk_000": IDENTITY, "chunk_001": None}, "fix")


def test_rc_handling_follows_the_encoder_and_rc_averaging() -> None:
    assert rc_handling(rc_equivariant=False, rc_average=True) == "posthoc_average"
    assert rc_handling(rc_equivariant=False, rc_average=False) == "forward_only"
    # an RC-equivariant encoder (Caduceus-PS) is RC-invariant by construction, whatever rc_average says
    assert rc_handling(rc_equivariant=True, rc_average=True) == rc_handling(True, False) == "equivariant"


def test_repooling_updates_the_strand_handling_with_the_rc_averaging() -> None:
    forward_only = IDENTITY.with_pooling("cls", rc_averaged=False)
    assert (forward_only.pooling, forward_only.rc_averaged, forward_only.rc_handling) == ("cls", False, "forward_only")
    assert forward_only.with_pooling("mean", rc_averaged=True) == IDENTITY
    equivariant = dataclasses.replace(IDENTITY, encoder="caduceus_ps", rc_handling="equivariant")
    assert equivariant.with_pooling("mean", rc_averaged=False).rc_handling == "equivariant"


def test_the_cache_fields_say_whether_one_equivariant_pass_made_both_strands() -> None:
    """posthoc_average vs forward_only is pooling (both passes ran): same statistics; equivariant is not."""
    forward_only = IDENTITY.with_pooling("mean", rc_averaged=False)
    assert forward_only.statistics_fields() == IDENTITY.statistics_fields()
    assert IDENTITY.statistics_fields()["one_equivariant_pass"] is False
    equivariant = dataclasses.replace(IDENTITY, rc_handling="equivariant")
    assert equivariant.statistics_fields()["one_equivariant_pass"] is True


def test_code_fingerprint_covers_the_numerics_sources() -> None:
    assert NUMERICS_SOURCES == ("models", "embedding", "genome/sequence.py")
    assert len(code_fingerprint()) == 64 and code_fingerprint() == code_fingerprint()
