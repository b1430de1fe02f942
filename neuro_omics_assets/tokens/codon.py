"""Do BPE token boundaries respect the codon frame? Boundary phases within CDS, per gene and pooled.

Statistical choices (also in the README):

* **Frame.** Set from the CDS start: the first complete codon starts ``phase`` bases in (the
  annotation's phase of the 5'-most CDS part, 0 for a complete CDS). The coding window holds
  ``n = (L - phase) // 3`` whole codons; an incomplete last codon (mitochondrial stops completed by
  polyadenylation, e.g. MT-ND1's ``TA``) is dropped.
* **Boundary phase.** A boundary between two tokens at CDS offset ``p`` (strictly inside the coding
  window) has phase ``(p - phase) % 3``: 0 falls between codons, 1 after a codon's first base,
  2 after its second.
* **Tests.** Against the uniform expectation (1/3 each): Pearson's chi-square goodness of fit
  (2 df, ``scipy.stats.chisquare``), and a **token-shuffle null**: the CDS's tokens are put in a
  random order ``n_shuffles`` times (same token lengths, so same number of boundaries), which keeps
  what the vocabulary's length distribution alone would give; ``shuffle_p`` = (1 + #{shuffle
  chi-square >= observed}) / (1 + n_shuffles), and the 2.5-97.5 % shuffle quantiles of each phase
  share are the null band. Pooled: counts summed over genes, shuffle counts summed shuffle by shuffle.
* **Genetic code** per contig: NCBI table 2 (vertebrate mitochondrial) for ``chrM``/``MT``/``M``,
  table 1 elsewhere (``Bio.Data.CodonTable``); used for the start codon check and stop counts.
* **Codon-splitting tokens.** A token in the coding window splits a codon when its start or its
  end falls inside a codon (phase 1 or 2); tokens of 4 bases or more always span a codon boundary,
  so "splitting" (not spanning) is what is counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

MITOCHONDRIAL_CONTIGS = frozenset({"chrM", "MT", "M", "chrMT"})
# 200 shuffles: shuffle p resolves to 1/201 and the 95 % band is stable to about a percentage point.
DEFAULT_SHUFFLES = 200


def genetic_code(contig: str) -> int:
    """NCBI translation table of ``contig``: 2 (vertebrate mitochondrial) for chrM/MT/M, else 1."""
    return 2 if contig in MITOCHONDRIAL_CONTIGS else 1


@dataclass(frozen=True)
class CodingFrame:
    """The coding window of one CDS: ``phase`` bases skipped, ``n_codons`` whole codons, ``dropped`` tail bases."""

    phase: int
    n_codons: int
    dropped: int

    @classmethod
    def of(cls, cds_length: int, phase: int) -> CodingFrame:
        codons, dropped = divmod(max(cds_length - phase, 0), 3)
        return cls(phase, codons, dropped)

    @property
    def end(self) -> int:
        return self.phase + 3 * self.n_codons


def boundary_phase_counts(token_lengths: np.ndarray, frame: CodingFrame) -> np.ndarray:
    """``int64 (3,)`` token boundaries strictly inside the coding window, by codon phase.

    ``token_lengths``: ``int (n_tokens,)`` bases per token in CDS order (they sum to the CDS length).
    """
    boundaries = np.cumsum(token_lengths)[:-1]
    inside = boundaries[(boundaries > frame.phase) & (boundaries < frame.end)]
    return np.bincount((inside - frame.phase) % 3, minlength=3).astype(np.int64)


def splitting_tokens(token_ids: np.ndarray, token_lengths: np.ndarray, frame: CodingFrame) -> pd.DataFrame:
    """Per token occurrence inside the coding window: ``token_id``, ``start_phase``, ``end_phase``, ``splits``."""
    ends = np.cumsum(token_lengths)
    starts = ends - token_lengths
    keep = (starts >= frame.phase) & (ends <= frame.end)
    start_phase = (starts[keep] - frame.phase) % 3
    end_phase = (ends[keep] - frame.phase) % 3
    return pd.DataFrame({
        "token_id": token_ids[keep],
        "start_phase": start_phase,
        "end_phase": end_phase,
        "splits": (start_phase != 0) | (end_phase != 0),
    })


def shuffled_counts(token_lengths: np.ndarray, frame: CodingFrame, n_shuffles: int, rng: np.random.Generator) -> np.ndarray:
    """``int64 (n_shuffles, 3)`` boundary phase counts after shuffling the order of the tokens."""
    counts = [boundary_phase_counts(rng.permutation(token_lengths), frame) for _ in range(n_shuffles)]
    return np.stack(counts) if counts else np.zeros((0, 3), dtype=np.int64)


def phase_statistics(observed: np.ndarray, null: np.ndarray) -> dict[str, float | int]:
    """Phase counts, shares, null band, chi-square vs uniform and the shuffle p of one gene or the pool.

    ``observed``: ``int (3,)``; ``null``: ``int (n_shuffles, 3)``.
    """
    total = int(observed.sum())
    out: dict[str, float | int] = {"n_boundaries": total}
    shares = observed / total if total else np.full(3, np.nan)
    null_shares = null / np.maximum(null.sum(axis=1, keepdims=True), 1)
    for phase in range(3):
        out[f"phase{phase}"] = int(observed[phase])
        out[f"share{phase}"] = float(shares[phase])
        low, high = np.quantile(null_shares[:, phase], [0.025, 0.975]) if len(null) else (np.nan, np.nan)
        out[f"null_low{phase}"], out[f"null_high{phase}"] = float(low), float(high)
    chi2, p = (stats.chisquare(observed) if total else (np.nan, np.nan))
    out["chi2"], out["chi2_p"] = float(chi2), float(p)
    null_chi2 = np.array([stats.chisquare(row).statistic if row.sum() else 0.0 for row in null])
    out["shuffle_p"] = float((1 + np.sum(null_chi2 >= chi2)) / (1 + len(null))) if total else float("nan")
    return out


def codon_check(cds: str, frame: CodingFrame, table_id: int) -> dict[str, object]:
    """Start codon, its validity, internal and terminal stops of the coding window under ``table_id``."""
    from Bio.Data.CodonTable import unambiguous_dna_by_id

    table = unambiguous_dna_by_id[table_id]
    codons = [cds[i : i + 3] for i in range(frame.phase, frame.end, 3)]
    stops = [codon in table.stop_codons for codon in codons]
    return {
        "start_codon": codons[0] if codons else None,
        "start_valid": bool(codons) and frame.phase == 0 and codons[0] in table.start_codons,
        "internal_stops": int(sum(stops[:-1])),
        "terminal_stop": bool(stops and stops[-1]),
    }


GENE_FRAME_COLUMNS = (
    "scope", "gene_id", "gene_name", "transcript_id", "contig", "genetic_code", "cds_phase", "cds_length", "n_codons",
    "dropped_bases", "start_codon", "start_valid", "internal_stops", "terminal_stop", "n_boundaries",
    "phase0", "phase1", "phase2", "share0", "share1", "share2", "null_low0", "null_high0", "null_low1", "null_high1",
    "null_low2", "null_high2", "chi2", "chi2_p", "shuffle_p",
)
SPLIT_COLUMNS = ("token_id", "token", "length", "occurrences", "splitting", "split_fraction", "starts_phase0",
                 "starts_phase1", "starts_phase2")


def codon_frame_tables(
    cds_rows: pd.DataFrame, strings: np.ndarray, lengths: np.ndarray, n_shuffles: int = DEFAULT_SHUFFLES, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(per gene + pooled frame table, codon-splitting tokens)`` of the tokenized CDS rows.

    ``cds_rows``: one row per gene with ``gene_id``, ``gene_name``, ``transcript_id``, ``contig``,
    ``cds_phase`` and ``token_ids`` (``tokenize_regions`` output, class ``cds``); ``strings``/``lengths``:
    ``(V,)`` token strings (``[UNK]`` read as ``N``) and bases per token id. Shuffles draw from
    ``numpy.random.default_rng(seed)`` gene by gene, in table order.
    """
    rng = np.random.default_rng(seed)
    genes, occurrences = [], []
    pooled_observed, pooled_null = np.zeros(3, np.int64), np.zeros((n_shuffles, 3), np.int64)
    for row in cds_rows.itertuples(index=False):
        ids = np.asarray(row.token_ids, dtype=np.int64)
        token_lengths = lengths[ids]
        frame = CodingFrame.of(int(token_lengths.sum()), int(row.cds_phase))
        observed = boundary_phase_counts(token_lengths, frame)
        null = shuffled_counts(token_lengths, frame, n_shuffles, rng)
        pooled_observed += observed
        pooled_null += null
        code = genetic_code(row.contig)
        genes.append({
            "scope": "gene", "gene_id": row.gene_id, "gene_name": row.gene_name, "transcript_id": row.transcript_id,
            "contig": row.contig, "genetic_code": code, "cds_phase": frame.phase, "cds_length": int(token_lengths.sum()),
            "n_codons": frame.n_codons, "dropped_bases": frame.dropped,
            **codon_check("".join(strings[ids]), frame, code), **phase_statistics(observed, null),
        })
        occurrences.append(splitting_tokens(ids, token_lengths, frame))
    pooled = {"scope": "pooled", "gene_id": None, "gene_name": None, "transcript_id": None, "contig": None,
              "genetic_code": None, "cds_phase": None, "cds_length": sum(g["cds_length"] for g in genes),
              "n_codons": sum(g["n_codons"] for g in genes), "dropped_bases": sum(g["dropped_bases"] for g in genes),
              "start_codon": None, "start_valid": None, "internal_stops": sum(g["internal_stops"] for g in genes),
              "terminal_stop": None, **phase_statistics(pooled_observed, pooled_null)}
    frame_table = pd.DataFrame([*genes, pooled], columns=list(GENE_FRAME_COLUMNS))
    return frame_table, _split_table(occurrences, strings, lengths)


def _split_table(occurrences: list[pd.DataFrame], strings: np.ndarray, lengths: np.ndarray) -> pd.DataFrame:
    """Per token: occurrences in coding windows, how many split a codon, and the phase each starts at."""
    if not occurrences or not sum(len(o) for o in occurrences):
        return pd.DataFrame(columns=list(SPLIT_COLUMNS))
    every = pd.concat(occurrences, ignore_index=True)
    grouped = every.groupby("token_id")
    table = pd.DataFrame({"occurrences": grouped.size(), "splitting": grouped["splits"].sum()})
    starts = pd.crosstab(every["token_id"], every["start_phase"]).reindex(columns=range(3), fill_value=0)
    for phase in range(3):
        table[f"starts_phase{phase}"] = starts[phase]
    table = table.reset_index()
    table["token"] = strings[table["token_id"].to_numpy()]
    table["length"] = lengths[table["token_id"].to_numpy()]
    table["split_fraction"] = table["splitting"] / table["occurrences"]
    table = table.sort_values(["splitting", "token_id"], ascending=[False, True], kind="stable")
    return table.loc[:, list(SPLIT_COLUMNS)].reset_index(drop=True)
