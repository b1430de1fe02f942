from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from neuro_omics_assets.cohort.matrix import build_subject_gene_tensor, combine_haplotypes, subject_matrix
from neuro_omics_assets.errors import ConfigError

# four unique sequences, H = 3
VECTORS = {
    "h1": np.array([1.0, 2.0, 3.0], dtype=np.float32),
    "h2": np.array([3.0, 4.0, 5.0], dtype=np.float32),
    "h3": np.array([0.0, 0.0, 8.0], dtype=np.float32),
    "h4": np.array([-1.0, 1.0, 0.5], dtype=np.float32),
}
# two diploid subjects, two genes; S1 carries h1/h2 at GENE_A, S2 is homozygous h1 there
ASSIGNMENTS = pd.DataFrame(
    [
        ("S1", "GENE_A", 0, "h1"),
        ("S1", "GENE_A", 1, "h2"),
        ("S1", "GENE_B", 0, "h3"),
        ("S1", "GENE_B", 1, "h3"),
        ("S2", "GENE_A", 0, "h1"),
        ("S2", "GENE_A", 1, "h1"),
        ("S2", "GENE_B", 0, "h4"),
        ("S2", "GENE_B", 1, "h3"),
        ("S3", "GENE_A", 0, "h4"),  # a subject not requested: ignored
    ],
    columns=["subject_id", "gene_id", "haplotype", "sha256"],
)


def test_subject_tensor_averages_the_two_haplotypes():
    tensor = build_subject_gene_tensor(ASSIGNMENTS, VECTORS, ["S1", "S2"], ["GENE_A", "GENE_B"])
    assert tensor.dtype == np.float32 and tensor.shape == (2, 2, 3)
    np.testing.assert_array_equal(tensor[0, 0], [2.0, 3.0, 4.0])
    np.testing.assert_array_equal(tensor[0, 1], [0.0, 0.0, 8.0])
    np.testing.assert_array_equal(tensor[1, 0], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(tensor[1, 1], [-0.5, 0.5, 4.25])


def test_subject_tensor_follows_the_requested_order_not_the_table_order():
    shuffled = ASSIGNMENTS.sample(frac=1.0, random_state=3)
    tensor = build_subject_gene_tensor(shuffled, VECTORS, ["S2", "S1"], ["GENE_B", "GENE_A"])
    reference = build_subject_gene_tensor(ASSIGNMENTS, VECTORS, ["S1", "S2"], ["GENE_A", "GENE_B"])
    np.testing.assert_array_equal(tensor, reference[::-1, ::-1])


def test_subject_tensor_sum_adds_the_haplotypes():
    tensor = build_subject_gene_tensor(
        ASSIGNMENTS, VECTORS, ["S1", "S2"], ["GENE_A", "GENE_B"], combine="sum"
    )
    np.testing.assert_array_equal(tensor[0, 0], [4.0, 6.0, 8.0])
    np.testing.assert_array_equal(tensor[1, 1], [-1.0, 1.0, 8.5])


def test_subject_tensor_matches_combine_haplotypes_on_random_data():
    rng = np.random.default_rng(0)
    per_haplotype = rng.normal(size=(5, 4, 2, 6)).astype(np.float32)
    vectors, rows = {}, []
    for s in range(5):
        for g in range(4):
            for h in range(2):
                key = f"{s}-{g}-{h}"
                vectors[key] = per_haplotype[s, g, h]
                rows.append((f"S{s}", f"G{g}", h, key))
    table = pd.DataFrame(rows, columns=["subject_id", "gene_id", "haplotype", "sha256"])
    subjects, genes = [f"S{s}" for s in range(5)], [f"G{g}" for g in range(4)]
    for how in ("mean", "sum"):
        tensor = build_subject_gene_tensor(table, vectors, subjects, genes, combine=how)
        np.testing.assert_array_equal(tensor, combine_haplotypes(per_haplotype, how))


def test_a_subject_lacking_a_gene_is_named():
    table = ASSIGNMENTS[~((ASSIGNMENTS.subject_id == "S2") & (ASSIGNMENTS.gene_id == "GENE_B"))]
    with pytest.raises(ConfigError, match=r"1 \(subject, gene\) pairs have no haplotype .*first: S2/GENE_B"):
        build_subject_gene_tensor(table, VECTORS, ["S1", "S2"], ["GENE_A", "GENE_B"])


def test_a_hash_without_a_vector_is_named():
    vectors = {k: v for k, v in VECTORS.items() if k != "h4"}
    with pytest.raises(ConfigError, match="1 sequence hashes .* no embedding vector .*first: h4"):
        build_subject_gene_tensor(ASSIGNMENTS, vectors, ["S1", "S2"], ["GENE_A", "GENE_B"])


def test_a_repeated_haplotype_row_is_rejected():
    table = pd.concat([ASSIGNMENTS, ASSIGNMENTS.iloc[[0]]])
    with pytest.raises(ConfigError, match="subject S1, gene GENE_A, haplotype 0 more than once"):
        build_subject_gene_tensor(table, VECTORS, ["S1", "S2"], ["GENE_A", "GENE_B"])


def test_mixed_ploidy_averages_what_is_present_but_cannot_be_summed():
    # S2 hemizygous at GENE_B (e.g. chrX in a male)
    table = ASSIGNMENTS.drop(index=7)
    tensor = build_subject_gene_tensor(table, VECTORS, ["S1", "S2"], ["GENE_A", "GENE_B"])
    np.testing.assert_array_equal(tensor[1, 1], VECTORS["h4"])
    with pytest.raises(ConfigError, match="same number of haplotypes .* got 1 to 2"):
        build_subject_gene_tensor(table, VECTORS, ["S1", "S2"], ["GENE_A", "GENE_B"], combine="sum")


def test_combine_haplotypes_mean_and_sum():
    per_haplotype = np.array([[[[1.0, 2.0], [3.0, 6.0]]]], dtype=np.float32)  # (1, 1, 2, 2)
    np.testing.assert_array_equal(combine_haplotypes(per_haplotype), [[[2.0, 4.0]]])
    np.testing.assert_array_equal(combine_haplotypes(per_haplotype, "sum"), [[[4.0, 8.0]]])
    with pytest.raises(ConfigError, match="'max' is not supported"):
        combine_haplotypes(per_haplotype, "max")


def test_subject_matrix_concatenates_genes_in_order():
    gene_vectors = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    matrix = subject_matrix(gene_vectors)
    assert matrix.shape == (2, 12) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix[1, 4:8], gene_vectors[1, 1])
    np.testing.assert_array_equal(matrix[0, 8:], gene_vectors[0, 2])
    with pytest.raises(ConfigError, match=r"\(subjects, genes, H\)"):
        subject_matrix(matrix)
