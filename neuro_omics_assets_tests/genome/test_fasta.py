"""genome/fasta.py: plain and bgzipped FASTA, aliases, bounds, and broken inputs."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from neuro_omics_assets.errors import ContigNotFoundError, FastaError, InputFileError
from neuro_omics_assets.genome.fasta import CoordinateError, ReferenceGenome
from neuro_omics_assets_tests.genome.realdata import CHR2_FASTA, CHRM_FASTA, REAL


def _copy(src: Path, dest_dir: Path, *suffixes: str) -> Path:
    """Copy a FASTA and the named index files (e.g. '.fai') into ``dest_dir``."""
    for suffix in ("", *suffixes):
        shutil.copy(f"{src}{suffix}", dest_dir / f"{src.name}{suffix}")
    return dest_dir / src.name


def test_plain_fasta_contigs_and_slices(chrm_text: str) -> None:
    with ReferenceGenome(CHRM_FASTA) as genome:
        assert genome.contigs == {"chrM": 16569}
        assert genome.fetch("chrM", 0, 10) == "GATCACAGGT"
        for start, end in [(0, 1), (59, 61), (3100, 3110), (16500, 16569), (5903, 7445)]:
            assert genome.fetch("chrM", start, end) == chrm_text[start:end]
        assert genome.fetch("chrM", 100, 100) == ""


def test_case_is_kept_as_stored(chrm_text: str) -> None:
    with ReferenceGenome(CHRM_FASTA) as genome:
        # chrM is Ensembl dna_sm: bases 302-314 (0-based) are soft-masked.
        assert genome.fetch("chrM", 300, 317) == chrm_text[300:317]
        assert genome.fetch("chrM", 300, 317)[2:15].islower()


def test_aliases_resolve_ensembl_names() -> None:
    with ReferenceGenome(CHRM_FASTA) as genome:
        assert genome.resolve("MT") == "chrM"
        assert genome.fetch("MT", 3106, 3107) == "N"  # rCRS has one N at 3107 (1-based)
        with pytest.raises(ContigNotFoundError, match=r"chr17 not in .*chrM.fa \(contigs: chrM\)"):
            genome.fetch("chr17", 0, 1)


def test_sha256_and_repr() -> None:
    with ReferenceGenome(REAL / "chrM" / "genome.chrMT.fa") as genome:
        assert genome.sha256 == "bf54705cef647a79b1acd09d898a5c685d16360ff218ca0972fb1ad281ec0d5c"
        assert genome.contigs == {"MT": 16569}
        assert repr(genome).endswith("genome.chrMT.fa', contigs=1)")


def test_bgzipped_segment_at_real_coordinates(chr2_text: str) -> None:
    with ReferenceGenome(CHR2_FASTA) as genome:
        assert genome.bgzipped
        assert genome.contigs == {"chr2": 2_333_275}
        assert genome.sha256 == "d7d3f5a3f7026336d8d464ed518cb5658c074b34171115b96146ca717b45b79e"
        # hg38 chr2 starts with 10,000 N.
        assert genome.fetch("chr2", 0, 10_000) == "N" * 10_000
        assert genome.fetch("2", 9_995, 10_005) == "NNNNN" + chr2_text[10_000:10_005]
        for start, end in [(10_000, 10_200), (1_789_112, 1_792_007), (2_333_000, 2_333_275)]:
            assert genome.fetch("chr2", start, end) == chr2_text[start:end]


@pytest.mark.parametrize(("start", "end"), [(-1, 5), (5, 4), (16_000, 16_570)])
def test_out_of_bounds(start: int, end: int) -> None:
    with ReferenceGenome(CHRM_FASTA) as genome, pytest.raises(CoordinateError) as info:
        genome.fetch("chrM", start, end)
    assert f"chrM:{start}-{end} (0-based, half-open) is outside chrM (16,569 bp)" in str(info.value)
    assert "same assembly" in str(info.value)


def test_missing_fasta(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"FASTA file not found: .*ref.fa\. Check the path"):
        ReferenceGenome(tmp_path / "ref.fa")


def test_not_a_fasta(tmp_path: Path) -> None:
    path = tmp_path / "genes.gtf"
    path.write_text('chrM\tinsdc\tgene\t1\t10\t.\t+\t.\tgene_id "x";\n')
    with pytest.raises(FastaError, match=r"genes.gtf is not a FASTA file: it starts with b'c', not '>'"):
        ReferenceGenome(path)


def test_plain_gzip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "chrM.fa.gz"
    path.write_bytes(gzip.compress(CHRM_FASTA.read_bytes()))
    with pytest.raises(FastaError, match="gzip-compressed but not with bgzip.*Recompress it"):
        ReferenceGenome(path)


def test_bgzip_without_fai(tmp_path: Path) -> None:
    path = _copy(CHR2_FASTA, tmp_path, ".gzi")
    with pytest.raises(InputFileError, match=rf"has no index {path.name}.fai; run `samtools faidx {path}`"):
        ReferenceGenome(path)


def test_truncated_bgzip(tmp_path: Path) -> None:
    path = _copy(CHR2_FASTA, tmp_path, ".fai", ".gzi")
    path.write_bytes(CHR2_FASTA.read_bytes()[:300_000])
    with pytest.raises(FastaError, match="is truncated: it lacks the BGZF end-of-file block"):
        ReferenceGenome(path)


def test_corrupt_bgzip_block(tmp_path: Path) -> None:
    # Cut the data short but keep the EOF block: reading the contig's end then fails.
    path = _copy(CHR2_FASTA, tmp_path, ".fai", ".gzi")
    data = CHR2_FASTA.read_bytes()
    path.write_bytes(data[:400_000] + data[-28:])
    with pytest.raises(FastaError, match=r"cannot read chr2:.*the file is corrupt or truncated"):
        ReferenceGenome(path)


def test_fai_longer_than_the_file(tmp_path: Path) -> None:
    path = _copy(CHRM_FASTA, tmp_path)
    Path(f"{path}.fai").write_text("chrM\t20000\t6\t60\t61\n")
    with pytest.raises(
        FastaError, match=r"puts the last base of chrM at byte 20,338 but the file has 16,852 bytes"
    ):
        ReferenceGenome(path)


def test_fai_with_wrong_line_length(tmp_path: Path) -> None:
    path = _copy(CHRM_FASTA, tmp_path)
    # The file has 60-base lines; 61-base lines still fit in the file, but the newlines do not line up.
    Path(f"{path}.fai").write_text("chrM\t16569\t6\t61\t62\n")
    with pytest.raises(
        FastaError, match=r"expected a line end at byte 67 \(chrM\) but found b'C'.*samtools faidx"
    ):
        ReferenceGenome(path)


def test_fai_that_is_not_an_index(tmp_path: Path) -> None:
    path = _copy(CHRM_FASTA, tmp_path)
    Path(f"{path}.fai").write_text("chrM\tlots\n")
    with pytest.raises(FastaError, match=r"chrM.fa.fai:1: not a FASTA index line"):
        ReferenceGenome(path)


def test_bgzip_fai_with_wrong_length(tmp_path: Path) -> None:
    path = _copy(CHR2_FASTA, tmp_path, ".gzi")
    Path(f"{path}.fai").write_text("chr2\t2400000\t6\t50\t51\n")
    with pytest.raises(
        FastaError, match=r"cannot read chr2:2399000-2400000 .*or its .fai/.gzi index does not match"
    ):
        ReferenceGenome(path)


def test_plain_fasta_without_fai_gets_one(tmp_path: Path, chrm_text: str) -> None:
    path = _copy(CHRM_FASTA, tmp_path)
    with ReferenceGenome(path) as genome:
        assert genome.fetch("MT", 16_560, 16_569) == chrm_text[16_560:]
    assert Path(f"{path}.fai").read_text().split() == ["chrM", "16569", "6", "60", "61"]


def test_plain_fasta_without_fai_in_a_read_only_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _copy(CHRM_FASTA, tmp_path)
    # Tests may run as root, for whom chmod does not deny writes; fake a read-only directory.
    monkeypatch.setattr("neuro_omics_assets.genome.fasta.os.access", lambda *_: False)
    with pytest.raises(InputFileError, match=r"has no index chrM.fa.fai and its directory .* is read-only"):
        ReferenceGenome(path)
    assert not Path(f"{path}.fai").exists()


@pytest.mark.parametrize(
    "text",
    [
        ">a\nACGT\nACGTACGT\nAC\n",  # ragged line lengths
        ">a\nACGT\n>a\nACGT\n",  # duplicate record names
    ],
)
def test_unindexable_fasta(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.fa"
    path.write_text(text)
    with pytest.raises(FastaError, match="cannot index .*bad.fa: .*names must be unique"):
        ReferenceGenome(path)
    assert not Path(f"{path}.fai").exists()


def test_non_dna_characters_in_a_sampled_region(tmp_path: Path) -> None:
    path = tmp_path / "protein.fa"
    path.write_text(">p\nMKVLAAGIVQ\n")
    with pytest.raises(FastaError, match=r"p:0-10 holds non-DNA characters \['I', 'L', 'Q'\]"):
        ReferenceGenome(path)
