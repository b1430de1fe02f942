"""The CLI as a user meets it: real subprocesses, one-line errors, exit code 2, no partial output."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from .conftest import CHRM_FASTA, CHRM_GTF, REPO

CHR2_FASTA = REPO / "data" / "real" / "chr2" / "chr2_1-2333275.fa.gz"


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "neuro_omics_assets.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def test_extract_writes_every_column_and_checksums(tmp_path):
    out = tmp_path / "genes.parquet"
    result = run_cli("extract", "--fasta", str(CHRM_FASTA), "--gtf", str(CHRM_GTF), "--genes", "MT-ND6,ENSG00000198804",
                     "--region", "cds", "--out", str(out))
    assert result.returncode == 0, result.stderr
    table = pq.read_table(out)
    required = {"gene_id", "gene_name", "contig", "start", "end", "strand", "region", "transcript_id", "length",
                "n_count", "sequence", "sha256"}
    assert required <= set(table.column_names)
    rows = table.to_pandas().set_index("gene_name")
    assert list(rows.index) == ["MT-ND6", "MT-CO1"]  # the order the user asked for
    assert rows.loc["MT-ND6", "sequence"].startswith("ATG") and rows.loc["MT-ND6", "strand"] == "-"
    assert set(rows["region"]) == {"cds"} and set(rows["contig"]) == {"chrM"}
    metadata = {k.decode(): v.decode() for k, v in table.schema.metadata.items()}
    assert metadata["fasta_sha256"] == "4032cdaebc99547ac2487c3aac5922e64a52f5984874224b2d41f191400a7c9a"
    assert metadata["gtf_sha256"] == "7cf83f4f14a302134fdca678ef9cf9a5756a66dfeb7e1135bd3ac6fb0a3eec7a"
    assert '"kind": "cds"' in metadata["region"] and metadata["package_version"]


def _truncated_bgzip(tmp_path: Path) -> Path:
    fasta = tmp_path / "chr2.fa.gz"
    fasta.write_bytes(CHR2_FASTA.read_bytes()[:200_000])
    for suffix in (".fai", ".gzi"):
        shutil.copy(str(CHR2_FASTA) + suffix, str(fasta) + suffix)
    return fasta


def _unindexed_bgzip(tmp_path: Path) -> Path:
    fasta = tmp_path / "chr2.fa.gz"
    shutil.copy(CHR2_FASTA, fasta)
    return fasta


def _gtf_with_short_line(tmp_path: Path) -> Path:
    lines = CHRM_GTF.read_text().splitlines()
    lines[3] = "\t".join(lines[3].split("\t")[:8])
    gtf = tmp_path / "bad.gtf"
    gtf.write_text("\n".join(lines) + "\n")
    return gtf


def _gtf_on_absent_contig(tmp_path: Path) -> Path:
    gtf = tmp_path / "chr17.gtf.gz"
    with gzip.open(gtf, "wt") as handle:
        handle.write(CHRM_GTF.read_text().replace("MT\t", "chr17\t"))
    return gtf


# One row per bad input of the issue: what to pass and which words the one-line error must contain.
BAD_INPUTS = {
    "missing FASTA": (lambda t: ["--fasta", str(t / "absent.fa")], ["absent.fa"]),
    "corrupt FASTA": (lambda t: ["--fasta", str(_truncated_bgzip(t))], ["chr2.fa.gz"]),
    "unindexed bgzip FASTA": (lambda t: ["--fasta", str(_unindexed_bgzip(t))], ["chr2.fa.gz", "samtools faidx"]),
    "GTF line with 8 columns": (lambda t: ["--gtf", str(_gtf_with_short_line(t))], ["bad.gtf:4"]),
    "contig absent after aliasing": (lambda t: ["--gtf", str(_gtf_on_absent_contig(t))], ["chr17", "chrM"]),
    "unknown gene": (lambda t: ["--genes", "MT-ND7"], ["MT-ND7", "MT-ND6"]),
    "output directory missing": (lambda t: ["--out", str(t / "nowhere" / "out.parquet")], ["nowhere", "mkdir"]),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gives_one_line_error_and_no_output(tmp_path, case):
    make_args, needles = BAD_INPUTS[case]
    args = {"--fasta": str(CHRM_FASTA), "--gtf": str(CHRM_GTF), "--out": str(tmp_path / "out.parquet")}
    overrides = make_args(tmp_path)
    args.update(dict(zip(overrides[::2], overrides[1::2], strict=True)))
    argv = ["extract", *[x for pair in args.items() for x in pair]]
    result = run_cli(*argv)
    assert_one_line_error(result, *needles)
    assert not (tmp_path / "out.parquet").exists()
    assert not list(tmp_path.glob("**/.*.tmp"))


def test_debug_flag_shows_the_traceback(tmp_path):
    result = run_cli("--debug", "extract", "--fasta", str(tmp_path / "absent.fa"), "--gtf", str(CHRM_GTF),
                     "--out", str(tmp_path / "out.parquet"))
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_all_n_gene_is_marked_not_fatal(tmp_path):
    fasta = tmp_path / "masked.fa"
    sequence = "".join(CHRM_FASTA.read_text().splitlines()[1:])
    start, end = 14148, 14673  # MT-ND6, masked to N
    fasta.write_text(">chrM\n" + sequence[:start] + "N" * (end - start) + sequence[end:] + "\n")
    out = tmp_path / "genes.parquet"
    result = run_cli("extract", "--fasta", str(fasta), "--gtf", str(CHRM_GTF), "--genes", "MT-ND6,MT-CO1",
                     "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "MT-ND6" in result.stderr  # the warning names the gene
    rows = pq.read_table(out).to_pandas().set_index("gene_name")
    assert bool(rows.loc["MT-ND6", "all_n"]) and rows.loc["MT-ND6", "n_count"] == end - start
    assert not bool(rows.loc["MT-CO1", "all_n"])


def test_query_opens_the_catalog_read_only(tmp_path):
    from neuro_omics_assets.warehouse.catalog import Catalog

    catalog = Catalog(tmp_path)
    catalog.set_meta("probe", "1")
    result = run_cli("query", "create table x (a int)", "--db", str(catalog.db_path))
    assert_one_line_error(result, "read-only")
    missing = run_cli("query", "select 1", "--db", str(tmp_path / "other" / "neuro_omics.duckdb"))
    assert_one_line_error(missing, "no catalog at", "neuro-omics demo")
