"""The cross-species pilot for one encoder: ortholog retrieval and zero-shot classification, with controls.

Three kinds of gene vectors are compared, each genome's genes in its sequence table's order:

* ``model``: the encoder's vectors of the genes' sequences (``EmbeddingEngine.embed``);
* ``shuffled``: the same encoder on each sequence after a dinucleotide-preserving shuffle (one shuffle per
  gene, ``numpy.random.default_rng([seed, 0])`` for genome a and ``[seed, 1]`` for genome b, in table
  order): what base and dinucleotide composition alone carry through the model;
* ``kmer``: both-strand k-mer frequencies (no model): what composition carries without any model.

For each kind: ``metrics.ortholog_transfer`` (ranks both ways, top-1, top-k, MRR, AUROC, permutation p) and
``classify`` in both directions; the majority-class baseline once per direction. Sequences come from
``genome.extract`` (minus-strand genes reverse-complemented there); no step here reads a codon frame, so no
genetic code is needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from neuro_omics_assets.cross_species.classify import (
    Label,
    gene_labels,
    majority_predictions,
    scores,
    zero_shot_predictions,
)
from neuro_omics_assets.cross_species.composition import dinucleotide_shuffle, kmer_vectors
from neuro_omics_assets.cross_species.metrics import METRICS, Transfer, chance, ortholog_transfer
from neuro_omics_assets.cross_species.orthologs import (
    ManyPolicy,
    OrthologPairs,
    ortholog_pairs,
    read_ortholog_table,
)
from neuro_omics_assets.cross_species.plots import rank_histogram, similarity_heatmap
from neuro_omics_assets.deployment import Deployment
from neuro_omics_assets.embedding.engine import EmbeddingEngine
from neuro_omics_assets.errors import ConfigError

VECTOR_KINDS = ("model", "shuffled", "kmer")
RANK_COLUMNS = ("vectors", "direction", "query_gene_id", "query_gene_name", "ortholog_gene_id", "ortholog_gene_name",
                "rank", "n_candidates", "cosine", "best_gene_id", "best_gene_name")
METRIC_COLUMNS = ("vectors", "direction", "metric", "value", "chance", "null_mean", "p_value", "n_pairs",
                  "n_candidates", "n_permutations", "seed")
CLASSIFICATION_COLUMNS = ("vectors", "direction", "label", "accuracy", "balanced_accuracy", "n_train", "n_test",
                          "n_classes_train", "n_classes_test")
PREDICTION_COLUMNS = ("vectors", "direction", "gene_id", "gene_name", "true_label", "predicted_label")


@dataclass(frozen=True)
class PilotSpec:
    """Settings of one pilot run."""

    # 1000 permutations resolve p down to 1/1001 in milliseconds for a few thousand genes.
    n_permutations: int = 1000
    seed: int = 0
    # top-5: the usual second retrieval cut-off beside top-1.
    top_k: int = 5
    # 3-mers: 64 columns, enough k-mers per gene even for a 60-base tRNA (4-mers would be mostly zeros).
    kmer: int = 3
    # The mitochondrial pilot's classes; other genomes: gene_type.
    label: Label = "functional_class"

    def __post_init__(self) -> None:
        for name in ("n_permutations", "top_k", "kmer"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"PilotSpec.{name}={value!r} must be an integer >= 1.")


@dataclass(frozen=True)
class PilotResult:
    """Tidy tables (``RANK_COLUMNS``, ``METRIC_COLUMNS``, ``CLASSIFICATION_COLUMNS``, ``PREDICTION_COLUMNS``)
    and the ``metrics.Transfer`` of each kind of vectors; ``pairs`` as given plus each gene's row in its table
    (``index_a``/``index_b``) and label (``label_a``/``label_b``)."""

    ranks: pd.DataFrame
    metrics: pd.DataFrame
    classification: pd.DataFrame
    predictions: pd.DataFrame
    transfers: dict[str, Transfer]
    pairs: pd.DataFrame
    genomes: tuple[str, str]

    def figures(self, vectors: str = "model") -> dict[str, Figure]:
        """``similarity_heatmap`` of ``vectors`` over the pairs (orthologs on the diagonal, grouped by
        label) and the ``rank_histogram`` of every kind."""
        transfer = self.transfers[vectors]
        order = self.pairs.sort_values(["label_a", "gene_name_a"]).index.to_numpy()
        rows, columns = self.pairs["index_a"].to_numpy()[order], self.pairs["index_b"].to_numpy()[order]
        heatmap = similarity_heatmap(transfer.similarity[np.ix_(rows, columns)],
                                     self.pairs["gene_name_a"].to_numpy()[order],
                                     self.pairs["gene_name_b"].to_numpy()[order], self.genomes,
                                     f"{vectors} vectors: cosine, orthologs on the diagonal")
        return {"similarity_heatmap": heatmap, "rank_histogram": rank_histogram(self.ranks)}


def pilot_inputs(deployment: Deployment, many: ManyPolicy = "exclude") -> tuple[pd.DataFrame, pd.DataFrame, OrthologPairs]:
    """The sequence tables of the deployment's two ortholog genomes (``GenomeConfig.gene_sequences``) and their
    one-to-one pairs with the report of excluded rows (``orthologs.ortholog_pairs``)."""
    if deployment.orthologs is None:
        raise ConfigError(f"the deployment ({deployment.source}) has no [orthologs] table; add one with the table's "
                          f"path and the two genome names.")
    genomes = deployment.orthologs.genomes
    sequences_a, sequences_b = (deployment.genome(name).gene_sequences() for name in genomes)
    table = read_ortholog_table(deployment.orthologs.path, genomes)
    return sequences_a, sequences_b, ortholog_pairs(table, genomes, sequences_a, sequences_b, many)


def embed_genes(engine: EmbeddingEngine, sequences: pd.DataFrame) -> np.ndarray:
    """float32 (n_genes, H): the engine's vector of each row of a sequence table (``gene_id``, ``sequence``)."""
    return engine.embed(zip(sequences["gene_id"], sequences["sequence"], strict=True)).vectors()


def shuffled_sequences(sequences: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The table with each ``sequence`` dinucleotide-shuffled (``composition.dinucleotide_shuffle``), in order."""
    out = sequences.copy()
    out["sequence"] = [dinucleotide_shuffle(sequence, rng) for sequence in sequences["sequence"]]
    return out


def run_pilot(engine: EmbeddingEngine, sequences_a: pd.DataFrame, sequences_b: pd.DataFrame, pairs: pd.DataFrame,
              spec: PilotSpec | None = None) -> PilotResult:
    """The pilot for ``engine``'s encoder on two genomes' sequence tables (``genome.extract`` columns) and
    their one-to-one ``pairs`` (``orthologs.ortholog_pairs``): embeds the genes and their shuffles."""
    spec = spec or PilotSpec()
    shuffled = [shuffled_sequences(s, np.random.default_rng([spec.seed, i]))
                for i, s in enumerate((sequences_a, sequences_b))]
    vectors = {
        "model": (embed_genes(engine, sequences_a), embed_genes(engine, sequences_b)),
        "shuffled": (embed_genes(engine, shuffled[0]), embed_genes(engine, shuffled[1])),
        "kmer": tuple(kmer_vectors(s["sequence"].tolist(), spec.kmer, s["gene_id"].tolist())
                      for s in (sequences_a, sequences_b)),
    }
    return pilot_from_vectors(vectors, sequences_a, sequences_b, pairs, spec)


def pilot_from_vectors(vectors: Mapping[str, tuple[np.ndarray, np.ndarray]], genes_a: pd.DataFrame,
                       genes_b: pd.DataFrame, pairs: pd.DataFrame, spec: PilotSpec | None = None) -> PilotResult:
    """The pilot on given vectors: ``{kind: (float (n_a, H), float (n_b, H))}``, rows in the order of the gene
    tables ``genes_a``/``genes_b`` (``gene_id``, ``gene_name``, ``gene_type``)."""
    spec = spec or PilotSpec()
    genomes = (str(pairs["genome_a"].iat[0]), str(pairs["genome_b"].iat[0]))
    labels = (gene_labels(genes_a, spec.label), gene_labels(genes_b, spec.label))
    pairs = _indexed(pairs, genes_a, genes_b, labels)
    ranks, metrics, classification, predictions, transfers = [], [], [], [], {}
    for kind, (vectors_a, vectors_b) in vectors.items():
        for genes, matrix in ((genes_a, vectors_a), (genes_b, vectors_b)):
            if len(matrix) != len(genes):
                raise ConfigError(f"{kind} vectors have {len(matrix)} rows for {len(genes)} genes; give one row per "
                                  f"gene, in the gene table's order.")
        transfer = ortholog_transfer(vectors_a, vectors_b, pairs["index_a"].to_numpy(), pairs["index_b"].to_numpy(),
                                     spec.n_permutations, spec.seed, spec.top_k)
        transfers[kind] = transfer
        ranks.append(_rank_rows(kind, transfer, pairs, genes_a, genes_b, genomes))
        metrics += _metric_rows(kind, transfer, genomes)
        for direction, train, test in _directions(genomes, (genes_a, vectors_a, labels[0]), (genes_b, vectors_b, labels[1])):
            predicted = zero_shot_predictions(train[1], train[2], test[1])
            classification.append(_classification_row(kind, direction, spec.label, train[2], test[2], predicted))
            predictions.append(pd.DataFrame({"vectors": kind, "direction": direction, "gene_id": test[0]["gene_id"],
                                             "gene_name": test[0]["gene_name"], "true_label": test[2],
                                             "predicted_label": predicted}))
    for direction, train, test in _directions(genomes, (genes_a, None, labels[0]), (genes_b, None, labels[1])):
        predicted = majority_predictions(train[2], len(test[2]))
        classification.append(_classification_row("majority", direction, spec.label, train[2], test[2], predicted))
    return PilotResult(
        ranks=pd.concat(ranks, ignore_index=True)[list(RANK_COLUMNS)],
        metrics=pd.DataFrame(metrics, columns=list(METRIC_COLUMNS)),
        classification=pd.DataFrame(classification, columns=list(CLASSIFICATION_COLUMNS)),
        predictions=pd.concat(predictions, ignore_index=True)[list(PREDICTION_COLUMNS)],
        transfers=transfers, pairs=pairs, genomes=genomes,
    )


def _indexed(pairs: pd.DataFrame, genes_a: pd.DataFrame, genes_b: pd.DataFrame, labels) -> pd.DataFrame:
    """``pairs`` with each gene's row position in its table (``index_a``/``index_b``) and label."""
    out = pairs.reset_index(drop=True).copy()
    for side, genes, label in (("a", genes_a, labels[0]), ("b", genes_b, labels[1])):
        position = pd.Series(np.arange(len(genes)), index=genes["gene_id"].to_numpy())
        if not position.index.is_unique:
            raise ConfigError(f"gene ids repeat in the genome {side} table; give one row per gene.")
        missing = sorted(set(out[f"gene_id_{side}"]) - set(position.index))
        if missing:
            raise ConfigError(f"ortholog genes {missing[:5]} are not in the genome {side} table; build the pairs "
                              f"from the same genes (orthologs.ortholog_pairs).")
        out[f"index_{side}"] = position.loc[out[f"gene_id_{side}"]].to_numpy()
        out[f"label_{side}"] = label[out[f"index_{side}"].to_numpy()]
    return out


def _rank_rows(kind: str, transfer: Transfer, pairs: pd.DataFrame, genes_a: pd.DataFrame, genes_b: pd.DataFrame,
               genomes: tuple[str, str]) -> pd.DataFrame:
    frames = []
    for side, other, direction, candidates in (("a", "b", transfer.a_to_b, genes_b), ("b", "a", transfer.b_to_a, genes_a)):
        frames.append(pd.DataFrame({
            "vectors": kind, "direction": _direction(genomes, side == "a"),
            "query_gene_id": pairs[f"gene_id_{side}"], "query_gene_name": pairs[f"gene_name_{side}"],
            "ortholog_gene_id": pairs[f"gene_id_{other}"], "ortholog_gene_name": pairs[f"gene_name_{other}"],
            "rank": direction.ranks, "n_candidates": direction.n_candidates, "cosine": direction.cosine,
            "best_gene_id": candidates["gene_id"].to_numpy()[direction.best],
            "best_gene_name": candidates["gene_name"].to_numpy()[direction.best],
        }))
    return pd.concat(frames, ignore_index=True)


def _metric_rows(kind: str, transfer: Transfer, genomes: tuple[str, str]) -> list[dict]:
    rows = []
    for forward, direction in ((True, transfer.a_to_b), (False, transfer.b_to_a)):
        for metric in METRICS:
            if metric == "auroc" and not forward:
                continue  # one AUROC over all cells: no direction
            name = f"top{transfer.top_k}" if metric == "topk" else metric
            rows.append({
                "vectors": kind, "direction": f"{genomes[0]}<->{genomes[1]}" if metric == "auroc" else
                _direction(genomes, forward), "metric": name, "value": direction.observed[metric],
                "chance": chance(metric, direction.n_candidates, transfer.top_k),
                "null_mean": float(direction.null[metric].mean()), "p_value": direction.p_values[metric],
                "n_pairs": len(direction.ranks), "n_candidates": direction.n_candidates,
                "n_permutations": transfer.n_permutations, "seed": transfer.seed,
            })
    return rows


def _direction(genomes: tuple[str, str], forward: bool) -> str:
    return f"{genomes[0]}->{genomes[1]}" if forward else f"{genomes[1]}->{genomes[0]}"


def _directions(genomes: tuple[str, str], a: tuple, b: tuple) -> list[tuple[str, tuple, tuple]]:
    """(direction, train, test) for training on a and testing on b, then the reverse."""
    return [(_direction(genomes, True), a, b), (_direction(genomes, False), b, a)]


def _classification_row(kind: str, direction: str, label: str, train_y, test_y, predicted) -> dict:
    return {"vectors": kind, "direction": direction, "label": label, **scores(test_y, predicted),
            "n_train": len(train_y), "n_test": len(test_y), "n_classes_train": len(set(train_y)),
            "n_classes_test": len(set(test_y))}
