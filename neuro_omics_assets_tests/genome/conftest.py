"""Session fixtures: the chrM and chr2 sequences read independently of the genome layer."""

from __future__ import annotations

import pytest

from neuro_omics_assets_tests.genome.realdata import CHR2_FASTA, CHRM_FASTA, fasta_text


@pytest.fixture(scope="session")
def chrm_text() -> str:
    return fasta_text(CHRM_FASTA)


@pytest.fixture(scope="session")
def chr2_text() -> str:
    return fasta_text(CHR2_FASTA)
