"""Dagster resources: small typed wrappers that hand domain objects to asset bodies."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Literal

import dagster as dg
import pandas as pd
from pydantic import Field

from ..cohort.covariates import RECIPE_COLUMNS, CovariateSpec, MissingPolicy
from ..cross_species.classify import Label
from ..cross_species.pilot import PilotSpec
from ..deployment import Deployment, read_deployment
from ..embedding.cache import EmbeddingCache
from ..embedding.engine import EmbeddingEngine, EmbeddingSpec, engine_identity
from ..embedding.identity import EmbeddingIdentity
from ..embedding.pooling import Pooling
from ..embedding.windows import WindowSpec
from ..genome.annotation import read_gene_list, select_genes
from ..genome.contigs import ContigAliases
from ..genome.fasta import ReferenceGenome
from ..genome.gene_table import annotation_fingerprint
from ..genome.gff3 import cds_start_phases, read_annotation
from ..genome.regions import RegionKind, RegionSpec
from ..models import Encoder, ModelDescription
from ..models.registry import describe_model, load_encoder
from ..settings import confined
from ..tokens.analysis import TokenAnalysisSpec
from ..variants.haplotypes import Mode
from ..variants.vcf_set import vcf_paths
from ..warehouse.catalog import Catalog

log = logging.getLogger(__name__)

Device = Literal["auto", "cpu", "cuda"]
DtypeSetting = Literal["auto", "float32", "bfloat16"]
Attention = Literal["sdpa", "eager"]
Scan = Literal["auto", "reference", "numba", "mamba_ssm"]


class ConfinedPaths:
    """Mixin: configured paths are read through :meth:`path`, which keeps them under the data roots."""

    def path(self, setting: str) -> Path:
        """The configured path ``setting``, resolved; ConfigError when it escapes NEURO_OMICS_DATA_ROOTS."""
        return confined(getattr(self, setting), setting)


class GenomeInputsResource(ConfinedPaths, dg.ConfigurableResource):
    """Reference FASTA, gene annotation and gene selection that the pipeline starts from."""

    fasta: str = Field(description="FASTA (plain or bgzipped with .fai/.gzi) of the reference genome.")
    gtf: str = Field(description="GENCODE or Ensembl GTF or GFF3 (gzipped or not; .gff/.gff3 suffix = GFF3).")
    gene_list: str | None = Field(
        default=None, description="Optional file with one gene symbol or Ensembl id per line (manifest order)."
    )
    gene_type: str | None = Field(default=None, description="Keep only genes of this gene_type, e.g. protein_coding.")
    region: RegionKind = Field(default="gene_body", description="gene_body | exons | cds | promoter.")
    promoter_upstream: int = Field(default=2000, description="Promoter bases upstream of the TSS.")
    promoter_downstream: int = Field(default=500, description="Promoter bases downstream of the TSS.")
    contig_aliases: str | None = Field(
        default=None, description="Optional alias table (TSV); default: the bundled hg38 UCSC/Ensembl/RefSeq table."
    )

    def region_spec(self) -> RegionSpec:
        return RegionSpec(kind=self.region, upstream=self.promoter_upstream, downstream=self.promoter_downstream)

    def aliases(self) -> ContigAliases:
        return ContigAliases.from_tsv(self.path("contig_aliases")) if self.contig_aliases else ContigAliases.hg38()

    def genome(self) -> ReferenceGenome:
        return ReferenceGenome(self.path("fasta"), aliases=self.aliases())

    def genes_wanted(self) -> list[str] | None:
        return read_gene_list(self.path("gene_list")) if self.gene_list else None

    def annotation_fingerprint(self) -> dict[str, str]:
        gene_list = self.path("gene_list") if self.gene_list else None
        return annotation_fingerprint(self.path("gtf"), gene_list, self.gene_type, self.region_spec())


class WarehouseResource(ConfinedPaths, dg.ConfigurableResource):
    """Root of the Parquet files and the DuckDB catalog (``neuro_omics.duckdb``)."""

    root: str = Field(description="Directory holding parquet/ and neuro_omics.duckdb.")

    def catalog(self) -> Catalog:
        return Catalog(self.path("root"))


class CohortInputsResource(ConfinedPaths, dg.ConfigurableResource):
    """The cohort: phased VCF/BCF of its subjects, their covariates table, and how to read both."""

    vcf: str = Field(
        description="bgzipped and indexed (.tbi/.csi) VCF, or indexed BCF, of the subjects: one file, a comma-separated "
        "list or a glob (e.g. /data/1kg/chr*.vcf.gz; one file per chromosome is the usual layout)."
    )
    # A gene no VCF covers would silently get the reference sequence for every subject: refuse by default.
    missing_contig: Literal["error", "reference"] = Field(
        default="error",
        description="A selected gene on a contig no VCF covers: error | reference (every subject keeps the reference "
        "sequence there; rows flagged reference_only, genes listed in the metadata).",
    )
    covariates: str = Field(description="Covariates table, one row per subject: CSV, TSV (.tsv/.txt) or Parquet.")
    mode: Mode = Field(
        default="haplotypes",
        description="haplotypes (one sequence per haplotype; needs phased calls) | consensus (one per subject).",
    )
    samples: list[str] | None = Field(default=None, description="VCF samples to use, in this order; none = all.")
    pass_only: bool = Field(default=True, description="Keep only records whose FILTER is PASS or '.'.")
    subject_column: str = Field(default="subject_id", description="Column of the covariates table naming the subject.")
    covariate_columns: list[str] = Field(
        default=list(RECIPE_COLUMNS), description="Covariates regressed out: the recipe's age, sex, PC1..PC10, batch."
    )
    categorical_columns: list[str] = Field(
        default=["sex", "batch"], description="Covariates that are labels, entered as drop-first dummies."
    )
    missing: MissingPolicy = Field(
        default="error", description="Subjects with a missing covariate: error | drop (dropped ones are reported)."
    )
    label_column: str | None = Field(
        default=None, description="Optional column (e.g. diagnosis) whose classes every fold keeps in proportion."
    )
    group_column: str | None = Field(
        default=None, description="Optional column (e.g. site, family) whose groups never straddle train and test."
    )

    def vcf_paths(self) -> tuple[Path, ...]:
        """The VCF/BCF files of ``vcf`` (one path, a comma-separated list or a glob), each under the data roots."""
        return tuple(confined(path, "vcf") for path in vcf_paths(self.vcf))

    def fold_columns(self) -> list[str]:
        """The label and group columns that are configured."""
        return [c for c in (self.label_column, self.group_column) if c]

    def covariate_spec(self) -> CovariateSpec:
        """What the covariates asset reads: the covariates plus the label/group columns (as labels)."""
        extra = [c for c in self.fold_columns() if c not in self.covariate_columns]
        return CovariateSpec(
            subject_column=self.subject_column,
            columns=(*self.covariate_columns, *extra),
            categorical=(*self.categorical_columns, *extra),
            missing=self.missing,
        )


@functools.lru_cache(maxsize=2)
def _load_encoder(model_dir: str, device: str, dtype: str, attention: str, scan: str) -> Encoder:
    """One model per process and setting: a backfill of many chunks loads the weights once."""
    return load_encoder(Path(model_dir), device=device, dtype=dtype, attention=attention, scan=scan)


class DnaEncoderResource(ConfinedPaths, dg.ConfigurableResource):
    """A DNA encoder (DNABERT-2 or Caduceus) and the embedding settings every vector it makes is made with.

    Pooling and RC averaging live here, not in per-asset run config: ``gene_vectors`` and
    ``personal_gene_vectors`` read the one setting (a subject without variants then gets exactly the
    reference gene vector), and the chunk sensor knows the identity every chunk should have.
    """

    model_dir: str = Field(
        description="Official model directory: DNABERT-2 (config.json, weights, tokenizer.json) or Caduceus "
        "(config.json, model.safetensors, tokenizer_config.json); the family is read from config.json."
    )
    device: Device = Field(default="auto", description="auto (CUDA if present, else CPU) | cpu | cuda (pick a card with CUDA_VISIBLE_DEVICES).")
    dtype: DtypeSetting = Field(default="auto", description="auto (bf16 on GPU, fp32 on CPU) | float32 | bfloat16.")
    attention: Attention = Field(default="sdpa", description="DNABERT-2 only. Attention kernel: sdpa (fused) | eager (reference path).")
    scan: Scan = Field(
        default="auto",
        description="Caduceus only. Selective-scan kernel: auto (numba on CPU, reference on CUDA) | numba (CPU) | "
        "reference (plain PyTorch, any device) | mamba_ssm (CUDA, needs the mamba-ssm package).",
    )
    max_tokens: int | None = Field(
        default=None,
        description="Tokens per window incl. special tokens; part of the embedding's identity. None: the family "
        "default (DNABERT-2 2048, ~10 kb; Caduceus its trained length, 131,072 for the 131k checkpoints).",
    )
    pooling: Pooling = Field(default="mean", description="mean (base-weighted mean of token states: the maintainers' recipe) | cls (DNABERT-2 only).")
    rc_average: bool = Field(
        default=True,
        description="Average forward and reverse-complement vectors (DNABERT-2 and Caduceus-PH are not "
        "RC-equivariant); no effect for Caduceus-PS, whose vectors are RC-invariant by construction.",
    )
    batch_tokens: int = Field(default=16384, description="Padded tokens per forward pass (memory budget; results do not depend on it).")
    cache_dir: str | None = Field(default=None, description="Content-addressed embedding cache; none = no cache.")

    def encoder(self) -> Encoder:
        enc = _load_encoder(str(self.path("model_dir")), self.device, self.dtype, self.attention, self.scan)
        log.info("encoder %s (%s) on %s (%s), kernel %s, model sha256 %s", self.model_dir, enc.name, enc.device,
                 enc.dtype, enc.kernel, enc.model_sha256[:12])
        return enc

    def spec(self) -> EmbeddingSpec:
        """The engine settings: windows (None: the family default), pooling, RC averaging, batch budget."""
        window = WindowSpec(max_tokens=self.max_tokens) if self.max_tokens is not None else None
        return EmbeddingSpec(window=window, pooling=self.pooling, rc_average=self.rc_average,
                             batch_tokens=self.batch_tokens)

    def engine(self, use_cache: bool = True) -> EmbeddingEngine:
        cache = EmbeddingCache(self.path("cache_dir")) if (self.cache_dir and use_cache) else None
        return EmbeddingEngine(self.encoder(), self.spec(), cache=cache)

    def description(self) -> ModelDescription:
        """The configured encoder as ``describe_model`` sees it, without loading it (checksums memoized)."""
        return describe_model(self.path("model_dir"), self.device, self.dtype, attention=self.attention, scan=self.scan)

    def identity(self) -> EmbeddingIdentity:
        """The identity the configured encoder gives vectors, without loading the model (checksums memoized)."""
        return engine_identity(self.description(), self.spec())


class CrossSpeciesResource(ConfinedPaths, dg.ConfigurableResource):
    """The cross-species pilot (group ``cross_species``): the deployment file with its genomes and ortholog table,
    and the pilot's settings."""

    deployment: str = Field(description="Deployment TOML with [genomes.<name>] tables and an [orthologs] table "
                            "(default: the bundled human and mouse chrM pilot, data/deployments/mt_pilot.toml).")
    many: Literal["exclude", "error"] = Field(
        default="exclude", description="One-to-many ortholog rows: exclude (listed in ortholog_pair_report) | error.")
    n_permutations: int = Field(default=1000, description="Gene-label permutations of the retrieval null.")
    seed: int = Field(default=0, description="Seed of the permutations and the composition-matched shuffles.")
    top_k: int = Field(default=5, description="The second retrieval cut-off beside top-1.")
    kmer: int = Field(default=3, description="k of the k-mer composition baseline.")
    label: Label = Field(default="functional_class",
                         description="Gene property classified zero-shot: functional_class (mitochondrial: complex "
                         "I/III/IV/V, rRNA, tRNA) | gene_type.")

    def read_deployment(self) -> Deployment:
        """The deployment file, parsed and validated."""
        return read_deployment(self.path("deployment"))

    def spec(self) -> PilotSpec:
        return PilotSpec(n_permutations=self.n_permutations, seed=self.seed, top_k=self.top_k, kmer=self.kmer,
                         label=self.label)


class TokenInputsResource(ConfinedPaths, dg.ConfigurableResource):
    """Genome, annotation and JASPAR file of the BPE token analyses (group ``tokens``), and their settings."""

    model_dir: str = Field(description="DNABERT-2 directory whose BPE tokenizer (tokenizer.json) and input embeddings "
                           "are analysed; default: the dnabert2 encoder's.")
    fasta: str = Field(description="FASTA of the regions to analyse (plain or bgzipped with .fai/.gzi).")
    annotation: str = Field(description="GTF or GFF3 of those regions (GENCODE or Ensembl, gzipped or not).")
    annotation_format: Literal["auto", "gtf", "gff3"] = Field(
        default="auto", description="auto: .gff/.gff3 (optionally .gz) is GFF3, anything else GTF."
    )
    genes: list[str] | None = Field(default=None, description="Gene symbols or Ensembl ids; none = every gene.")
    jaspar: str = Field(description="JASPAR matrices in TRANSFAC format (e.g. JASPAR 2024 CORE vertebrates).")
    promoter_upstream: int = Field(default=2000, description="Promoter bases upstream of the TSS.")
    promoter_downstream: int = Field(default=500, description="Promoter bases downstream of the TSS.")
    fdr: float = Field(default=0.05, description="BH FDR below which over-represented tokens are matched to JASPAR.")
    n_shuffles: int = Field(default=200, description="Shuffles for the JASPAR and codon-frame nulls.")
    seed: int = Field(default=0, description="Seed of every shuffle.")

    def spec(self) -> TokenAnalysisSpec:
        return TokenAnalysisSpec(upstream=self.promoter_upstream, downstream=self.promoter_downstream, fdr=self.fdr,
                                 n_shuffles=self.n_shuffles, seed=self.seed)

    def genome(self) -> ReferenceGenome:
        return ReferenceGenome(self.path("fasta"))

    def gene_table(self) -> pd.DataFrame:
        return select_genes(read_annotation(self.path("annotation"), self.annotation_format), self.genes)

    def cds_phases(self) -> dict[str, int]:
        return cds_start_phases(self.path("annotation"), self.annotation_format)
