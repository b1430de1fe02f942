"""The embedding identity: everything that determines a vector besides the sequence itself.

An ``EmbeddingIdentity`` is defined here once and used everywhere a vector is stored or reused:

* the embedding cache key holds its *statistics* fields (``statistics_fields``: all but pooling and
  RC averaging, which are applied to cached window statistics after the cache, plus whether one
  RC-equivariant pass made both strands' statistics);
* every Parquet file of an embedding table carries ``metadata()`` (the digest and each field) in its
  key-value metadata, and the same lands in the file's lineage row;
* each gene chunk's freshness compares the identity its partitions were made with against the one
  configured now, so a new model, tokenizer, dtype, device class, kernel, window setting, pooling,
  numerics version or numerics code marks the chunk stale;
* anything that reads several partitions calls ``require_one_identity`` and refuses to mix.

``code_fingerprint`` is a SHA-256 over the source files that compute vectors (``NUMERICS_SOURCES``):
editing any of them changes every identity, so no numerics change depends on someone remembering to
bump a constant. Editing code that cannot change a vector (Dagster wiring, CLI, cohort statistics)
leaves identities, cache entries and chunks as they are. ``NUMERICS_VERSION`` still names deliberate
changes of arithmetic in the history below.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Literal

from neuro_omics_assets.checksums import source_fingerprint
from neuro_omics_assets.errors import MixedIdentityError

#: 2: bf16 attention projections as hi + lo weight pairs, float32 ALiBi bias on CPU (DNABERT-2).
#: 3: encoders other than DNABERT-2: special tokens per window from the encoder, one folded pass per
#: window for RC-equivariant encoders (Caduceus-PS), NaN CLS statistics for encoders without [CLS].
NUMERICS_VERSION = 3
#: The code a vector depends on: the models, the engine (windows, batching, pooling) and the
#: sequence helpers they use (normalisation, reverse complement).
NUMERICS_SOURCES = ("models", "embedding", "genome/sequence.py")
#: Key of the identity digest in Parquet metadata and lineage.
DIGEST_KEY = "embedding_identity"
# Pooling and RC averaging are applied to cached window statistics; everything else shapes them.
_POOLING_FIELDS = ("pooling", "rc_averaged", "rc_handling")
_SHOWN = 6

#: How a vector treats the two strands. ``equivariant``: an RC-equivariant encoder (Caduceus-PS) ran each
#: window once and its RC-invariant token states were pooled (the vector is the same for both strands by
#: construction, whatever ``rc_averaged`` says); ``posthoc_average``: forward and reverse-complement
#: passes, vectors averaged; ``forward_only``: both passes ran, the forward vector is used.
RcHandling = Literal["equivariant", "posthoc_average", "forward_only"]
EQUIVARIANT: RcHandling = "equivariant"


def rc_handling(rc_equivariant: bool, rc_average: bool) -> RcHandling:
    """The strand handling of an encoder (``rc_equivariant``) pooled with ``rc_average``."""
    if rc_equivariant:
        return EQUIVARIANT
    return "posthoc_average" if rc_average else "forward_only"


def code_fingerprint() -> str:
    """SHA-256 of the numerics source files (``NUMERICS_SOURCES``) of this installation."""
    return source_fingerprint(*NUMERICS_SOURCES)


@dataclass(frozen=True)
class EmbeddingIdentity:
    """What made a vector. ``device_class`` is ``cpu`` or ``cuda`` (kernels and arithmetic differ by
    class, not by card index); ``kernel`` the encoder's compute kernel (DNABERT-2: attention kernel,
    Caduceus: selective-scan kernel); ``rc_handling`` how the strands were treated (``RcHandling``)."""

    encoder: str
    model_sha256: str
    tokenizer_sha256: str
    dtype: str
    device_class: str
    kernel: str
    window_algorithm: str
    window_max_tokens: int
    pooling: str
    rc_averaged: bool
    rc_handling: str
    numerics_version: int
    code_fingerprint: str

    def statistics_fields(self) -> dict[str, str | int | bool]:
        """The fields that determine cached per-window statistics: all but pooling and RC averaging, plus
        whether one RC-equivariant pass made both strands' rows (``posthoc_average`` vs ``forward_only`` is
        pooling: both passes ran either way)."""
        statistics: dict[str, str | int | bool] = {
            k: v for k, v in asdict(self).items() if k not in _POOLING_FIELDS
        }
        statistics["one_equivariant_pass"] = self.rc_handling == EQUIVARIANT
        return statistics

    def with_pooling(self, pooling: str, rc_averaged: bool) -> EmbeddingIdentity:
        """This identity's statistics pooled another way (no model call): pooling, RC averaging and the
        strand handling that follows from them."""
        return replace(
            self,
            pooling=pooling,
            rc_averaged=rc_averaged,
            rc_handling=rc_handling(self.rc_handling == EQUIVARIANT, rc_averaged),
        )

    def digest(self) -> str:
        """SHA-256 of every field: equal digests mean vectors made the same way."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()

    def metadata(self) -> dict[str, str | int | bool]:
        """The digest and every field, for Parquet key-value metadata, lineage and Dagster metadata."""
        return {DIGEST_KEY: self.digest(), **asdict(self)}

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str]) -> EmbeddingIdentity | None:
        """The identity stored by ``metadata()`` in a Parquet file (values as strings), None if absent."""
        names = [f.name for f in fields(cls)]
        if DIGEST_KEY not in metadata or any(name not in metadata for name in names):
            return None
        values = {}
        for f in fields(cls):
            raw = metadata[f.name]
            values[f.name] = json.loads(raw) if f.type in ("int", "bool") and isinstance(raw, str) else raw
        return cls(**values)

    def differences(self, other: EmbeddingIdentity) -> dict[str, tuple[object, object]]:
        """Field → (this value, other value) for every field that differs."""
        mine, theirs = asdict(self), asdict(other)
        return {k: (mine[k], theirs[k]) for k in mine if mine[k] != theirs[k]}


def require_one_identity(
    table_name: str, identities: Mapping[str, EmbeddingIdentity | None], fix: str
) -> EmbeddingIdentity | None:
    """The one identity shared by every partition of ``table_name`` (partition → identity, None where
    a file records none); ``MixedIdentityError`` naming the partitions and the differing fields, with
    ``fix`` (how to bring them back to one identity), when they differ. None for no partitions."""
    groups: dict[str | None, list[str]] = defaultdict(list)
    by_digest: dict[str | None, EmbeddingIdentity | None] = {}
    for partition, identity in sorted(identities.items()):
        digest = identity.digest() if identity is not None else None
        groups[digest].append(partition)
        by_digest[digest] = identity
    if len(groups) <= 1:
        return next(iter(by_digest.values()), None)
    described = [_describe(by_digest[d], parts) for d, parts in sorted(groups.items(), key=lambda g: -len(g[1]))]
    known = [i for i in by_digest.values() if i is not None]
    differing = sorted({k for i in known[1:] for k in known[0].differences(i)}) if len(known) > 1 else []
    raise MixedIdentityError(
        f"{table_name} partitions were made with {len(groups)} different embedding identities: "
        f"{'; '.join(described)}"
        + (f"; differing fields: {', '.join(differing)}" if differing else "")
        + f". Refusing to combine them. {fix}"
    )


def _describe(identity: EmbeddingIdentity | None, partitions: list[str]) -> str:
    shown = ", ".join(partitions[:_SHOWN]) + (f" and {len(partitions) - _SHOWN} more" if len(partitions) > _SHOWN else "")
    if identity is None:
        return f"{shown} (no identity recorded: written by an older version)"
    return f"{shown} ({identity.encoder}, model {identity.model_sha256[:12]}, {identity.dtype}, {identity.kernel})"
