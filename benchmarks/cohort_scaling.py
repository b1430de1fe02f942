"""Cohort scaling: model work stays flat as subjects grow when haplotype diversity is fixed.

    python benchmarks/cohort_scaling.py                      # N = 100, 1,000, 10,000; K = 6
    python benchmarks/cohort_scaling.py --sizes 100 1000 --haplotypes 4

For each gene of the bundled chrM annotation (37 genes) the script fixes K haplotypes: the reference
and K - 1 others that each carry one SNV of their own (REF from the FASTA, at a position no other
gene covers). N SYNTHETIC haploid subjects each draw one of the K haplotypes per gene (seeded), are
written to a bgzipped, indexed VCF, and go through ``variants.personal_sequences`` and one
``EmbeddingEngine`` (the offline demo model, CPU, fp32, no cache) per N; the subject tensor is then
rebuilt from the haplotype map (``cohort.build_subject_gene_tensor``). Only distinct sequences reach
the model, so unique sequences, model calls and encoder sequences should not change with N, while the
VCF parsing and the haplotype map grow linearly.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pysam
import torch

from neuro_omics_assets.cohort.matrix import build_subject_gene_tensor
from neuro_omics_assets.embedding.engine import EmbeddingEngine
from neuro_omics_assets.genome.annotation import read_gtf, select_genes
from neuro_omics_assets.genome.contigs import ContigAliases
from neuro_omics_assets.genome.fasta import ReferenceGenome
from neuro_omics_assets.genome.regions import RegionSpec
from neuro_omics_assets.models.dnabert2 import load_dnabert2, write_demo_model
from neuro_omics_assets.settings import DEMO_FASTA, DEMO_GTF
from neuro_omics_assets.variants import personal_sequences

BASES = "ACGT"
COLUMNS = (
    "N",
    "haplotype rows",
    "unique seqs",
    "model calls",
    "encoder seqs",
    "tokens",
    "vcf s",
    "haplotypes s",
    "embed s",
    "tensor s",
    "wall s",
    "calls vs N=100",
)


def haplotype_sites(
    genome: ReferenceGenome, genes, k: int, rng: np.random.Generator
) -> list[tuple[int, int, str, str]]:
    """(gene row, 0-based position, REF, ALT) of the K - 1 private SNVs of each gene, sorted by position."""
    contig = genome.resolve("chrM")
    covered = np.zeros(genome.contigs[contig], dtype=np.int16)
    for start, end in zip(genes["start"], genes["end"], strict=True):
        covered[start:end] += 1
    sites = []
    for row, (start, end) in enumerate(zip(genes["start"], genes["end"], strict=True)):
        own = np.flatnonzero(covered[start:end] == 1) + start  # positions of this gene only
        for position in rng.choice(own, size=k - 1, replace=False):
            ref = genome.fetch(contig, int(position), int(position) + 1).upper()
            if ref not in BASES:
                raise SystemExit(f"chrM:{position + 1} is {ref!r}; pick another seed")
            alt = BASES[(BASES.index(ref) + int(rng.integers(1, 4))) % 4]
            sites.append((row, int(position), ref, alt))
    return sorted(sites, key=lambda site: site[1])


def write_vcf(path: Path, sites, draws: np.ndarray, fasta_name: str, length: int) -> Path:
    """Haploid VCF: subject s carries the SNV of haplotype h of gene g when draws[s, g] == h (h >= 1)."""
    subjects = [f"SYN{i:05d}" for i in range(1, draws.shape[0] + 1)]
    header = [
        "##fileformat=VCFv4.2",
        "##source=neuro-omics-assets cohort scaling benchmark (SYNTHETIC, NOT real subjects)",
        f"##reference={fasta_name}",
        f"##contig=<ID=chrM,length={length}>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Haploid genotype">',
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *subjects]),
    ]
    carried: dict[int, int] = {}  # gene row -> SNVs of that gene seen so far: its haplotype number - 1
    with open(path, "w", encoding="ascii", newline="\n") as handle:
        handle.write("\n".join(header) + "\n")
        for row, position, ref, alt in sites:
            carried[row] = carried.get(row, 0) + 1
            calls = np.where(draws[:, row] == carried[row], "1", "0")
            handle.write(f"chrM\t{position + 1}\t.\t{ref}\t{alt}\t.\tPASS\t.\tGT\t" + "\t".join(calls) + "\n")
    return Path(pysam.tabix_index(str(path), preset="vcf", force=True))


def run(n: int, k: int, model_dir: Path, work: Path, genes, sites) -> dict:
    """One cohort size: write the VCF, build the haplotype map, embed the distinct sequences."""
    rng = np.random.default_rng(n)
    draws = rng.integers(0, k, size=(n, len(genes)))
    started = time.perf_counter()
    with ReferenceGenome(DEMO_FASTA, aliases=ContigAliases.hg38()) as genome:
        vcf = write_vcf(work / f"cohort_{n}.vcf", sites, draws, DEMO_FASTA.name, genome.contigs["chrM"])
        written = time.perf_counter()
        personal = personal_sequences(genome, genes, RegionSpec(kind="gene_body"), vcf, "haplotypes")
    mapped = time.perf_counter()
    engine = EmbeddingEngine(load_dnabert2(model_dir, device="cpu", dtype="float32"))
    result = engine.embed(personal.unique)
    embedded = time.perf_counter()
    vectors = {sha: result[sha].vector for sha in personal.unique}
    tensor = build_subject_gene_tensor(
        personal.assignments, vectors, list(personal.samples), genes["gene_id"].tolist()
    )
    done = time.perf_counter()
    return {
        "N": n,
        "haplotype rows": int(tensor.shape[0] * tensor.shape[1]),
        "unique seqs": len(personal.unique),
        "model calls": engine.model_calls,
        "encoder seqs": len(result.window_stats),  # no cache: every distinct sequence goes to the model
        "tokens": engine.tokens_processed,
        "vcf s": written - started,
        "haplotypes s": mapped - written,
        "embed s": embedded - mapped,
        "tensor s": done - embedded,
        "wall s": done - started,
    }


def markdown(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---:|" * len(COLUMNS)]
    for row in rows:
        cells = [f"{row[c]:,.2f}" if c.endswith(" s") else f"{row[c]:,}" for c in COLUMNS[:-1]]
        lines.append("| " + " | ".join([*cells, f"{row['calls vs N=100']:.2f}"]) + " |")
    return "\n".join(lines)


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} CPU cores ({cpu}), torch {torch.__version__} with {torch.get_num_threads()} threads, "
        f"load average {load} at the start, {datetime.now(UTC):%Y-%m-%d}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument(
        "--haplotypes", type=int, default=6, help="K: distinct haplotypes per gene (reference included)"
    )
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    genes = select_genes(read_gtf(DEMO_GTF), None, None).reset_index(drop=True)
    print(machine())
    with (
        tempfile.TemporaryDirectory() as tmp,
        ReferenceGenome(DEMO_FASTA, aliases=ContigAliases.hg38()) as genome,
    ):
        work = Path(tmp)
        model_dir = write_demo_model(work / "demo-model")
        sites = haplotype_sites(genome, genes, args.haplotypes, np.random.default_rng(args.seed))
        print(
            f"{len(genes)} chrM genes x K = {args.haplotypes} haplotypes ({len(sites)} SNVs); demo model, CPU, fp32"
        )
        rows = []
        for n in args.sizes:
            rows.append(run(n, args.haplotypes, model_dir, work, genes, sites))
            rows[-1]["calls vs N=100"] = rows[-1]["model calls"] / rows[0]["model calls"]
            print(f"N = {n:,}: {rows[-1]['wall s']:.1f} s", flush=True)
    print(markdown(rows))


if __name__ == "__main__":
    main()
