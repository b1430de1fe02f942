from __future__ import annotations

import dataclasses
import logging
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neuro_omics_assets.embedding import cache as cache_module
from neuro_omics_assets.embedding.cache import EmbeddingCache
from neuro_omics_assets.embedding.engine import EmbeddingEngine, EmbeddingSpec
from neuro_omics_assets.embedding.pooling import WindowStats
from neuro_omics_assets.embedding.windows import WindowSpec
from neuro_omics_assets_tests.embedding.fakes import FakeEncoder

_RNG = random.Random(0)
SEQUENCE = "".join(_RNG.choice("ACGT") for _ in range(600))
SHA = "ab" * 32


def _stats() -> WindowStats:
    return WindowStats(
        window_index=np.array([0, 0], dtype=np.int32),
        window_start=np.array([0, 0]),
        window_end=np.array([10, 10]),
        strand=np.array(["forward", "reverse_complement"]),
        n_tokens=np.array([3, 4], dtype=np.int32),
        n_bases=np.array([10, 10]),
        token_sum=np.arange(6, dtype=np.float32).reshape(2, 3),
        cls=-np.arange(6, dtype=np.float32).reshape(2, 3),
    )


def _spec(pooling: str = "mean") -> EmbeddingSpec:
    return EmbeddingSpec(window=WindowSpec(max_tokens=32), pooling=pooling)  # type: ignore[arg-type]


def test_put_then_get_round_trips(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    assert cache.get("cd" * 32) is None
    path = cache.put("cd" * 32, _stats())
    assert path == tmp_path / "cd" / f"{'cd' * 32}.npz"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left behind
    loaded = cache.get("cd" * 32)
    assert loaded is not None
    for name, column in _stats().arrays().items():
        np.testing.assert_array_equal(getattr(loaded, name), column)
        assert getattr(loaded, name).dtype == column.dtype
    assert (cache.hits, cache.misses, cache.corrupt) == (1, 1, 0)


def test_key_covers_the_sequence_and_every_statistics_field_of_the_identity(fake_encoder: FakeEncoder) -> None:
    identity = EmbeddingEngine(fake_encoder, _spec()).identity
    key = EmbeddingCache.key_for(SHA, identity)
    assert len(key) == 64 and key == EmbeddingCache.key_for(SHA, identity)
    variants = {EmbeddingCache.key_for("cd" * 32, identity)}
    changed = {name: "other" for name in ("encoder", "model_sha256", "tokenizer_sha256", "dtype", "device_class",
                                          "kernel", "window_algorithm", "code_fingerprint")}
    changed.update(window_max_tokens=1024, numerics_version=99, rc_handling="equivariant")
    # every statistics field is tried below (one_equivariant_pass through rc_handling)
    assert set(changed) - {"rc_handling"} | {"one_equivariant_pass"} == set(identity.statistics_fields())
    for field, value in changed.items():
        variants.add(EmbeddingCache.key_for(SHA, dataclasses.replace(identity, **{field: value})))
    assert len(variants) == 1 + len(changed) and key not in variants
    # pooling and RC averaging are applied after the cache (both strands ran): same statistics, same key
    assert EmbeddingCache.key_for(SHA, identity.with_pooling("cls", rc_averaged=False)) == key


def test_an_entry_of_one_kernel_is_never_served_to_another(tmp_path: Path, fake_encoder: FakeEncoder) -> None:
    cache = EmbeddingCache(tmp_path)
    fake_encoder.kernel = "eager"
    EmbeddingEngine(fake_encoder, _spec(), cache=cache).embed({"g": SEQUENCE})
    calls = fake_encoder.calls
    fake_encoder.kernel = "sdpa"
    engine = EmbeddingEngine(fake_encoder, _spec(), cache=cache)
    engine.embed({"g": SEQUENCE})
    assert (engine.cache_hits, engine.cache_misses) == (0, 1) and fake_encoder.calls > calls
    again = EmbeddingEngine(fake_encoder, _spec(), cache=cache)
    again.embed({"g": SEQUENCE})
    assert (again.cache_hits, again.cache_misses) == (1, 0)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # torn write / truncated file
        lambda data: b"",  # empty file
        lambda data: data[:-300] + bytes(b ^ 0xFF for b in data[-300:-200]) + data[-200:],  # flipped bytes
    ],
)
def test_damaged_entry_is_logged_deleted_and_missed(tmp_path: Path, caplog, damage) -> None:
    cache = EmbeddingCache(tmp_path)
    path = cache.put(SHA, _stats())
    path.write_bytes(damage(path.read_bytes()))
    with caplog.at_level(logging.WARNING):
        assert cache.get(SHA) is None
    assert not path.exists()
    assert (cache.hits, cache.misses, cache.corrupt) == (0, 1, 1)
    assert "unreadable" in caplog.text and path.name in caplog.text


def test_payload_checksum_detects_a_changed_value(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    path = cache.put(SHA, _stats())
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays["token_sum"] = arrays["token_sum"] + 1  # a valid .npz whose payload no longer matches
    np.savez(path, **arrays)
    assert cache.get(SHA) is None and cache.corrupt == 1


def test_entry_under_another_key_is_rejected(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    source = cache.put(SHA, _stats())
    target = cache.path_for("cd" * 32)
    target.parent.mkdir(parents=True)
    target.write_bytes(source.read_bytes())
    assert cache.get("cd" * 32) is None and cache.corrupt == 1


def test_cached_sequence_never_reaches_the_model(tmp_path: Path, tokenizer) -> None:
    first_encoder = FakeEncoder(tokenizer)
    first = EmbeddingEngine(first_encoder, _spec(), EmbeddingCache(tmp_path)).embed({"g": SEQUENCE})
    assert first_encoder.calls > 0
    counting = FakeEncoder(tokenizer)
    engine = EmbeddingEngine(counting, _spec(), EmbeddingCache(tmp_path))
    again = engine.embed({"g": SEQUENCE, "same": SEQUENCE.lower()})
    assert counting.calls == 0 and engine.model_calls == 0
    assert (engine.cache_hits, engine.cache_misses) == (1, 0)
    np.testing.assert_array_equal(again["same"].vector, first["g"].vector)


def test_changing_pooling_hits_the_cache(tmp_path: Path, tokenizer) -> None:
    mean = EmbeddingEngine(FakeEncoder(tokenizer), _spec("mean"), EmbeddingCache(tmp_path)).embed(
        {"g": SEQUENCE}
    )
    counting = FakeEncoder(tokenizer)
    engine = EmbeddingEngine(counting, _spec("cls"), EmbeddingCache(tmp_path))
    cls = engine.embed({"g": SEQUENCE})
    assert counting.calls == 0 and engine.cache_hits == 1
    np.testing.assert_allclose(
        cls["g"].vector, (mean["g"].cls_forward + mean["g"].cls_reverse) / 2, rtol=1e-6
    )


def test_corrupt_entry_is_recomputed(tmp_path: Path, tokenizer) -> None:
    cache = EmbeddingCache(tmp_path)
    first = EmbeddingEngine(FakeEncoder(tokenizer), _spec(), cache).embed({"g": SEQUENCE})
    (path,) = tmp_path.glob("*/*.npz")
    path.write_bytes(path.read_bytes()[:100])  # truncate
    counting = FakeEncoder(tokenizer)
    engine = EmbeddingEngine(counting, _spec(), EmbeddingCache(tmp_path))
    again = engine.embed({"g": SEQUENCE})
    assert counting.calls > 0 and engine.cache_misses == 1 and engine.cache.corrupt == 1
    np.testing.assert_array_equal(again["g"].vector, first["g"].vector)
    assert EmbeddingCache(tmp_path).get(path.stem) is not None  # rewritten intact


def test_temp_file_of_a_killed_writer_is_removed_by_the_next_put(tmp_path: Path) -> None:
    key = "ab" * 32
    temp_dir = EmbeddingCache(tmp_path).temp_dir
    script = (
        "import os, tempfile, sys\n"
        "from neuro_omics_assets.embedding import cache\n"
        "prefix = f'{cache._HOST}.{os.getpid()}.'\n"
        "handle = tempfile.NamedTemporaryFile(dir=sys.argv[1], prefix=prefix, suffix='.tmp', delete=False)\n"
        "handle.write(b'half an entry'); handle.flush()\n"
        "os.kill(os.getpid(), 9)\n"  # killed mid-write: nothing cleans up
    )
    temp_dir.mkdir()
    subprocess.run([sys.executable, "-c", script, str(temp_dir)], check=False)
    (abandoned,) = temp_dir.glob("*.tmp")
    live_writer = temp_dir / f"{cache_module._HOST}.{os.getpid()}.x.tmp"  # this process: alive
    live_writer.write_bytes(b"in progress")
    cache = EmbeddingCache(tmp_path)
    cache.put(key, _stats())
    assert not abandoned.exists() and live_writer.exists()
    assert cache.get(key) is not None
