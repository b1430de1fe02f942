"""The pilot end to end on the real human and mouse chrM with the demo model, checked against an independent
computation, and a planted species whose divergence from human is known."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from neuro_omics_assets.cross_species.composition import dinucleotide_shuffle
from neuro_omics_assets.cross_species.metrics import ortholog_transfer
from neuro_omics_assets.cross_species.pilot import (
    CLASSIFICATION_COLUMNS,
    METRIC_COLUMNS,
    RANK_COLUMNS,
    PilotSpec,
    embed_genes,
    pilot_from_vectors,
    pilot_inputs,
    run_pilot,
)
from neuro_omics_assets.deployment import Deployment
from neuro_omics_assets.errors import ConfigError
from neuro_omics_assets.genome.regions import RegionSpec
from neuro_omics_assets.tokens.codon import CodingFrame, codon_check, genetic_code
from neuro_omics_assets_tests.genome.realdata import REAL, fasta_text, revcomp

SPEC = PilotSpec(n_permutations=200, seed=4)
BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
CODE = np.zeros(256, dtype=np.int64)
CODE[BASES] = np.arange(4)


@pytest.fixture(scope="module")
def result(demo_engine, human, mouse, pairs):
    return run_pilot(demo_engine, human, mouse, pairs.pairs, SPEC)


def test_minus_strand_genes_are_reverse_complemented_and_translate_with_the_mitochondrial_code(deployment, human,
                                                                                                  mouse) -> None:
    texts = {"human": fasta_text(REAL / "chrM" / "chrM.fa"), "mouse": fasta_text(REAL / "mouse_mt" / "GRCm38_MT.fa")}
    for name, genes, nd6 in (("human", human, "MT-ND6"), ("mouse", mouse, "mt-Nd6")):
        row = genes.set_index("gene_name").loc[nd6]
        assert row["strand"] == "-" and row["sequence"] == revcomp(texts[name][row["start"]:row["end"]].upper())
        config = dataclasses.replace(deployment.genome(name), region=RegionSpec(kind="cds"))
        cds = config.gene_sequences().set_index("gene_name").loc[nd6]
        frame = CodingFrame.of(len(cds["sequence"]), 0)
        assert genetic_code(cds["contig"]) == 2  # chrM / MT: vertebrate mitochondrial
        check = codon_check(cds["sequence"], frame, genetic_code(cds["contig"]))
        assert check["start_valid"] and check["internal_stops"] == 0
        assert codon_check(cds["sequence"], frame, 1)["internal_stops"] > 0  # TGA is Trp in mitochondria only
    assert (human["strand"] == "-").sum() == (mouse["strand"] == "-").sum() == 9  # ND6 and 8 tRNAs


def _independent(vectors_a: np.ndarray, vectors_b: np.ndarray, index_a, index_b) -> dict[str, object]:
    """Ranks both ways by counting over a loop-computed cosine, MRR, top-1/5 and sklearn's AUROC."""
    cos = np.array([[x @ y / (np.linalg.norm(x) * np.linalg.norm(y)) for y in vectors_b] for x in vectors_a])
    forward = np.array([(cos[s] >= cos[s, t]).sum() for s, t in zip(index_a, index_b, strict=True)])
    backward = np.array([(cos[:, t] >= cos[s, t]).sum() for s, t in zip(index_a, index_b, strict=True)])
    truth = np.zeros(cos.shape, dtype=bool)
    truth[index_a, index_b] = True
    return {"forward": forward, "backward": backward, "auroc": roc_auc_score(truth.ravel(), cos.ravel()),
            "mrr": (np.mean(1 / forward), np.mean(1 / backward)), "top1": (np.mean(forward == 1), np.mean(backward == 1)),
            "top5": (np.mean(forward <= 5), np.mean(backward <= 5))}


def test_the_pilot_on_real_chrM_equals_an_independent_computation(result, demo_engine, human, mouse) -> None:
    assert list(result.ranks.columns) == list(RANK_COLUMNS) and list(result.metrics.columns) == list(METRIC_COLUMNS)
    rngs = [np.random.default_rng([SPEC.seed, i]) for i in (0, 1)]
    shuffled = [[dinucleotide_shuffle(s, rng) for s in genes["sequence"]] for rng, genes in zip(rngs, (human, mouse),
                                                                                                strict=True)]
    vectors = {
        "model": [demo_engine.embed(dict(zip(g["gene_id"], g["sequence"], strict=True))).vectors() for g in (human, mouse)],
        "shuffled": [demo_engine.embed(dict(zip(g["gene_id"], s, strict=True))).vectors()
                     for g, s in zip((human, mouse), shuffled, strict=True)],
    }
    position_a = {g: i for i, g in enumerate(human["gene_id"])}
    position_b = {g: i for i, g in enumerate(mouse["gene_id"])}
    for kind, (vectors_a, vectors_b) in vectors.items():
        ranks = result.ranks[result.ranks["vectors"] == kind]
        forward, backward = ranks[ranks["direction"] == "human->mouse"], ranks[ranks["direction"] == "mouse->human"]
        index_a = np.array([position_a[g] for g in forward["query_gene_id"]])
        index_b = np.array([position_b[g] for g in forward["ortholog_gene_id"]])
        expected = _independent(vectors_a, vectors_b, index_a, index_b)
        np.testing.assert_array_equal(forward["rank"], expected["forward"])
        np.testing.assert_array_equal(backward["rank"], expected["backward"])
        assert list(backward["query_gene_id"]) == list(forward["ortholog_gene_id"])
        metrics = result.metrics[result.metrics["vectors"] == kind].set_index(["direction", "metric"])["value"]
        assert metrics[("human<->mouse", "auroc")] == pytest.approx(expected["auroc"], abs=1e-6)
        for metric in ("mrr", "top1", "top5"):
            assert metrics[("human->mouse", metric)] == pytest.approx(expected[metric][0], abs=1e-6)
            assert metrics[("mouse->human", metric)] == pytest.approx(expected[metric][1], abs=1e-6)
    model = result.metrics[result.metrics["vectors"] == "model"].set_index(["direction", "metric"])
    assert model.loc[("human->mouse", "mrr"), "chance"] == pytest.approx(np.sum(1 / np.arange(1, 38)) / 37)
    assert (result.metrics["n_pairs"] == 37).all() and (result.metrics["n_permutations"] == 200).all()
    assert result.metrics["p_value"].between(1 / 201, 1).all()


def test_the_classification_tables_agree_with_the_predictions_and_the_majority_baseline(result) -> None:
    table = result.classification
    assert list(table.columns) == list(CLASSIFICATION_COLUMNS)
    assert sorted(set(table["vectors"])) == ["kmer", "majority", "model", "shuffled"]
    for (kind, direction), rows in result.predictions.groupby(["vectors", "direction"]):
        row = table[(table["vectors"] == kind) & (table["direction"] == direction)].iloc[0]
        assert row["accuracy"] == pytest.approx(np.mean(rows["true_label"] == rows["predicted_label"]))
        assert len(rows) == row["n_test"] == 37
    majority = table[table["vectors"] == "majority"]
    assert majority["accuracy"].tolist() == pytest.approx([22 / 37, 22 / 37])  # always tRNA
    assert majority["balanced_accuracy"].tolist() == pytest.approx([1 / 6, 1 / 6])
    assert (table["n_classes_train"] == 6).all()


def test_the_figures_are_pngs_with_the_orthologs_on_the_diagonal(result) -> None:
    figures = result.figures()
    for figure in figures.values():
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    heatmap = figures["similarity_heatmap"].axes[0]
    rows = [t.get_text() for t in heatmap.get_yticklabels()]
    columns = [t.get_text() for t in heatmap.get_xticklabels()]
    assert len(rows) == 37 and rows[0].startswith("MT-ND") and [r.upper() for r in rows if r != "MT-CYB"] == [
        c.upper() for c in columns if c != "mt-Cytb"]
    assert len(figures["rank_histogram"].axes) == 2


def _mutate(sequence: str, rate: float, rng: np.random.Generator) -> str:
    """Each base replaced, with probability ``rate``, by one of the three others (uniformly)."""
    bases = np.frombuffer(sequence.encode("ascii"), dtype=np.uint8).copy()
    hit = rng.random(len(bases)) < rate
    bases[hit] = BASES[(CODE[bases[hit]] + rng.integers(1, 4, int(hit.sum()))) % 4]
    return bases.tobytes().decode("ascii")


def test_a_planted_species_is_retrieved_at_low_divergence_and_at_chance_when_saturated(demo_engine, human) -> None:
    human_vectors = embed_genes(demo_engine, human)
    observed = {}
    for rate in (0.01, 0.1, 0.5, 0.75):
        rng = np.random.default_rng(17)
        synthetic = human.assign(sequence=[_mutate(s, rate, rng) for s in human["sequence"]])
        transfer = ortholog_transfer(human_vectors, embed_genes(demo_engine, synthetic), np.arange(37), np.arange(37),
                                     n_permutations=200, seed=0)
        observed[rate] = (transfer.a_to_b.observed, transfer.a_to_b.p_values, transfer.b_to_a.observed)
    low, saturated = observed[0.01], observed[0.75]
    # 1 %: near perfect both ways (measured: top-1 35/37 and 36/37, every ortholog in the top 5)
    assert low[0]["top1"] >= 0.9 and low[2]["top1"] >= 0.9 and low[0]["topk"] == 1.0
    assert low[1]["mrr"] == pytest.approx(1 / 201)  # no permutation reaches it
    assert observed[0.01][0]["mrr"] > observed[0.1][0]["mrr"] > observed[0.5][0]["mrr"]
    # 75 % substitution leaves no trace of the origin (each base is then uniform): chance (MRR 0.114, AUROC 0.5)
    assert saturated[0]["top1"] <= 3 / 37 and saturated[0]["mrr"] < 0.2 and saturated[1]["mrr"] > 0.05
    assert saturated[0]["auroc"] == pytest.approx(0.5, abs=0.08)


def test_vectors_and_pairs_that_do_not_fit_the_gene_tables_are_refused(deployment, human, mouse, pairs) -> None:
    with pytest.raises(ConfigError, match=r"the deployment \(environment\) has no \[orthologs\] table"):
        pilot_inputs(Deployment(genomes=deployment.genomes))
    vectors = {"kmer": (np.ones((37, 4)), np.ones((36, 4)))}
    with pytest.raises(ConfigError, match="kmer vectors have 36 rows for 37 genes"):
        pilot_from_vectors(vectors, human, mouse, pairs.pairs, SPEC)
    with pytest.raises(ConfigError, match=r"ortholog genes \['ENSMUSG00000064336'\] are not in the genome b table"):
        pilot_from_vectors({}, human, mouse[mouse["gene_name"] != "mt-Tf"], pairs.pairs, SPEC)
    with pytest.raises(ConfigError, match="PilotSpec.n_permutations=0 must be an integer >= 1"):
        PilotSpec(n_permutations=0)
