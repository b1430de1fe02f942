"""Cohort scaling: subject embeddings, 5-fold PCA (k = 512) and residuals at biobank sizes.

    python benchmarks/cohort_scaling.py --sizes 1000 10000 28932 100000 --dense-max 1000

Per N, three child processes (each size alone in memory, its peak RSS measured by the kernel):

1. ``simulate``: msprime genotypes of N SYNTHETIC diploid subjects over 111 gene regions whose lengths
   are drawn from a log-normal fitted to the merged exonic length of the knowledge base's 111 genes
   (median 7.2 kb, total ~0.97 Mb; ../shared/reference/peers-and-workload.md section 3.3), each region
   simulated on its own (unlinked); a single-population European history (Tennessen et al. 2012, Gutenkunst et al. 2009: an
   ancestral 7,310, 14,474 from 5,920 generations ago, an out-of-Africa bottleneck of 1,861, then
   growth from 1,032 to 9,279 and from 204 generations ago at 1.97 %/generation to 512,000), so
   rare variants and singletons are as frequent as in exome cohorts; mutation 2.36e-8, recombination
   1e-8 per bp per generation. Each distinct haplotype of a region gets a random H = 768 vector (the
   reference haplotype's vector plus a 5 % perturbation): the encoder is not measured, the count of
   distinct sequences it would embed is. The haplotype map and the vectors go into a warehouse as the
   ``subject_haplotypes`` and ``personal_gene_vectors`` chunks the pipeline writes, with covariates.
2. ``assets``: the Dagster cohort assets, materialized in order: subject_folds, subject_embeddings
   (the view), pca_basis (5 folds, k = 512), residualized_embeddings with its covariate check.
3. ``dense`` (N <= --dense-max): the former dense path on the same warehouse: the subjects x genes x H
   tensor (``cohort.matrix``), then ``residualize.fit_fold_model`` and ``project`` per fold.

4. ``--extras query residualize`` (``cohort_extras.py``): one subject's vector through the view, and
   ``residualized_embeddings`` alone, each against the former procedure in the same run.

The parent polls each child's RSS and kills it above --rss-limit-gb. Results print as a Markdown table
(the extras as the JSON rows before it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

N_GENES, HIDDEN, CHUNKS = 111, 768, 64
ENCODER = "dnabert2"  # the per-encoder tables the random vectors stand in for (dnabert2.personal_gene_vectors)
VECTORS = f"{ENCODER}.personal_gene_vectors"
EXON_MEDIAN, EXON_SIGMA = 7_200, 0.62  # log-normal: median 7.2 kb, mean ~8.7 kb -> ~0.97 Mb over 111 genes
MUTATION, RECOMBINATION = 2.36e-8, 1e-8
log = logging.getLogger("cohort_scaling")


def demography():
    import msprime

    growth = np.log(512_000 / 9_279) / 204
    demo = msprime.Demography()
    demo.add_population(name="EUR", initial_size=512_000, growth_rate=growth)
    demo.add_population_parameters_change(204, initial_size=9_279, growth_rate=np.log(9_279 / 1_032) / (920 - 204))
    demo.add_population_parameters_change(920, initial_size=1_861, growth_rate=0)
    demo.add_population_parameters_change(2_040, initial_size=14_474)
    demo.add_population_parameters_change(5_920, initial_size=7_310)
    return demo


def region_haplotypes(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(region lengths (G,), haplotype codes int64 (G, 2N), derived alleles per haplotype int32 (G, 2N))."""
    import msprime

    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(np.log(EXON_MEDIAN), EXON_SIGMA, N_GENES), 500, 60_000).astype(np.int64)
    codes, counts, sites = np.empty((N_GENES, 2 * n), np.int64), np.empty((N_GENES, 2 * n), np.int32), 0
    for g, length in enumerate(lengths):  # one simulation per region: unlinked regions
        ts = msprime.sim_ancestry(samples=n, ploidy=2, demography=demography(), random_seed=seed + g,
                                  recombination_rate=RECOMBINATION, sequence_length=int(length))
        ts = msprime.sim_mutations(ts, rate=MUTATION, random_seed=seed + g, model=msprime.BinaryMutationModel())
        genotypes = ts.genotype_matrix()  # int8 (sites, 2N); nodes 2i and 2i + 1 are subject i's haplotypes
        keys = np.zeros(2 * n, np.uint64)  # per haplotype: the sum of random 64-bit keys of the sites it carries
        for row, key in zip(genotypes, rng.integers(1, 2**63, size=len(genotypes), dtype=np.int64), strict=True):
            keys[row.astype(bool)] += np.uint64(key)
        codes[g], counts[g], sites = pd.factorize(keys)[0], genotypes.sum(axis=0), sites + len(genotypes)
    log.info("%d sites over %d regions (%.2f Mb)", sites, N_GENES, lengths.sum() / 1e6)
    return lengths, codes, counts


def write_warehouse(root: Path, n: int, seed: int) -> dict:
    """Simulate and write genes, subject_haplotypes, personal_gene_vectors and covariates with lineage."""
    from neuro_omics_assets.variants.haplotypes import PersonalSequences
    from neuro_omics_assets.warehouse.catalog import Catalog
    from neuro_omics_assets.warehouse.cohort_tables import haplotype_index_base, subject_haplotypes_table
    from neuro_omics_assets.warehouse.schemas import vectors_to_arrow

    started = time.perf_counter()
    lengths, codes, counts = region_haplotypes(n, seed)
    simulated = time.perf_counter()
    catalog, rng = Catalog(root), np.random.default_rng(seed + 1)
    gene_ids = [f"BENCH{g:03d}" for g in range(N_GENES)]
    subjects = np.array([f"SYN{i:06d}" for i in range(n)], dtype=object)
    _write(catalog, "genes", "all", _genes_table(gene_ids, lengths), {})
    distinct = 0
    for chunk in range(CHUNKS):
        genes = [g for g in range(N_GENES) if g % CHUNKS == chunk]
        frames, vector_tables, first = [], [], haplotype_index_base(chunk)
        for g in genes:
            n_distinct = int(codes[g].max()) + 1
            # haplotype_index as unique_sequences_table numbers them: per gene, the most carried first
            rank = np.empty(n_distinct, np.int64)
            rank[np.argsort(-np.bincount(codes[g], minlength=n_distinct), kind="stable")] = np.arange(n_distinct)
            shas = np.array([hashlib.sha256(f"{gene_ids[g]}:{h}".encode()).hexdigest() for h in range(n_distinct)],
                            dtype=object)
            frames.append(pd.DataFrame({
                "subject_id": np.repeat(subjects, 2), "gene_id": gene_ids[g], "gene_name": gene_ids[g],
                "haplotype": np.tile([0, 1], n), "sha256": shas[codes[g]], "n_variants": counts[g],
                "reference_only": False}))
            variants = np.zeros(n_distinct, np.int64)
            variants[codes[g]] = counts[g]
            reference = rng.standard_normal(HIDDEN).astype(np.float32)
            vectors = reference + 0.05 * (variants > 0)[:, None] * rng.standard_normal((n_distinct, HIDDEN))
            vector_tables.append(_vectors_table(shas, first + rank, gene_ids[g], chunk, lengths[g],
                                                vectors.astype(np.float32), vectors_to_arrow))
            distinct, first = distinct + n_distinct, first + n_distinct
        if not genes:
            continue
        name, vectors_table = f"chunk_{chunk:03d}", pa.concat_tables(vector_tables).sort_by("haplotype_index")
        personal = PersonalSequences({}, pd.concat(frames, ignore_index=True), pd.DataFrame(), (), "haplotypes")
        _write(catalog, "subject_haplotypes", name, subject_haplotypes_table(personal, chunk, vectors_table),
               {"mode": "haplotypes"})
        _write(catalog, VECTORS, name, vectors_table,
               {"pooling": "mean", "rc_averaged": True, "model_sha256": "random-benchmark-vectors"}, _identity())
    covariates = _covariates(subjects, rng)
    _write(catalog, "covariates", "all", covariates, {
        "covariate_columns": ["age", "sex", *(f"PC{i}" for i in range(1, 11)), "batch"],
        "categorical_columns": ["sex", "batch"], "label_column": None, "group_column": None, "missing": "error"})
    return {"distinct haplotypes": distinct, "simulate s": simulated - started,
            "write s": time.perf_counter() - simulated, "exonic Mb": float(lengths.sum() / 1e6)}


def _write(catalog, table: str, partition: str, data: pa.Table, settings: dict, metadata: dict | None = None) -> None:
    from neuro_omics_assets.warehouse.catalog import LineageRecord

    record = LineageRecord(table, partition, "benchmark", "benchmark", data.num_rows,
                           str(catalog.partition_path(table, partition)), {}, settings)
    catalog.write_partition(table, partition, data, metadata, lineage=record)


def _identity() -> dict[str, str]:
    """The embedding identity the cohort assets require of personal_gene_vectors: random vectors, no model."""
    from neuro_omics_assets.embedding.identity import EmbeddingIdentity, code_fingerprint

    identity = EmbeddingIdentity(encoder="random-benchmark-vectors", model_sha256="none", tokenizer_sha256="none",
                                 dtype="float32", device_class="cpu", kernel="none",
                                 window_algorithm="none", window_max_tokens=0, pooling="mean", rc_averaged=True,
                                 rc_handling="none", numerics_version=0, code_fingerprint=code_fingerprint())
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in identity.metadata().items()}


def _genes_table(gene_ids: list[str], lengths: np.ndarray) -> pa.Table:
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]) + 1_000_000
    return pa.table({
        "gene_id": gene_ids, "gene_version": ["1"] * N_GENES, "gene_name": gene_ids,
        "gene_type": ["protein_coding"] * N_GENES, "contig": ["chr1"] * N_GENES, "start": starts,
        "end": starts + lengths, "strand": ["+"] * N_GENES, "transcript_id": [None] * N_GENES,
        "transcript_version": [None] * N_GENES, "transcript_rule": ["benchmark region"] * N_GENES,
        "exons": [[[int(s), int(s + n)]] for s, n in zip(starts, lengths, strict=True)],
        "cds": [[] for _ in range(N_GENES)], "tss": starts, "manifest_index": np.arange(N_GENES),
        "chunk": np.arange(N_GENES, dtype=np.int32) % CHUNKS, "content_hash": gene_ids,
    })


def _vectors_table(shas, index, gene_id: str, chunk: int, length: int, vectors: np.ndarray, to_arrow) -> pa.Table:
    k = len(shas)
    return pa.table({
        "sha256": list(shas), "haplotype_index": index, "gene_id": [gene_id] * k, "gene_name": [gene_id] * k,
        "chunk": np.full(k, chunk, np.int32), "n_windows": np.ones(k, np.int32), "n_bases": np.full(k, length),
        "n_tokens": np.full(k, length // 5), "pooling": ["mean"] * k, "rc_averaged": [True] * k,
        "embedding": to_arrow(vectors), "rc_cosine": pa.nulls(k, pa.float64()),
    })


def _covariates(subjects: np.ndarray, rng: np.random.Generator) -> pa.Table:
    n = len(subjects)
    columns = {"subject_id": list(subjects), "age": rng.uniform(40, 70, n),
               "sex": rng.choice(["F", "M"], n).tolist()}
    columns |= {f"PC{i}": rng.standard_normal(n) for i in range(1, 11)}
    return pa.table(columns | {"batch": rng.choice(["b1", "b2", "b3"], n).tolist()})


def encoder_cohort() -> tuple[list, object]:
    """The cohort assets of ``ENCODER`` (subject_embeddings, pca_basis, residualized_embeddings) and the
    covariate check of residualized_embeddings."""
    from neuro_omics_assets.defs.assets.cohort import cohort_assets
    from neuro_omics_assets.defs.checks import encoder_checks
    from neuro_omics_assets.defs.encoders import EncoderName

    enc = EncoderName(ENCODER)
    check = next(c for c in encoder_checks(enc)
                 if any(k.name == "residualized_embeddings_uncorrelated_with_covariates" for k in c.check_keys))
    return cohort_assets(enc), check


def run_assets(root: Path) -> dict:
    """Materialize the cohort assets one by one (wall time each) on the warehouse at ``root``."""
    import dagster as dg

    from neuro_omics_assets.defs.assets.cohort import subject_folds
    from neuro_omics_assets.defs.resources import WarehouseResource

    os.environ["NEURO_OMICS_DATA_ROOTS"] = str(root)  # the benchmark's warehouse lives in a temp directory
    resources = {"warehouse": WarehouseResource(root=str(root))}
    (subject_embeddings, pca_basis, residualized_embeddings), check = encoder_cohort()
    out = {}
    with dg.DagsterInstance.ephemeral() as instance:
        for asset in (subject_folds, subject_embeddings, pca_basis, residualized_embeddings):
            started = time.perf_counter()
            selection = [asset, check] if asset is residualized_embeddings else [asset]
            result = dg.materialize(selection, resources=resources, instance=instance)
            if not result.success or not all(e.passed for e in result.get_asset_check_evaluations()):
                raise SystemExit(f"{asset.key.to_user_string()} failed")
            out[f"{asset.key.path[-1]} s"] = time.perf_counter() - started
    return out


def run_dense(root: Path) -> dict:
    """The former dense path on the same warehouse: tensor, subject matrix, fold models and projections."""
    from neuro_omics_assets.cohort.covariates import design_matrix
    from neuro_omics_assets.cohort.matrix import build_subject_gene_tensor, subject_matrix
    from neuro_omics_assets.cohort.residualize import fit_fold_model
    from neuro_omics_assets.warehouse.catalog import Catalog
    from neuro_omics_assets.warehouse.cohort_tables import covariates_from_table, vectors_by_sha256

    catalog = Catalog(root)
    started = time.perf_counter()
    chunks = catalog.partitions("subject_haplotypes")
    assignments = pd.concat([catalog.read_partition("subject_haplotypes", c).to_pandas() for c in chunks])
    vectors = vectors_by_sha256(pa.concat_tables([catalog.read_partition(VECTORS, c) for c in chunks]))
    folds = catalog.read_partition("subject_folds", "all").to_pandas()
    genes = [f"BENCH{g:03d}" for g in range(N_GENES)]
    x = subject_matrix(build_subject_gene_tensor(assignments, vectors, folds["subject_id"].tolist(), genes))
    covariates = covariates_from_table(catalog.read_partition("covariates", "all"), ["sex", "batch"])
    design = design_matrix(covariates, ("age", "sex", *(f"PC{i}" for i in range(1, 11)), "batch"))
    design = design[pd.Index(covariates.subject_ids).get_indexer(folds["subject_id"])]
    built = time.perf_counter()
    ratios = []
    for fold in sorted(folds["test_fold"].unique()):
        train, test = np.flatnonzero(folds["test_fold"] != fold), np.flatnonzero(folds["test_fold"] == fold)
        model = fit_fold_model(x[train], design[train], 512)
        model.project(x[train], design[train]), model.project(x[test], design[test])
        ratios.append(model.basis.explained_variance_ratio)
    stored = catalog.query(f"select explained_variance_ratio as r from {ENCODER}.pca_basis where fold = 0 "
                           "order by component")
    agree = np.abs(ratios[0][:50] / stored["r"].to_numpy()[:50] - 1).max()
    return {"tensor s": built - started, "folds s": time.perf_counter() - built,
            "top-50 explained variance vs factorized, max rel diff": float(agree)}


def child(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    root, started = Path(args.root), time.perf_counter()
    from cohort_extras import run_query, run_residualize  # benchmarks/ is the script's directory

    stats = {"simulate": lambda: write_warehouse(root, args.n, args.seed), "assets": lambda: run_assets(root),
             "dense": lambda: run_dense(root), "query": lambda: run_query(root, args.n),
             "residualize": lambda: run_residualize(root, whole_table=False),
             "residualize_whole": lambda: run_residualize(root, whole_table=True)}[args.stage]()
    stats |= {"wall s": time.perf_counter() - started,
              "peak RSS GB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9}
    print(json.dumps(stats))


def run_child(stage: str, n: int, root: Path, args: argparse.Namespace) -> dict:
    """Run one stage in a subprocess; stop it when its RSS passes ``--rss-limit-gb`` or it runs past
    ``--stage-timeout-s``, and report the peak RSS polled until then."""
    command = [sys.executable, __file__, "--stage", stage, "--n", str(n), "--root", str(root), "--seed", str(args.seed)]
    threads = {name: str(args.blas_threads) for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=os.environ | threads)
    started, peak = time.perf_counter(), 0
    while process.poll() is None:
        peak = max(peak, int(Path(f"/proc/{process.pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE"))
        elapsed = time.perf_counter() - started
        if peak > args.rss_limit_gb * 1e9 or elapsed > args.stage_timeout_s:
            process.kill()
            process.wait()
            return {"error": f"stopped after {elapsed:.0f} s at polled peak RSS {peak / 1e9:.1f} GB"}
        time.sleep(0.5)
    output = process.stdout.read()
    return json.loads(output.strip().splitlines()[-1]) if process.returncode == 0 else {"error": f"exit {process.returncode}"}


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} CPU cores ({cpu}), load average {load} at the start, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 28932, 100000])
    parser.add_argument("--dense-max", type=int, default=1000, help="run the dense path up to this N")
    parser.add_argument("--rss-limit-gb", type=float, default=16.0)
    parser.add_argument("--stage-timeout-s", type=float, default=4 * 3600)
    parser.add_argument("--seed", type=int, default=42)
    # one thread: on a shared machine threaded OpenBLAS spins on cores other jobs hold (QR 25x slower measured)
    parser.add_argument("--blas-threads", type=int, default=1)
    parser.add_argument("--extras", nargs="*", default=[], choices=["query", "residualize"],
                        help="query: one subject's vector through the view, former SQL vs now; residualize: "
                             "residualized_embeddings alone, the former whole-table write and check vs now")
    parser.add_argument("--no-assets", action="store_true", help="skip the cohort assets (with --extras query)")
    parser.add_argument("--stage", choices=["simulate", "assets", "dense", "query", "residualize", "residualize_whole"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        return child(args)
    print(machine(), f"BLAS threads {args.blas_threads}", flush=True)
    rows = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix=f"cohort{n}_") as tmp:
            row = {"N": n, "simulate": run_child("simulate", n, Path(tmp), args)}
            if "error" not in row["simulate"]:
                if "query" in args.extras:
                    row["query"] = run_child("query", n, Path(tmp), args)
                if not args.no_assets:
                    row["assets"] = run_child("assets", n, Path(tmp), args)
                if n <= args.dense_max and not args.no_assets:
                    row["dense"] = run_child("dense", n, Path(tmp), args)
                if "residualize" in args.extras and not args.no_assets:
                    for stage in ("residualize_whole", "residualize"):  # each alone in its process: its own peak
                        row[stage] = run_child(stage, n, Path(tmp), args)
        print(json.dumps(row), flush=True)
        rows.append(row)
    print(markdown(rows))


def markdown(rows: list[dict]) -> str:
    lines = ["| N | distinct haplotypes | simulate+write s | assets wall s | PCA s | residualized s | assets peak RSS GB "
             "| dense wall s | dense peak RSS GB |", "|" + "---:|" * 9]
    for row in rows:
        sim, assets, dense = row["simulate"], row.get("assets", {}), row.get("dense", {})
        cells = [f"{row['N']:,}", f"{sim.get('distinct haplotypes', 0):,}", _num(sim, "wall s"), _num(assets, "wall s"),
                 _num(assets, "pca_basis s"), _num(assets, "residualized_embeddings s"), _num(assets, "peak RSS GB"),
                 _num(dense, "wall s") if dense else "-", _num(dense, "peak RSS GB") if dense else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _num(stats: dict, key: str) -> str:
    return f"{stats[key]:,.1f}" if key in stats else stats.get("error", "-")


if __name__ == "__main__":
    main()
