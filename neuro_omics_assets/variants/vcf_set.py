"""A cohort's genotypes as one VCF/BCF or several, typically one per chromosome (1000 Genomes, UK Biobank).

``vcf_paths`` turns the setting (one path, a comma-separated list, a glob, or a list of those) into
files. ``VcfSet`` opens each as a ``VcfReader`` and routes every FASTA contig to one file:

* Samples: every file's header must name the same samples in the same order (``VariantError``).
* A FASTA contig (aliases included) belongs to the file with records on it; records on one contig
  in two files raise ``VariantError``. A contig without records in any file belongs to the one file
  whose header declares it (a single VCF's contig without variants); declared by several files
  (per-chromosome files often declare every contig) or by none, no file covers it.
* A gene on a contig no file covers raises ``MissingContigError`` listing the genes, their contigs,
  the contigs covered and the files, unless ``missing_contig="reference"``: then those genes keep the
  reference sequence (every sample diploid) and the caller flags them (``reference_only``).

A set's identity for lineage (``vcf_set_identity``) is cheap: per file its name, size and the
SHA-256 of its index, which changes whenever the file is rewritten and re-indexed.
"""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal, get_args

import numpy as np

from neuro_omics_assets.checksums import file_sha256
from neuro_omics_assets.errors import ConfigError, InputFileError, MissingContigError, VariantError
from neuro_omics_assets.genome.contigs import summarize_names
from neuro_omics_assets.genome.fasta import ReferenceGenome
from neuro_omics_assets.variants.vcf import ReadCounts, VariantBlock, VcfReader

log = logging.getLogger(__name__)

MissingContig = Literal["error", "reference"]
MISSING_CONTIG_POLICIES: tuple[str, ...] = get_args(MissingContig)
INDEX_SUFFIXES = (".tbi", ".csi")
_GLOB = re.compile(r"[*?\[]")
_SHOWN = 5
_REFERENCE_PLOIDY = 2  # a contig no file covers has no calls to take the ploidy from


def vcf_paths(setting: str | Path | Sequence[str | Path]) -> tuple[Path, ...]:
    """The files of a VCF setting, in the order given (a glob's matches sorted by name).

    A string may be one path, a comma-separated list or a glob (``*``, ``?``, ``[...]``); a glob
    skips index files (``.tbi``/``.csi``). Raises ``InputFileError`` for a glob matching no file
    and ``ConfigError`` for an empty setting or a file named twice.
    """
    items = [setting] if isinstance(setting, str | Path) else list(setting)
    parts = [part.strip() for item in items for part in (item.split(",") if isinstance(item, str) else [str(item)])]
    paths: list[Path] = []
    for part in filter(None, parts):
        if not _GLOB.search(part):
            paths.append(Path(part).expanduser())
            continue
        matches = sorted(m for m in glob.glob(str(Path(part).expanduser())) if not m.endswith(INDEX_SUFFIXES))
        if not matches:
            raise InputFileError(f"VCF glob {part!r} matches no file; check the directory and the pattern "
                                 f"(e.g. /data/1kg/chr*.vcf.gz).")
        paths.extend(map(Path, matches))
    repeated = [str(p) for p, n in Counter(p.resolve() for p in paths).items() if n > 1]
    if not paths or repeated:
        raise ConfigError(f"VCF setting {setting!r} " + (f"names {repeated[:_SHOWN]} more than once" if repeated
                          else "names no file") + "; give one path, a comma-separated list or a glob, each file once.")
    return tuple(paths)


def vcf_set_identity(paths: Sequence[Path]) -> list[dict[str, object]]:
    """Per file, sorted by name: ``file`` (name), ``bytes`` and ``index_sha256`` of its .tbi/.csi
    index (both, joined by '+', when both exist). Raises ``InputFileError`` for a missing file or index."""
    identity = []
    for path in paths:
        indexes = [Path(f"{path}{suffix}") for suffix in INDEX_SUFFIXES if Path(f"{path}{suffix}").is_file()]
        if not path.is_file() or not indexes:
            raise InputFileError(f"{path} " + ("not found" if not path.is_file() else "has no .tbi/.csi index") +
                                 "; check the VCF setting, and index each file (`tabix -p vcf` or `bcftools index`).")
        identity.append({"file": path.name, "bytes": path.stat().st_size,
                         "index_sha256": "+".join(file_sha256(index) for index in indexes)})
    return sorted(identity, key=lambda row: (row["file"], row["bytes"], row["index_sha256"]))


def vcf_set_sha256(identity: Sequence[Mapping[str, object]]) -> str:
    """SHA-256 hex of a ``vcf_set_identity`` (canonical JSON): one checksum for the set."""
    return hashlib.sha256(json.dumps(list(map(dict, identity)), sort_keys=True).encode()).hexdigest()


class VcfSet:
    """Open VCF/BCF files read as one cohort; ``fetch`` reads a region from the file covering its contig.

    Raises what ``VcfReader`` raises per file, ``VariantError`` (samples differ between files, a
    contig with records in two files) and ``ConfigError`` (no files, unknown ``missing_contig``).
    ``samples`` selects and orders samples as in ``VcfReader``. Use as a context manager.
    """

    def __init__(self, paths: Sequence[str | Path], genome: ReferenceGenome, samples: Sequence[str] | None = None, *,
                 pass_only: bool = True, skip_symbolic: bool = False, missing_contig: MissingContig = "error") -> None:
        if missing_contig not in MISSING_CONTIG_POLICIES:
            raise ConfigError(f"missing_contig must be one of {', '.join(MISSING_CONTIG_POLICIES)}, "
                              f"got {missing_contig!r}.")
        if not paths:
            raise ConfigError("a VcfSet needs at least one VCF/BCF file.")
        self.paths, self.genome, self.missing_contig = tuple(map(Path, paths)), genome, missing_contig
        self.readers: list[VcfReader] = []
        try:
            for path in self.paths:
                self.readers.append(VcfReader(path, genome, samples, pass_only=pass_only, skip_symbolic=skip_symbolic))
            _check_same_samples(self.readers)
            self._owner = _assign_contigs(self.readers)
        except BaseException:
            self.close()
            raise
        self.samples: tuple[str, ...] = tuple(self.readers[0].samples)

    @property
    def covered(self) -> tuple[str, ...]:
        """FASTA names of the contigs some file covers, in FASTA order."""
        return tuple(name for name in self.genome.contigs if name in self._owner)

    def reader(self, contig: str) -> VcfReader | None:
        """The file covering ``contig`` (any alias of a FASTA contig), None if none does."""
        return self._owner.get(self.genome.resolve(contig))

    def uncovered(self, genes: Mapping[str, str]) -> list[str]:
        """The genes (label -> contig) on contigs no file covers, in input order.

        With ``missing_contig="error"`` any such gene raises one ``MissingContigError`` naming all of
        them; with ``"reference"`` they are returned (and logged as a warning) for the caller to flag.
        """
        missing = {label: self.genome.resolve(contig) for label, contig in genes.items() if self.reader(contig) is None}
        if missing and self.missing_contig == "error":
            raise MissingContigError(self._missing_message(missing))
        if missing:
            log.warning("%d genes on contigs no VCF covers (%s) keep the reference sequence (missing_contig="
                        "'reference'): %s", len(missing), summarize_names(sorted(set(missing.values()))),
                        ", ".join(list(missing)[:_SHOWN]))
        return list(missing)

    def fetch(self, contig: str, intervals: Iterable[tuple[int, int]]) -> VariantBlock:
        """``VcfReader.fetch`` on the file covering ``contig``; ``MissingContigError`` if none does."""
        reader = self.reader(contig)
        if reader is None:
            raise MissingContigError(self._missing_message({f"region on {contig}": self.genome.resolve(contig)}))
        return reader.fetch(contig, intervals)

    def reference_block(self, contig: str, intervals: Iterable[tuple[int, int]]) -> VariantBlock:
        """A block without records for a contig no file covers: every sample keeps the reference
        (diploid, ``_REFERENCE_PLOIDY``); ``path`` is None."""
        n = len(self.samples)
        spans = tuple(sorted((int(start), int(end)) for start, end in intervals))
        return VariantBlock(None, self.genome.resolve(contig), spans, self.samples, (),
                            np.zeros((0, n, 2), np.int16), np.zeros((0, n), bool),
                            np.full(n, _REFERENCE_PLOIDY, np.int8), ReadCounts())

    def close(self) -> None:
        """Close every file."""
        for reader in self.readers:
            reader.close()

    def __enter__(self) -> VcfSet:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _missing_message(self, missing: Mapping[str, str]) -> str:
        genes = ", ".join(f"{label} ({contig})" for label, contig in list(missing.items())[:_SHOWN])
        more = f" and {len(missing) - _SHOWN} more" if len(missing) > _SHOWN else ""
        covered, files = summarize_names(list(self.covered)) or "no contig", summarize_names([p.name for p in self.paths])
        return (
            f"no VCF covers the contig of {len(missing)} selected genes: {genes}{more}. The VCFs cover "
            f"{covered} (files: {files}). "
            f"Add the missing chromosomes' VCFs (a comma-separated list or a glob), drop those genes, or set "
            f"missing_contig='reference' (NEURO_OMICS_VCF_MISSING_CONTIG) to give them the reference sequence, "
            f"flagged reference_only."
        )


def _check_same_samples(readers: Sequence[VcfReader]) -> None:
    """Every file's header names the same samples in the same order as the first file's."""
    first = readers[0]
    for reader in readers[1:]:
        if reader.header_samples == first.header_samples:
            continue
        only_first = [s for s in first.header_samples if s not in set(reader.header_samples)]
        only_this = [s for s in reader.header_samples if s not in set(first.header_samples)]
        problem = (f"{len(only_first)} samples only in the first ({only_first[:_SHOWN]}), {len(only_this)} only "
                   f"in this one ({only_this[:_SHOWN]})" if only_first or only_this
                   else "the same samples in another order")
        raise VariantError(
            f"{reader.path} and {first.path} name different samples: {problem}. The files of one cohort must list "
            f"the same samples in the same order; fix it with `bcftools view -s <samples file>` on each file."
        )


def _assign_contigs(readers: Sequence[VcfReader]) -> dict[str, VcfReader]:
    """FASTA contig -> the file covering it (module docstring); records in two files raise."""
    with_records: dict[str, list[VcfReader]] = defaultdict(list)
    declared: dict[str, list[VcfReader]] = defaultdict(list)
    for reader in readers:
        for contig in reader.contigs_with_records:
            with_records[contig].append(reader)
        for contig in reader.declared_contigs:
            declared[contig].append(reader)
    shared = {contig: files for contig, files in with_records.items() if len(files) > 1}
    if shared:
        contig, files = next(iter(sorted(shared.items())))
        raise VariantError(
            f"{len(shared)} contigs have records in more than one VCF, e.g. {contig} in "
            f"{', '.join(str(r.path) for r in files)}; each contig must come from one file. Drop the duplicate file "
            f"(a whole-genome VCF given with per-chromosome ones?) or merge them (`bcftools concat`)."
        )
    owner = {contig: files[0] for contig, files in with_records.items()}
    owner.update({contig: files[0] for contig, files in declared.items() if contig not in owner and len(files) == 1})
    return owner
