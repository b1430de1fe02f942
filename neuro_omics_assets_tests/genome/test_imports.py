"""The genome layer is usable without Dagster (DESIGN: domain packages never import it)."""

from __future__ import annotations

import subprocess
import sys


def test_genome_modules_do_not_import_dagster() -> None:
    modules = ("annotation", "bed", "contigs", "extract", "fasta", "regions", "sequence")
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module('neuro_omics_assets.genome.' + name)\n"
        "print('dagster' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
