"""The Caduceus package is plain PyTorch: no Dagster, no transformers, no mamba_ssm on import."""

from __future__ import annotations

import subprocess
import sys


def test_caduceus_imports_no_dagster_transformers_or_mamba_ssm() -> None:
    code = (
        "import sys, neuro_omics_assets.models.caduceus; "
        "print([m for m in ('dagster', 'transformers', 'mamba_ssm') if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
