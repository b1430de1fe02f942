"""File checksums (memoized by stat) and source fingerprints."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from neuro_omics_assets import checksums
from neuro_omics_assets.checksums import file_sha256, source_fingerprint
from neuro_omics_assets.errors import InputFileError
from neuro_omics_assets_tests.genome.realdata import CHRM_FASTA, GENCODE_GTF


def test_file_sha256_matches_provenance() -> None:
    # Checksums from data/real/PROVENANCE.md.
    assert file_sha256(CHRM_FASTA) == "4032cdaebc99547ac2487c3aac5922e64a52f5984874224b2d41f191400a7c9a"
    assert file_sha256(GENCODE_GTF) == "816862634191ef91c826b0903df9923b39b934d828992e5fe6c03a6a3f863891"


def test_file_sha256_rehashes_a_rewritten_file(tmp_path: Path) -> None:
    path = tmp_path / "ref.fa"
    path.write_bytes(b">a\nACGT\n")
    assert file_sha256(path) == hashlib.sha256(b">a\nACGT\n").hexdigest()
    path.write_bytes(b">a\nACGA\n")  # same size: the memo key still changes (mtime/inode)
    os.utime(path, ns=(1, 1))
    assert file_sha256(path) == hashlib.sha256(b">a\nACGA\n").hexdigest()


def test_file_sha256_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="nope.gtf"):
        file_sha256(tmp_path / "nope.gtf")


def test_source_fingerprint_changes_when_a_source_file_changes(tmp_path: Path, monkeypatch) -> None:
    package = tmp_path / "pkg"
    shutil.copytree(checksums.PACKAGE_DIR / "embedding", package / "embedding")
    monkeypatch.setattr(checksums, "PACKAGE_DIR", package)
    source_fingerprint.cache_clear()
    before = source_fingerprint("embedding")
    engine = package / "embedding" / "engine.py"
    engine.write_text(engine.read_text() + "\n# a comment changes the bytes\n")
    source_fingerprint.cache_clear()
    after = source_fingerprint("embedding")
    source_fingerprint.cache_clear()
    assert len(before) == 64 and before != after
