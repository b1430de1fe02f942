"""tokens/report.py through ``neuro-omics tokens``: the same tables and figures as the assets, without Dagster."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from neuro_omics_assets_tests.conftest import CHRM_FASTA, CHRM_GTF, TINY_MODEL
from neuro_omics_assets_tests.genome.realdata import REAL
from neuro_omics_assets_tests.test_cli import assert_one_line_error, run_cli

REGIONS_FASTA = REAL / "gene_regions" / "combined" / "regions.fa"
REGIONS_GFF3 = REAL / "gene_regions" / "combined" / "regions.gff3"
TABLES = ("bpe_vocabulary", "bpe_region_tokens", "bpe_token_usage", "bpe_motif_enrichment", "bpe_codon_frame",
          "bpe_codon_tokens")
FIGURES = ("token_length_histogram", "codon_phase_bars", "enriched_token_logos", "token_embedding_map")


@pytest.mark.integration  # runs the CLI in a subprocess
def test_tokens_cli_on_gff3_regions_writes_every_table_and_figure(tmp_path):
    out = tmp_path / "tokens"
    result = run_cli("tokens", "--fasta", str(REGIONS_FASTA), "--gff3", str(REGIONS_GFF3), "--genes", "FGF6,SMAD5,XPC",
                     "--model", str(TINY_MODEL), "--shuffles", "20", "--out", str(out))
    assert result.returncode == 0, result.stderr
    tables = {name: pq.read_table(out / f"{name}.parquet").to_pandas() for name in TABLES}
    for stem in FIGURES:
        assert (out / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    vocabulary = tables["bpe_vocabulary"]
    assert len(vocabulary) == 4096 and vocabulary["pc1"].notna().all()
    frame = tables["bpe_codon_frame"].set_index("scope")
    assert sorted(frame.loc["gene", "gene_name"]) == ["FGF6", "SMAD5", "XPC"]
    pooled = frame.loc["pooled"]
    assert pooled["phase0"] + pooled["phase1"] + pooled["phase2"] == pooled["n_boundaries"] > 0
    usage = tables["bpe_token_usage"]
    regions = tables["bpe_region_tokens"]
    # Usage counts are the region tokens counted again: totals per class agree.
    per_class = regions.groupby("region_class")["n_tokens"].sum().to_dict()
    assert usage.groupby("region_class")["count"].sum().to_dict() == per_class
    assert set(per_class) == {"cds", "five_prime_utr", "three_prime_utr", "intron", "promoter", "gene_body"}


@pytest.mark.integration  # runs the CLI in a subprocess
def test_tokens_cli_on_a_gtf_uses_the_mitochondrial_code_for_chrm(tmp_path):
    out = tmp_path / "mt"
    result = run_cli("tokens", "--fasta", str(CHRM_FASTA), "--gtf", str(CHRM_GTF), "--genes", "MT-ND1,MT-CO1",
                     "--model", str(TINY_MODEL), "--shuffles", "10", "--out", str(out))
    assert result.returncode == 0, result.stderr
    frame = pq.read_table(out / "bpe_codon_frame.parquet").to_pandas().set_index("gene_name")
    assert frame.loc["MT-ND1", ["genetic_code", "dropped_bases", "n_codons"]].tolist() == [2, 2, 318]


@pytest.mark.integration  # runs the CLI in a subprocess
def test_tokens_cli_needs_one_annotation_and_reports_bad_genes_in_one_line(tmp_path):
    both = run_cli("tokens", "--fasta", str(CHRM_FASTA), "--gtf", str(CHRM_GTF), "--gff3", str(REGIONS_GFF3),
                   "--out", str(tmp_path))
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
    unknown = run_cli("tokens", "--fasta", str(CHRM_FASTA), "--gtf", str(CHRM_GTF), "--genes", "MT-ND9",
                      "--model", str(TINY_MODEL), "--out", str(tmp_path / "x"))
    assert_one_line_error(unknown, "MT-ND9")


def test_an_empty_gene_chunk_is_an_empty_table_of_the_schema():
    import pandas as pd

    from neuro_omics_assets.tokens.report import to_arrow
    from neuro_omics_assets.warehouse.token_schemas import bpe_region_tokens_schema

    table = to_arrow(pd.DataFrame(columns=["gene_id", "token_ids"]), "bpe_region_tokens")
    assert table.num_rows == 0 and table.schema == bpe_region_tokens_schema()
