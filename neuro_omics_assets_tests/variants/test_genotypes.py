"""GT strings read from a record's text: the numpy byte path against the regular-expression path."""

from __future__ import annotations

import numpy as np
import pytest

from neuro_omics_assets.variants.genotypes import _FIRST_SUBFIELD, gt_codes

FIXED = "chr1\t10\t.\tA\tG\t.\tPASS\t.\tGT:DP"


class _Record:
    """Stands in for a pysam record: only ``str()`` is read."""

    def __init__(self, calls: list[str]) -> None:
        self.text = FIXED + "\t" + "\t".join(calls) + "\n"

    def __str__(self) -> str:
        return self.text


def _by_regex(calls: list[str], order: np.ndarray) -> list[str]:
    return [_FIRST_SUBFIELD.findall("\t".join(calls))[i] for i in order]


@pytest.mark.parametrize("calls", [
    ["0|1:12", "1|1:3", "0|0", "./.:0", "1", "0", ".", "0/1:7"],  # diploid, haploid, missing: the byte path
    ["0|1", "10|2:5", "0|0"],  # a two-digit allele: the regular-expression path
    ["|0|1", "0|0"],  # VCF 4.4 leading phase mark (4 characters)
    [":5", "0|1"],  # an empty GT subfield
])
def test_gt_strings_per_sample_follow_the_requested_order(calls):
    order = np.arange(len(calls))[::-1]
    codes, distinct = gt_codes(_Record(calls), order)
    assert [distinct[c] for c in codes] == _by_regex(calls, order)
    assert len(distinct) == len(set(distinct))


def test_many_samples_read_without_per_sample_objects():
    rng = np.random.default_rng(0)
    calls = rng.choice(["0|0", "0|1", "1|0", "1|1", "./."], size=20_000).tolist()
    codes, distinct = gt_codes(_Record(calls), np.arange(len(calls)))
    assert sorted(distinct) == sorted(set(calls))
    assert [distinct[c] for c in codes[:50]] == calls[:50]
