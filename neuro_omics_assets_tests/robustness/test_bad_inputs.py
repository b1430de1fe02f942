"""Bad input, one test per row of the issue's table: a clear error (what, where, how to fix) and nothing
written, or, for the inputs that must work, the documented result.

Inputs are the real data in data/real (chrM FASTA/GTF/VCFs, the bgzipped chr2 segment) or small edits of
it, and the dnabert2-tiny model. Entry points: the CLI in a subprocess where a user would meet the input
there (extract, embed), else the domain function the assets call. Rows also covered elsewhere
(test_cli.py, genome/, variants/, models/, cohort/) are repeated here briefly so the suite reads as the table.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pysam
import pytest
from safetensors.torch import load_file, save_file

from neuro_omics_assets.cohort.covariates import CovariateSpec, design_matrix, read_covariates
from neuro_omics_assets.cohort.pca import fit_pca, transform
from neuro_omics_assets.embedding.engine import EmbeddingEngine
from neuro_omics_assets.embedding.pooling import FORWARD
from neuro_omics_assets.errors import (
    ContigNotFoundError,
    CovariateError,
    RefMismatchError,
    SequenceError,
    TokenizerError,
    VariantError,
)
from neuro_omics_assets.genome.fasta import ReferenceGenome
from neuro_omics_assets.genome.regions import RegionSpec
from neuro_omics_assets.models.dnabert2 import load_dnabert2
from neuro_omics_assets.variants import personal_sequences, read_variants

from ..conftest import CHRM_FASTA, CHRM_GTF, REPO, TINY_MODEL
from ..variants.vcfdata import CHRM_1KG_VCF, CHRMT_FASTA, TOY, gene, write_fasta, write_vcf

CHR2_FASTA = REPO / "data" / "real" / "chr2" / "chr2_1-2333275.fa.gz"
MT_CO1_GENE_LINE = 50  # line of MT-CO1's gene record in annotation.chrMT.gtf (1-based)


# ---- helpers ---------------------------------------------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "neuro_omics_assets.cli", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=180)


def one_line_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    """The single ``error:`` line of a failed CLI call (exit 2, no traceback), checked for ``needles``."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def extract(tmp_path: Path, *, fasta: Path = CHRM_FASTA, gtf: Path = CHRM_GTF, genes: str | None = "MT-ND6,MT-CO1",
            extra: tuple[str, ...] = ()) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path / "out" / "genes.parquet"
    out.parent.mkdir(exist_ok=True)
    selection = ("--genes", genes) if genes else ()
    return cli("extract", "--fasta", str(fasta), "--gtf", str(gtf), *selection, *extra, "--out", str(out)), out


def assert_nothing_written(out: Path) -> None:
    """No output file and no temp file of an interrupted atomic write in its directory."""
    assert not out.exists()
    assert list(out.parent.iterdir()) == []


def files_under(path: Path) -> set[Path]:
    return {p for p in path.rglob("*") if p.is_file()}


def edited_gtf(tmp_path: Path, edit: Callable[[list[str]], list[str]], newline: str = "\n") -> Path:
    lines = edit(CHRM_GTF.read_text().splitlines())
    gtf = tmp_path / "edited.gtf"
    gtf.write_bytes(newline.join(lines).encode() + newline.encode())
    return gtf


def edited_vcf(tmp_path: Path, edit: Callable[[list[str]], list[str]], source: Path = CHRM_1KG_VCF) -> Path:
    """``source`` with its text lines edited, bgzipped and tabix-indexed as ``tmp_path/edited.vcf.gz``."""
    with gzip.open(source, "rt") as handle:
        lines = edit(handle.read().splitlines())
    plain, vcf = tmp_path / "edited.vcf", tmp_path / "edited.vcf.gz"
    plain.write_text("\n".join(lines) + "\n")
    pysam.tabix_compress(str(plain), str(vcf), force=True)
    pysam.tabix_index(str(vcf), preset="vcf", force=True)
    return vcf


@pytest.fixture(scope="module")
def reference_extract(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """MT-ND6 and MT-CO1 extracted from the unedited GTF: what the GTF rows that must work must give."""
    result, out = extract(tmp_path_factory.mktemp("reference"))
    assert result.returncode == 0, result.stderr
    return pq.read_table(out).to_pandas()


def assert_same_genes(out: Path, expected: pd.DataFrame) -> None:
    got = pq.read_table(out).to_pandas()
    columns = ["gene_id", "gene_name", "contig", "start", "end", "strand", "sequence", "sha256"]
    pd.testing.assert_frame_equal(got[columns], expected[columns])


# ---- FASTA -----------------------------------------------------------------------------------------


def test_truncated_bgzip_fasta(tmp_path):
    fasta = tmp_path / "chr2.fa.gz"
    fasta.write_bytes(CHR2_FASTA.read_bytes()[:300_000])  # cut mid-block, the .fai/.gzi of the whole file
    for suffix in (".fai", ".gzi"):
        shutil.copy(f"{CHR2_FASTA}{suffix}", f"{fasta}{suffix}")
    result, out = extract(tmp_path, fasta=fasta)
    one_line_error(result, "chr2.fa.gz is truncated", "BGZF end-of-file", "samtools faidx")
    assert_nothing_written(out)


# A .fai describing another layout or another length than the file it sits next to.
FAI_MISMATCHES = {
    "line width": "chrM\t16569\t6\t70\t71\n",
    "contig length": "chrM\t26569\t6\t60\t61\n",
}


@pytest.mark.parametrize("mismatch", sorted(FAI_MISMATCHES))
def test_fasta_whose_fai_does_not_match(tmp_path, mismatch):
    fasta = tmp_path / "chrM.fa"
    shutil.copy(CHRM_FASTA, fasta)
    fai = tmp_path / "chrM.fa.fai"
    fai.write_text(FAI_MISMATCHES[mismatch])
    result, out = extract(tmp_path, fasta=fasta)
    one_line_error(result, str(fasta), "does not match", "samtools faidx")
    assert_nothing_written(out)
    assert fai.read_text() == FAI_MISMATCHES[mismatch]  # the user's index is reported, not silently rewritten


# ---- GTF -------------------------------------------------------------------------------------------


def test_gtf_with_crlf_line_endings_works(tmp_path, reference_extract):
    gtf = edited_gtf(tmp_path, lambda lines: lines, newline="\r\n")
    assert b"\r\n" in gtf.read_bytes()
    result, out = extract(tmp_path, gtf=gtf)
    assert result.returncode == 0, result.stderr
    assert_same_genes(out, reference_extract)


def test_gtf_with_a_comment_block_works(tmp_path, reference_extract):
    header = ["#!genome-build GRCh38.p14", "#!genome-version GRCh38", "#!genebuild-last-updated 2023-03"]
    block = ["#", "# genes below were curated by hand", "#\tMT\tfake\tgene\t1\t2\t.\t+\t.\tnot parsed", ""]
    gtf = edited_gtf(tmp_path, lambda lines: header + lines[:60] + block + lines[60:])
    result, out = extract(tmp_path, gtf=gtf)
    assert result.returncode == 0, result.stderr
    assert_same_genes(out, reference_extract)


def _drop_gene_id(lines: list[str]) -> list[str]:
    line = lines[MT_CO1_GENE_LINE - 1]
    assert 'gene_id "ENSG00000198804"; ' in line
    lines[MT_CO1_GENE_LINE - 1] = line.replace('gene_id "ENSG00000198804"; ', "")
    return lines


def _end_before_start(lines: list[str]) -> list[str]:
    fields = lines[MT_CO1_GENE_LINE - 1].split("\t")
    assert fields[3:5] == ["5904", "7445"]
    fields[3:5] = ["7445", "5904"]
    lines[MT_CO1_GENE_LINE - 1] = "\t".join(fields)
    return lines


@pytest.mark.parametrize(
    ("edit", "needles"),
    [
        (_drop_gene_id, ["no gene_id attribute", "gffread"]),  # a GFF3-style or truncated attribute list
        (_end_before_start, ["end 5904 < start 7445", "1-based and closed"]),
    ],
    ids=["missing gene_id", "end before start"],
)
def test_malformed_gtf_line_is_named_by_file_and_line(tmp_path, edit, needles):
    gtf = edited_gtf(tmp_path, edit)
    result, out = extract(tmp_path, gtf=gtf)
    one_line_error(result, f"edited.gtf:{MT_CO1_GENE_LINE}:", *needles)
    assert_nothing_written(out)


# ---- VCF -------------------------------------------------------------------------------------------


def _rename_contig(name: str) -> Callable[[list[str]], list[str]]:
    def edit(lines: list[str]) -> list[str]:
        return [line.replace("##contig=<ID=chrM,", f"##contig=<ID={name},") if line.startswith("##")
                else line.replace("chrM\t", f"{name}\t", 1) for line in lines]
    return edit


@pytest.mark.parametrize(("fasta", "vcf_contig"), [(CHRMT_FASTA, "chrM"), (CHRM_FASTA, "MT")],
                         ids=["FASTA MT, VCF chrM", "FASTA chrM, VCF MT"])
def test_vcf_contig_aliases_match_the_fasta(tmp_path, fasta, vcf_contig):
    vcf = CHRM_1KG_VCF if vcf_contig == "chrM" else edited_vcf(tmp_path, _rename_contig("MT"))
    with ReferenceGenome(fasta) as genome:
        block = read_variants(vcf, "chrM", 0, 16569, genome, pass_only=False)
    assert block.counts.n_records == 23 and {r.contig for r in block.records} == set(genome.contigs)


def test_vcf_contigs_named_unlike_the_fasta_are_listed(tmp_path):
    vcf = edited_vcf(tmp_path, _rename_contig("mito"))
    before = files_under(tmp_path)
    with ReferenceGenome(CHRM_FASTA) as genome, pytest.raises(ContigNotFoundError) as error:
        read_variants(vcf, "chrM", 0, 16569, genome, pass_only=False)
    message = str(error.value)
    assert "no contig of" in message and "mito" in message and "chrM" in message
    assert "bcftools annotate --rename-chrs" in message
    assert files_under(tmp_path) == before


def test_vcf_ref_that_disagrees_with_the_fasta(tmp_path):
    def wrong_ref(lines: list[str]) -> list[str]:
        first = next(i for i, line in enumerate(lines) if not line.startswith("#"))
        fields = lines[first].split("\t")
        assert fields[1:5] == ["26", ".", "C", "T"]
        fields[3] = "A"
        lines[first] = "\t".join(fields)
        return lines

    vcf = edited_vcf(tmp_path, wrong_ref)
    before = files_under(tmp_path)
    with ReferenceGenome(CHRM_FASTA) as genome, pytest.raises(RefMismatchError) as error:
        read_variants(vcf, "chrM", 0, 16569, genome, pass_only=False)
    message = str(error.value)
    assert "1 of 23 REF alleles" in message and "chrM:26 REF A vs FASTA C" in message
    assert "bcftools norm" in message
    assert files_under(tmp_path) == before


@pytest.fixture
def toy_genome(tmp_path):
    with ReferenceGenome(write_fasta(tmp_path / "toy.fa", {"chr1": TOY})) as genome:
        yield genome


TOY_GENE = pd.DataFrame([gene("G1", [(0, 60)])])


def test_multiallelic_star_allele_reads_as_reference(tmp_path, toy_genome):
    """Documented (variants/vcf.py): ``*`` means "inside a deletion of another record": REF here."""
    vcf = write_vcf(tmp_path / "star.vcf.gz", ["S1"], [
        ("chr1", 8, "GCT", "G", "PASS", "1|0"),  # hap 0 deletes CT (0-based 8-9)
        ("chr1", 9, "C", "A,*", "PASS", "2|1"),  # hap 0: '*' (in its deletion), hap 1: C>A
    ])
    block = read_variants(vcf, "chr1", 0, 60, toy_genome)
    assert block.counts.n_star_calls == 1
    result = personal_sequences(toy_genome, TOY_GENE, RegionSpec(), vcf)
    by_haplotype = result.assignments.set_index("haplotype")["sha256"]
    assert result.unique[by_haplotype[0]] == TOY[:8].upper() + TOY[10:].upper()
    assert result.unique[by_haplotype[1]] == TOY[:8].upper() + "A" + TOY[9:].upper()


def test_overlapping_indels_on_one_haplotype(tmp_path, toy_genome):
    vcf = write_vcf(tmp_path / "overlap.vcf.gz", ["S1"], [
        ("chr1", 8, "GCT", "G", "PASS", "1|0"),
        ("chr1", 9, "CT", "C", "PASS", "1|0"),  # the same bases, deleted again on the same haplotype
    ])
    before = files_under(tmp_path)
    with pytest.raises(VariantError) as error:
        personal_sequences(toy_genome, TOY_GENE, RegionSpec(), vcf)
    message = str(error.value)
    assert "gene G1_NAME (G1), sample S1, haplotype 0" in message and "chr1:8" in message and "chr1:9" in message
    assert "overlap on one haplotype" in message and "bcftools norm" in message
    assert files_under(tmp_path) == before


def test_sample_named_twice_in_the_vcf(tmp_path):
    def duplicate_sample(lines: list[str]) -> list[str]:
        return [line.replace("\tHG00099", "\tHG00096") if line.startswith("#CHROM") else line for line in lines]

    vcf = edited_vcf(tmp_path, duplicate_sample)
    before = files_under(tmp_path)
    with ReferenceGenome(CHRM_FASTA) as genome, pytest.raises(VariantError) as error:
        read_variants(vcf, "chrM", 0, 16569, genome, pass_only=False)
    assert "names samples ['HG00096'] more than once" in str(error.value)
    assert "bcftools reheader" in str(error.value)
    assert files_under(tmp_path) == before


# ---- covariates ------------------------------------------------------------------------------------

AGE_SEX = CovariateSpec(columns=("age", "sex"), categorical=("sex",))


def _covariates(tmp_path: Path, rows: list[tuple]) -> Path:
    path = tmp_path / "covariates.csv"
    columns = ["subject_id", "age", "sex", "PC1", "PC2"][: len(rows[0])]
    pd.DataFrame(rows, columns=columns).to_csv(path, index=False)
    return path


def test_covariates_with_a_non_numeric_age(tmp_path):
    path = _covariates(tmp_path, [("S1", "41", "F"), ("S2", "forty", "M"), ("S3", "39", "F")])
    with pytest.raises(CovariateError, match=r"covariates.csv: column 'age' must be numeric, but subject 'S2' "
                                             r"has 'forty' \(1 such values\)"):
        read_covariates(path, AGE_SEX)


def test_covariates_with_a_constant_column(tmp_path):
    path = _covariates(tmp_path, [("S1", "41", "F"), ("S2", "52", "F"), ("S3", "39", "F")])
    with pytest.raises(CovariateError, match=r"covariate 'sex' has the single value 'F' for all 3 subjects"):
        read_covariates(path, AGE_SEX)


def test_more_covariates_than_subjects(tmp_path):
    path = _covariates(tmp_path, [("S1", "41", "F", 0.1, 0.3), ("S2", "52", "M", -0.2, 0.1),
                                  ("S3", "39", "F", 0.4, -0.5)])
    covariates = read_covariates(path, CovariateSpec(columns=("age", "sex", "PC1", "PC2"), categorical=("sex",)))
    with pytest.raises(CovariateError, match=r"design has 5 columns .* but only 3 subjects"):
        design_matrix(covariates)


# ---- model directory -------------------------------------------------------------------------------


def _model_copy(tmp_path: Path) -> Path:
    model = tmp_path / "model"
    shutil.copytree(TINY_MODEL, model, ignore=shutil.ignore_patterns("expected.npz", "pytorch_model.bin"))
    return model


@pytest.fixture
def sequences_file(tmp_path) -> Path:
    """A small ``extract`` file (MT-TA's 69 bp, plus strand) for ``neuro-omics embed``."""
    path = tmp_path / "genes.parquet"
    with ReferenceGenome(CHRM_FASTA) as genome:
        sequence = genome.fetch("chrM", 5586, 5655).upper()
    pq.write_table(pa.table({"gene_id": ["ENSG00000210127"], "gene_name": ["MT-TA"], "sequence": [sequence]}), path)
    return path


def embed(model: Path, sequences: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path / "out" / "vectors.parquet"
    out.parent.mkdir(exist_ok=True)
    return cli("embed", "--model", str(model), "--sequences", str(sequences), "--out", str(out),
               "--device", "cpu"), out


def test_model_with_a_tokenizer_of_another_vocabulary_size(tmp_path, sequences_file):
    model = _model_copy(tmp_path)
    tokenizer = json.loads((model / "tokenizer.json").read_text())
    tokenizer["model"]["vocab"]["ACGTACGTACGTACGTACGT"] = len(tokenizer["model"]["vocab"])  # 4097 tokens
    (model / "tokenizer.json").write_text(json.dumps(tokenizer))
    result, out = embed(model, sequences_file, tmp_path)
    one_line_error(result, "tokenizer.json has sha256", "official DNABERT-2 tokenizer")  # frozen by checksum
    assert_nothing_written(out)
    with pytest.raises(TokenizerError, match=r"has 4097 tokens but .*config.json says vocab_size 4096"):
        load_dnabert2(model, tokenizer_sha256=None)  # even when the checksum is waived on purpose


def test_checkpoint_with_an_extra_layer(tmp_path, sequences_file):
    model = _model_copy(tmp_path)
    state = load_file(model / "model.safetensors")
    for key in [k for k in state if ".layer.1." in k]:
        state[key.replace(".layer.1.", ".layer.2.")] = state[key].clone()
    save_file(state, model / "model.safetensors")
    result, out = embed(model, sequences_file, tmp_path)
    one_line_error(result, "model.safetensors does not fit its config.json", "2 layers",
                   "unexpected 11 (bert.encoder.layer.2.", "re-download both together")
    assert_nothing_written(out)


# ---- sequences -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_engine() -> EmbeddingEngine:
    return EmbeddingEngine(load_dnabert2(TINY_MODEL, device="cpu", dtype="float32"))


@pytest.fixture(scope="module")
def mt_co1() -> str:
    with ReferenceGenome(CHRM_FASTA) as genome:
        return genome.fetch("chrM", 5903, 7445).upper()


def test_lowercase_sequence_is_normalised(tiny_engine, mt_co1):
    soft_masked = mt_co1[:500] + mt_co1[500:900].lower() + mt_co1[900:]
    result = tiny_engine.embed({"upper": mt_co1, "soft": soft_masked, "lower": mt_co1.lower()})
    assert result["soft"].sha256 == result["lower"].sha256 == result["upper"].sha256
    assert result["soft"].vector.tobytes() == result["upper"].vector.tobytes()
    assert result["lower"].n_tokens == result["upper"].n_tokens  # no [UNK] per lowercase base


def test_n_run_longer_than_a_window_is_embedded_and_counted(tiny_engine, mt_co1):
    """Each N is one [UNK] token, so 3,000 N exceed a 2,048-token window: the run is cut, never dropped."""
    sequence = mt_co1[:700] + "N" * 3000 + mt_co1[700:]
    embedded = tiny_engine.embed({"gapped": sequence})
    result, stats = embedded["gapped"], next(iter(embedded.window_stats.values()))
    assert result.n_count == 3000 and result.n_bases == len(sequence) and result.n_windows >= 2
    forward = stats.strand == FORWARD
    assert int(stats.n_bases[forward].sum()) == len(sequence)  # every base in exactly one window
    assert (stats.n_tokens[forward] <= tiny_engine.spec.window.max_tokens - 2).all()
    assert np.isfinite(result.vector).all()


def test_iupac_codes_are_kept_and_counted(tiny_engine, mt_co1):
    sequence = mt_co1[:100] + "RYKMSWBDHV" + mt_co1[100:]
    result = tiny_engine.embed({"ambiguous": sequence})["ambiguous"]
    assert (result.iupac_count, result.n_count, result.n_bases) == (10, 0, len(sequence))
    assert result.sha256 == tiny_engine.embed({"again": sequence})["again"].sha256  # the codes stay in the input


def test_whitespace_inside_a_sequence_is_an_error(tmp_path, mt_co1):
    sequences = tmp_path / "genes.parquet"
    broken = mt_co1[:60] + "\n" + mt_co1[60:]  # an unjoined FASTA line break
    pq.write_table(pa.table({"gene_id": ["ENSG00000198804"], "gene_name": ["MT-CO1"], "sequence": [broken]}),
                   sequences)
    result, out = embed(TINY_MODEL, sequences, tmp_path)
    one_line_error(result, "'ENSG00000198804' holds whitespace '\\n' at 0-based position 60", "strip line breaks")
    assert_nothing_written(out)
    # checked before the model is loaded: a missing model directory is not what the user hears about first
    result, out = embed(tmp_path / "no-model-here", sequences, tmp_path)
    one_line_error(result, "'ENSG00000198804' holds whitespace '\\n' at 0-based position 60")


@pytest.mark.parametrize("whitespace", [" ", "\t", "\r"], ids=["space", "tab", "carriage return"])
def test_any_whitespace_is_refused_before_the_model_runs(tiny_engine, mt_co1, whitespace):
    calls = tiny_engine.model_calls
    with pytest.raises(SequenceError, match=rf"'gene' holds whitespace {re.escape(repr(whitespace))} at 0-based "
                                            r"position 60"):
        tiny_engine.embed({"other": mt_co1, "gene": mt_co1[:60] + whitespace + mt_co1[60:]})
    assert tiny_engine.model_calls == calls


# ---- gene lists ------------------------------------------------------------------------------------


def test_gene_list_with_duplicates_is_deduplicated_with_a_warning(tmp_path):
    gene_list = tmp_path / "genes.txt"
    gene_list.write_text("MT-CO1\nMT-ND6\nENSG00000198804\nMT-ND6  # twice\n")
    result, out = extract(tmp_path, genes=None, extra=("--gene-list", str(gene_list)))
    assert result.returncode == 0, result.stderr
    assert "dropping duplicated genes (2 of 4 requested): ENSG00000198804 (= MT-CO1), MT-ND6" in result.stderr
    assert pq.read_table(out)["gene_name"].to_pylist() == ["MT-CO1", "MT-ND6"]  # first request's order


def test_gene_list_with_unknown_names_suggests_close_ones(tmp_path):
    gene_list = tmp_path / "genes.txt"
    gene_list.write_text("MT-CO1\nMT-ND7\nmt-co4\n")
    result, out = extract(tmp_path, genes=None, extra=("--gene-list", str(gene_list)))
    one_line_error(result, "genes not in the annotation: MT-ND7 (did you mean MT-ND6, MT-ND5, MT-ND4?)",
                   "mt-co4 (did you mean MT-CO3, MT-CO2, MT-CO1?)")
    assert_nothing_written(out)


# ---- PCA -------------------------------------------------------------------------------------------


def test_n_components_larger_than_subjects_is_capped():
    """Documented cap (cohort/pca.py): k = min(requested, n_train - 1, n_features), reason recorded."""
    x = np.random.default_rng(0).normal(size=(12, 64))  # 12 subjects, far fewer than the recipe's 512
    basis = fit_pca(x, n_components=512)
    assert (basis.n_components_requested, basis.n_components) == (512, 11)
    assert basis.cap_reason == "n_train - 1 = 11: 12 training subjects, 1 dof spent on centering"
    assert transform(basis, x).shape == (12, 11)
