"""``neuro-omics``: demo | extract | embed | tokens | query | demo-model | ui.

Thin: parse arguments, call one domain function, print the result. A ``NeuroOmicsError`` becomes one
line on stderr and exit code 2 (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import NeuroOmicsError

log = logging.getLogger("neuro_omics_assets")


def _add_extract(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("extract", help="gene sequences from a FASTA and a GTF into one Parquet file")
    p.add_argument("--fasta", required=True, type=Path)
    annotation = p.add_mutually_exclusive_group(required=True)
    annotation.add_argument("--gtf", type=Path, help="GENCODE or Ensembl GTF")
    annotation.add_argument("--gff3", type=Path, help="GENCODE or Ensembl GFF3")
    genes = p.add_mutually_exclusive_group()
    genes.add_argument("--genes", help="comma-separated gene symbols or Ensembl ids")
    genes.add_argument("--gene-list", type=Path, help="file with one gene symbol or id per line")
    p.add_argument("--gene-type", help="keep only this gene_type, e.g. protein_coding")
    p.add_argument("--region", default="gene_body", choices=["gene_body", "exons", "cds", "promoter"])
    p.add_argument("--upstream", type=int, default=2000, help="promoter bases upstream of the TSS")
    p.add_argument("--downstream", type=int, default=500, help="promoter bases downstream of the TSS")
    p.add_argument("--contig-aliases", type=Path, help="alias table (TSV); default: bundled hg38 table")
    p.add_argument("--out", required=True, type=Path)


def _add_embed(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("embed", help="DNABERT-2 or Caduceus vectors for the sequences of an `extract` Parquet file")
    p.add_argument("--model", required=True, type=Path,
                   help="DNABERT-2 or Caduceus directory (official format; the family is read from config.json)")
    p.add_argument("--sequences", required=True, type=Path, help="output of `neuro-omics extract`")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--pooling", default="mean", choices=["mean", "cls"], help="cls: DNABERT-2 only")
    p.add_argument("--no-rc-average", dest="rc_average", action="store_false",
                   help="forward strand only (no effect for Caduceus-PS: RC-invariant by construction)")
    p.add_argument("--max-tokens", type=int,
                   help="tokens per window incl. special tokens; default: the model's (DNABERT-2 2048, Caduceus "
                        "its trained length)")
    p.add_argument("--batch-tokens", type=int, default=16384, help="padded tokens per forward pass")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16"])
    p.add_argument("--attention", default="sdpa", choices=["sdpa", "eager"], help="DNABERT-2 attention kernel")
    p.add_argument("--scan", default="auto", choices=["auto", "reference", "numba", "mamba_ssm"],
                   help="Caduceus selective-scan kernel: auto = numba on CPU, reference on CUDA")
    p.add_argument("--cache-dir", type=Path, help="content-addressed embedding cache directory")


def _add_tokens(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tokens", help="BPE token analyses (usage, motif enrichment, codon frame) into Parquet + PNG")
    p.add_argument("--fasta", required=True, type=Path)
    annotation = p.add_mutually_exclusive_group(required=True)
    annotation.add_argument("--gtf", type=Path, help="GENCODE or Ensembl GTF")
    annotation.add_argument("--gff3", type=Path, help="GENCODE or Ensembl GFF3")
    p.add_argument("--genes", help="comma-separated gene symbols or Ensembl ids (default: every gene)")
    p.add_argument("--out", required=True, type=Path, help="directory for the tables and figures")
    p.add_argument("--model", type=Path, help="DNABERT-2 directory for the embedding map; default: the demo model")
    p.add_argument("--jaspar", type=Path, help="JASPAR TRANSFAC file; default: bundled JASPAR 2024 vertebrates")
    p.add_argument("--upstream", type=int, default=2000, help="promoter bases upstream of the TSS")
    p.add_argument("--downstream", type=int, default=500, help="promoter bases downstream of the TSS")
    p.add_argument("--shuffles", type=int, default=200, help="shuffles for the JASPAR and codon-frame nulls")
    p.add_argument("--seed", type=int, default=0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neuro-omics", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"neuro-omics-assets {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="materialize the whole pipeline on bundled real data through Dagster")
    _add_extract(sub)
    _add_embed(sub)
    _add_tokens(sub)
    q = sub.add_parser("query", help="run SQL against the DuckDB catalog (read-only)")
    q.add_argument("sql")
    q.add_argument("--db", type=Path, help="catalog file; default: the project warehouse")
    q.add_argument("--format", default="table", choices=["table", "csv", "json"])
    m = sub.add_parser("demo-model", help="write the small offline DNABERT-2-format demo model")
    m.add_argument("--out", type=Path, help="directory; default: .cache/demo-model")
    u = sub.add_parser("ui", help="serve the Dagster UI on 127.0.0.1 against the project DAGSTER_HOME")
    u.add_argument("--port", type=int, default=3000)
    u.add_argument("--host", default="127.0.0.1", help="bind address (default loopback only)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s"
    )
    from . import commands  # heavy imports (torch, dagster) only once arguments parse

    try:
        return getattr(commands, args.command.replace("-", "_"))(args)
    except NeuroOmicsError as error:
        if args.debug:
            raise
        print(f"neuro-omics {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"neuro-omics {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
