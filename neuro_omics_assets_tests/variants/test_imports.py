"""The variants layer is usable without Dagster (DESIGN: domain packages never import it)."""

from __future__ import annotations

import subprocess
import sys


def test_variants_modules_do_not_import_dagster() -> None:
    code = (
        "import sys\n"
        "import neuro_omics_assets.variants.haplotypes, neuro_omics_assets.variants.vcf\n"
        "print('dagster' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
