"""DnaEncoderResource and ``neuro-omics embed`` with a Caduceus directory (either family, one resource)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from neuro_omics_assets.cli import main
from neuro_omics_assets.defs import build_resources
from neuro_omics_assets.defs.resources import DnaEncoderResource
from neuro_omics_assets.errors import ConfigError
from neuro_omics_assets.models.caduceus import write_demo_model
from neuro_omics_assets.warehouse.schemas import vectors_from_arrow
from neuro_omics_assets_tests.conftest import FIXTURES

CADUCEUS_PS = FIXTURES / "caduceus-ps-tiny"


@pytest.mark.parametrize("rcps", [True, False])
def test_identity_without_loading_equals_the_loaded_engines(rcps: bool, tmp_path: Path) -> None:
    model_dir = CADUCEUS_PS if rcps else write_demo_model(tmp_path / "ph", rcps=False, model_max_length=4096)
    resource = DnaEncoderResource(model_dir=str(model_dir), device="cpu")
    identity = resource.identity()
    assert identity == resource.engine(use_cache=False).identity
    assert identity.encoder == ("caduceus_ps" if rcps else "caduceus_ph") and identity.kernel == "numba"
    assert identity.window_max_tokens == (131072 if rcps else 4096)  # max_tokens None: the trained length
    assert identity.rc_handling == ("equivariant" if rcps else "posthoc_average")
    assert resource.description().traits.vector_size == 32


def test_settings_the_encoder_cannot_honour_are_refused_before_loading() -> None:
    with pytest.raises(ConfigError, match="pooling='cls' needs a"):
        DnaEncoderResource(model_dir=str(CADUCEUS_PS), device="cpu", pooling="cls").identity()
    with pytest.raises(ConfigError, match="exceeds what caduceus_ps accepts"):
        DnaEncoderResource(model_dir=str(CADUCEUS_PS), device="cpu", max_tokens=200_000).identity()
    with pytest.raises(ConfigError, match="scan='mamba_ssm' runs on CUDA only"):
        DnaEncoderResource(model_dir=str(CADUCEUS_PS), device="cpu", scan="mamba_ssm").identity()


def test_the_scan_setting_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NEURO_OMICS_DEPLOYMENT", "NEURO_OMICS_MODEL_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEURO_OMICS_SCAN", "reference")
    assert build_resources()["encoder_caduceus_ps"].scan == "reference"


def test_cli_embed_with_a_caduceus_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(0)
    genes = pd.DataFrame({"gene_id": ["g1", "g2"], "gene_name": ["A1", "B2"], "sequence": ["".join(rng.choice("ACGT") for _ in range(n)) for n in (90, 260)]})
    sequences, out = tmp_path / "sequences.parquet", tmp_path / "vectors.parquet"
    pq.write_table(pa.Table.from_pandas(genes, preserve_index=False), sequences)
    args = ["embed", "--model", str(CADUCEUS_PS), "--sequences", str(sequences), "--out", str(out), "--device", "cpu"]
    assert main([*args, "--scan", "reference", "--max-tokens", "101"]) == 0
    table = pq.read_table(out)
    metadata = {k.decode(): v.decode() for k, v in table.schema.metadata.items()}
    assert (metadata["encoder"], metadata["kernel"], metadata["rc_handling"]) == ("caduceus_ps", "reference", "equivariant")
    assert vectors_from_arrow(table["embedding"]).shape == (2, 32)
    np.testing.assert_allclose(table["rc_cosine"].to_numpy(), 1.0, atol=1e-6)
    assert table["n_windows"].to_pylist() == [1, 3] and table["n_tokens"].to_pylist() == [90, 260]
    capsys.readouterr()
    assert main([*args, "--pooling", "cls"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("neuro-omics embed: error: pooling='cls' needs a [CLS] state") and "\n" not in err
