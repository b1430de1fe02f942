"""Group ``tokens`` through Dagster: the tokens_job on three bundled gene regions, read back from DuckDB."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from neuro_omics_assets.defs import build_definitions
from neuro_omics_assets.defs.instance import prepare_dagster_home
from neuro_omics_assets.genome.chunks import chunk_key, gene_chunk
from neuro_omics_assets.warehouse.catalog import Catalog

from ..conftest import TINY_MODEL


@pytest.mark.slow  # ~25 s on a shared 2-core machine: the whole job with 200 shuffles
def test_tokens_job_materializes_every_table_with_figures_next_to_them(pipeline_env, monkeypatch):
    monkeypatch.setenv("NEURO_OMICS_TOKENS_GENES", "FGF6,SMAD5,XPC")
    monkeypatch.setenv("NEURO_OMICS_MODEL_DIR", str(TINY_MODEL))
    prepare_dagster_home()
    defs = build_definitions()
    # FGF6, SMAD5, XPC (Ensembl ids) -> their gene chunks, built one by one
    chunks = sorted({chunk_key(gene_chunk(g)) for g in ("ENSG00000111241", "ENSG00000113658", "ENSG00000154767")})
    with dg.DagsterInstance.get() as instance:
        for chunk in chunks:
            assert defs.resolve_job_def("tokens_chunks_job").execute_in_process(instance=instance, partition_key=chunk).success
        result = defs.resolve_job_def("tokens_job").execute_in_process(instance=instance)
    assert result.success
    metadata = {e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()}
    assert set(metadata) == {"bpe_vocabulary", "bpe_token_usage", "bpe_motif_enrichment", "bpe_codon_frame"}
    for asset, stem in [("bpe_vocabulary", "token_embedding_map"), ("bpe_token_usage", "token_length_histogram"),
                        ("bpe_motif_enrichment", "enriched_token_logos"), ("bpe_codon_frame", "codon_phase_bars")]:
        assert Path(metadata[asset][f"{stem}_png"].value).read_bytes()[:4] == b"\x89PNG"
        assert "data:image/png;base64," in metadata[asset][stem].value
    catalog = Catalog(pipeline_env / "warehouse")
    genes = catalog.query("select distinct gene_name from bpe_region_tokens order by 1")["gene_name"].tolist()
    assert genes == ["FGF6", "SMAD5", "XPC"]
    assert catalog.query("select count(*) as n from bpe_vocabulary")["n"].iat[0] == 4096
    # The usage table counts exactly the tokens the region table holds, class by class.
    check = catalog.query(
        "select u.region_class, u.n, r.n as m from (select region_class, sum(count) as n from bpe_token_usage group by 1) u "
        "join (select region_class, sum(n_tokens) as n from bpe_region_tokens group by 1) r using (region_class)"
    )
    assert len(check) == 6 and (check["n"] == check["m"]).all()
    pooled = catalog.query("select phase0 + phase1 + phase2 as total, n_boundaries from bpe_codon_frame where scope = 'pooled'")
    assert pooled["total"].iat[0] == pooled["n_boundaries"].iat[0] > 0
    lineage = catalog.query("select asset_key, partition from lineage where asset_key like 'bpe_%'")
    assert set(lineage["asset_key"]) == {*metadata, "bpe_region_tokens"}
    assert sorted(lineage.loc[lineage["asset_key"] == "bpe_region_tokens", "partition"]) == chunks
    # A gene whose chunk was never built stops the analyses with an error naming the chunk.
    monkeypatch.setenv("NEURO_OMICS_TOKENS_GENES", "FGF6,SMAD5,XPC,TNNT2")
    tnnt2 = chunk_key(gene_chunk("ENSG00000118194"))
    with dg.DagsterInstance.get() as instance, pytest.raises(Exception, match=f"bpe_region_tokens chunks .*{tnnt2}"):
        build_definitions().resolve_job_def("tokens_job").execute_in_process(instance=instance)
