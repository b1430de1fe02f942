"""Deployment files: the shipped pilot, the single-genome fallback, and each kind of bad file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from neuro_omics_assets import settings
from neuro_omics_assets.deployment import (
    DEPLOYMENT_VARIABLE,
    GenomeConfig,
    OrthologConfig,
    demo_deployment,
    load_deployment,
    read_deployment,
)
from neuro_omics_assets.errors import ConfigError, InputFileError
from neuro_omics_assets.genome.regions import RegionSpec
from neuro_omics_assets_tests.genome.realdata import REAL, fasta_text

MOUSE = REAL / "mouse_mt"


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """A folder with copies of the human and mouse chrM inputs and the ortholog table."""
    for source in (REAL / "chrM" / "genome.chrMT.fa", REAL / "chrM" / "annotation.chrMT.gtf", MOUSE / "GRCm38_MT.fa",
                   MOUSE / "GRCm38_MT.gtf", MOUSE / "orthologs_human_mouse_mt.tsv"):
        shutil.copy(source, tmp_path / source.name)
    (tmp_path / "genes.txt").write_text("MT-CO1\nMT-ND6\n")
    return tmp_path


GOOD = """
[genomes.human]
species = "Homo sapiens"
fasta = "genome.chrMT.fa"
annotation = "annotation.chrMT.gtf"
gene_list = "genes.txt"
region = "promoter"
promoter_upstream = 100
promoter_downstream = 10

[genomes.mouse]
species = "Mus musculus"
fasta = "GRCm38_MT.fa"
annotation = "GRCm38_MT.gtf"
gene_type = "protein_coding"

[orthologs]
path = "orthologs_human_mouse_mt.tsv"
genomes = ["human", "mouse"]
"""


def _write(folder: Path, text: str) -> Path:
    path = folder / "deployment.toml"
    path.write_text(text)
    return path


def test_a_good_file_gives_typed_genomes_with_paths_relative_to_it(inputs: Path) -> None:
    deployment = read_deployment(_write(inputs, GOOD))
    root = inputs.resolve()
    assert list(deployment.genomes) == ["human", "mouse"]  # file order
    assert deployment.genome("human") == GenomeConfig(
        name="human", species="Homo sapiens", fasta=root / "genome.chrMT.fa", annotation=root / "annotation.chrMT.gtf",
        gene_list=root / "genes.txt", region=RegionSpec(kind="promoter", upstream=100, downstream=10))
    assert deployment.genome("mouse") == GenomeConfig(
        name="mouse", species="Mus musculus", fasta=root / "GRCm38_MT.fa", annotation=root / "GRCm38_MT.gtf",
        gene_type="protein_coding")
    assert deployment.orthologs == OrthologConfig(root / "orthologs_human_mouse_mt.tsv", ("human", "mouse"))
    assert deployment.source == str(inputs / "deployment.toml")
    with pytest.raises(ConfigError, match="genome 'rat' is not in the deployment .* known: human, mouse"):
        deployment.genome("rat")


def test_the_variable_names_the_file(inputs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DEPLOYMENT_VARIABLE, str(_write(inputs, GOOD)))
    assert list(load_deployment().genomes) == ["human", "mouse"]


def test_without_the_variable_one_human_genome_comes_from_the_single_genome_settings(
    inputs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DEPLOYMENT_VARIABLE, raising=False)
    for name in ("NEURO_OMICS_FASTA", "NEURO_OMICS_GTF", "NEURO_OMICS_GENE_LIST", "NEURO_OMICS_GENE_TYPE",
                 "NEURO_OMICS_CONTIG_ALIASES", "NEURO_OMICS_REGION"):
        monkeypatch.delenv(name, raising=False)
    default = load_deployment()
    assert default.orthologs is None and default.source == "environment"
    assert default.genomes == {"human": GenomeConfig("human", "Homo sapiens", settings.DEMO_FASTA, settings.DEMO_GTF)}
    monkeypatch.setenv("NEURO_OMICS_FASTA", str(inputs / "genome.chrMT.fa"))
    monkeypatch.setenv("NEURO_OMICS_GENE_TYPE", "Mt_tRNA")
    monkeypatch.setenv("NEURO_OMICS_REGION", "exons")
    human = load_deployment().genome("human")
    assert (human.fasta, human.gene_type, human.region.kind) == (inputs / "genome.chrMT.fa", "Mt_tRNA", "exons")
    monkeypatch.setenv("NEURO_OMICS_REGION", "introns")
    with pytest.raises(ConfigError, match="NEURO_OMICS_REGION='introns' is not one of"):
        load_deployment()


def test_the_shipped_pilot_pairs_human_and_mouse_chrM() -> None:
    deployment = demo_deployment()
    assert deployment.source == str(settings.DEMO_DEPLOYMENT)
    assert [(g.name, g.species, g.fasta.name) for g in deployment.genomes.values()] == [
        ("human", "Homo sapiens", "chrM.fa"), ("mouse", "Mus musculus", "GRCm38_MT.fa")]
    assert deployment.orthologs.path.name == "orthologs_human_mouse_mt.tsv"


def test_two_genomes_with_the_same_contig_name_read_their_own_fasta(inputs: Path) -> None:
    # Both FASTAs name their one contig MT: each genome's sequences come from its own file.
    deployment = read_deployment(_write(inputs, GOOD.replace('gene_list = "genes.txt"\nregion = "promoter"', "")))
    human = deployment.genome("human").gene_sequences().set_index("gene_name")
    mouse = deployment.genome("mouse").gene_sequences().set_index("gene_name")
    assert set(human["contig"]) == set(mouse["contig"]) == {"MT"}
    human_text, mouse_text = fasta_text(inputs / "genome.chrMT.fa"), fasta_text(MOUSE / "GRCm38_MT.fa")
    assert len(human_text) == 16569 and len(mouse_text) == 16299
    for table, text in ((human, human_text), (mouse, mouse_text)):
        for name in ("MT-CO1", "mt-Co1"):
            if name in table.index:
                row = table.loc[name]
                assert row["sequence"] == text[row["start"]:row["end"]].upper()
    assert human.loc["MT-CO1", "sequence"] != mouse.loc["mt-Co1", "sequence"]
    assert len(mouse) == 13  # gene_type protein_coding


# Each bad file: the TOML (a replacement applied to GOOD, or a whole text) and what the one-line error says.
BAD = [
    # not TOML at all
    ("[genomes.human\nspecies = 1", ConfigError, r"deployment\.toml is not valid TOML"),
    # no genome table
    ("", ConfigError, r"no table; add \[genomes.<name>\] tables"),
    # a misspelt top-level table
    (GOOD + "\n[encoder.dnabert2]\nmodel = 'x'\n", ConfigError, r"unknown top-level key\(s\) \['encoder'\]"),
    # a required key missing
    (GOOD.replace('species = "Mus musculus"\n', ""), ConfigError, r"\[genomes\.mouse\] species is missing; add species"),
    # an unknown key
    (GOOD.replace("gene_type =", "genetype ="), ConfigError, r"\[genomes\.mouse\] has unknown key\(s\) \['genetype'\]"),
    # a wrong type
    (GOOD.replace("promoter_upstream = 100", 'promoter_upstream = "100"'), ConfigError,
     r"\[genomes\.human\] promoter_upstream = '100' has type str, expected int"),
    # a negative promoter length
    (GOOD.replace("promoter_upstream = 100", "promoter_upstream = -5"), ConfigError,
     r"\[genomes\.human\] promoter_upstream/promoter_downstream are invalid"),
    # an unknown region
    (GOOD.replace('region = "promoter"', 'region = "introns"'), ConfigError, r"\[genomes\.human\] region = 'introns' is unknown"),
    # a genome name that cannot key partitions
    (GOOD.replace("[genomes.mouse]", "[genomes.Mouse]").replace('"mouse"]', '"Mouse"]'), ConfigError,
     r"\[genomes\.Mouse\] has an invalid genome name"),
    # a missing file
    (GOOD.replace("GRCm38_MT.fa", "GRCm39_MT.fa"), InputFileError, r"\[genomes\.mouse\] fasta: file .*GRCm39_MT\.fa not found"),
    # orthologs naming a genome that is not configured
    (GOOD.replace('["human", "mouse"]', '["human", "rat"]'), ConfigError, r"\[orthologs\] genomes: 'rat' has no \[genomes\.rat\]"),
    # orthologs naming one genome twice
    (GOOD.replace('["human", "mouse"]', '["human", "human"]'), ConfigError, r"\[orthologs\] genomes = .* not two different"),
    # a genome written as a value instead of a table
    ('[genomes]\nhuman = "chrM.fa"\n', ConfigError, r"\[genomes\.human\] is a str, not a table"),
]


@pytest.mark.parametrize(("text", "error", "message"), BAD)
def test_each_kind_of_bad_file_gives_one_line_naming_file_table_and_key(inputs, text, error, message) -> None:
    with pytest.raises(error, match=message) as raised:
        read_deployment(_write(inputs, text))
    assert "\n" not in str(raised.value) and "deployment.toml" in str(raised.value)


def test_a_missing_deployment_file_and_a_path_outside_the_data_roots(tmp_path: Path, inputs: Path) -> None:
    with pytest.raises(InputFileError, match="deployment file .*nope.toml .*NEURO_OMICS_DEPLOYMENT.* not found"):
        read_deployment(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match=r"\[genomes\.human\] fasta .* outside the data roots"):
        read_deployment(_write(inputs, GOOD.replace('"genome.chrMT.fa"', '"/etc/hostname"')))
