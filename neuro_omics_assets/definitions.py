"""The one Definitions object of the ``neuro_omics_assets`` code location."""

from neuro_omics_assets.defs import build_definitions

defs = build_definitions()
