"""neuro-omics-assets: DNA-foundation-model gene embeddings per subject, as Dagster assets."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("neuro-omics-assets")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
