"""The CLI's sub-commands: each reads its arguments, calls the domain layer and prints the result."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

from .errors import ConfigError, InputFileError
from .settings import PROJECT_ROOT, demo_model_dir, warehouse_root

log = logging.getLogger(__name__)


def _require_parent(out: Path) -> None:
    if not out.parent.resolve().is_dir():
        raise ConfigError(f"output directory {out.parent} does not exist; create it first (mkdir -p {out.parent})")


def extract(args: argparse.Namespace) -> int:
    from .standalone import extract_to_parquet

    _require_parent(args.out)
    names = [g.strip() for g in args.genes.split(",") if g.strip()] if args.genes else None
    summary = extract_to_parquet(
        fasta=args.fasta, gtf=args.gtf or args.gff3, annotation_format="gtf" if args.gtf else "gff3", out=args.out, genes=names, gene_list=args.gene_list,
        gene_type=args.gene_type, region=args.region, upstream=args.upstream, downstream=args.downstream,
        contig_aliases=args.contig_aliases,
    )
    print(f"{summary['genes']} genes, {summary['total_bp']} bp ({summary['n_count']} N) -> {args.out}")
    return 0


def embed(args: argparse.Namespace) -> int:
    from .standalone import embed_parquet

    _require_parent(args.out)
    summary = embed_parquet(
        model_dir=args.model, sequences=args.sequences, out=args.out, pooling=args.pooling,
        rc_average=args.rc_average, max_tokens=args.max_tokens, batch_tokens=args.batch_tokens,
        device=args.device, dtype=args.dtype, attention=args.attention, scan=args.scan, cache_dir=args.cache_dir,
        progress=sys.stderr.isatty() or None,
    )
    print(
        f"{summary['sequences']} sequences, {summary['windows']} windows, {summary['tokens']} tokens "
        f"({summary['tokens_per_s']:.0f} tokens/s on {summary['device']}, {summary['dtype']}) -> {args.out}"
    )
    return 0


def tokens(args: argparse.Namespace) -> int:
    from .settings import DEMO_JASPAR
    from .tokens.analysis import TokenAnalysisSpec
    from .tokens.report import write_report

    names = [g.strip() for g in args.genes.split(",") if g.strip()] if args.genes else None
    model = args.model or demo_model_dir()
    if args.model is None and not (model / "config.json").exists():  # no Dagster here: not defs.demo
        from .models.dnabert2 import write_demo_model

        log.info("writing the offline demo model to %s", model)
        write_demo_model(model)
    rows = write_report(
        args.fasta, args.gtf or args.gff3, args.out, annotation_format="gtf" if args.gtf else "gff3", genes=names,
        tokenizer_json=model / "tokenizer.json",
        model_dir=model, jaspar=args.jaspar or DEMO_JASPAR,
        spec=TokenAnalysisSpec(upstream=args.upstream, downstream=args.downstream, n_shuffles=args.shuffles, seed=args.seed),
    )
    print(", ".join(f"{name} {n} rows" for name, n in rows.items()) + f" -> {args.out}")
    return 0


def query(args: argparse.Namespace) -> int:
    from .warehouse.catalog import DB_NAME, Catalog

    root = args.db.parent if args.db else warehouse_root()
    if args.db and args.db.name != DB_NAME:
        raise ConfigError(f"--db must point to a catalog file named {DB_NAME}, got {args.db}")
    frame = Catalog(root).query(args.sql)
    if args.format == "csv":
        frame.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        sys.stdout.write(frame.to_json(orient="records", lines=False) + "\n")
    else:
        print(frame.to_string(index=False) if len(frame) else "(no rows)")
    return 0


def demo_model(args: argparse.Namespace) -> int:
    from .models.dnabert2 import write_demo_model

    out = args.out or demo_model_dir()
    print(write_demo_model(out))
    return 0


def demo(args: argparse.Namespace) -> int:
    from .defs.demo import run_demo

    db = run_demo()
    print(f"DuckDB catalog: {db}")
    print('Try: neuro-omics query "select gene_name, n_bases, rc_cosine from dnabert2.gene_vectors '
          'order by rc_cosine limit 5"')
    _print_heldout_cca(db)
    return 0


def _print_heldout_cca(db: Path) -> None:
    """The demo's gene–brain CCA on held-out subjects (when the evaluation ran): the planted mode is mode 1."""
    from .warehouse import Catalog

    catalog = Catalog(db.parent)
    if not catalog.partitions("gene_brain_cca_heldout"):
        return
    heldout = catalog.query("select encoder, mode, round(mean_r_test, 3) as mean_r_test, p_value, p_fwer "
                            "from gene_brain_cca_heldout where mode <= 4 order by encoder, mode")
    print("Gene-brain CCA on held-out subjects (SYNTHETIC brain features, planted effect in mode 1):")
    print(heldout.to_string(index=False))


def ui(args: argparse.Namespace) -> int:
    from .defs.instance import prepare_dagster_home

    prepare_dagster_home()
    dagster = Path(sys.executable).with_name("dagster")
    if not dagster.exists():
        raise InputFileError(f"{dagster} not found; install the project first (make demo)")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("serving the Dagster UI on %s: anyone who can reach this address can launch runs", args.host)
    # A background job of a non-interactive shell starts with SIGINT ignored; dagster dev would copy that onto
    # SIGTERM and become unstoppable. Restore the defaults before handing over the process.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    command = [str(dagster), "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", args.host, "-p", str(args.port)]
    os.execv(command[0], command)
    return 0  # not reached: execv replaces the process
