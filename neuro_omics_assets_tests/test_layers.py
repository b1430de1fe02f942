"""Layering: every domain module imports without Dagster (DESIGN.md: only ``defs`` wires Dagster in).

One subprocess imports every module of every package except ``defs`` (and the CLI entry points), so a
Dagster import anywhere below — even in a module no test imports — fails this test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import neuro_omics_assets

WIRING = {"defs", "definitions", "cli", "commands"}  # the Dagster layer and the CLI that launches it


def _domain_modules() -> list[str]:
    """Every module of the package outside ``WIRING``, found on disk (importing packages to walk them
    would import ``defs``)."""
    root = Path(neuro_omics_assets.__file__).parent
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[0] not in WIRING and parts[-1] != "__init__":
            names.append(".".join(("neuro_omics_assets", *parts)))
    return names


def test_no_domain_module_imports_dagster_and_cohort_defers_msprime() -> None:
    code = (
        "import importlib, sys\n"
        "import neuro_omics_assets, neuro_omics_assets.cohort\n"
        "assert 'msprime' not in sys.modules, 'neuro_omics_assets.cohort imported msprime'\n"
        f"names = {_domain_modules()!r}\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "    assert 'dagster' not in sys.modules, name + ' imported dagster'\n"
        "print(len(names))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout) > 40  # the walk found the package's modules


def test_the_walk_covers_every_domain_package() -> None:
    packages = {name.split(".")[1] for name in _domain_modules()}
    assert {"genome", "variants", "models", "embedding", "cohort", "warehouse"} <= packages
