"""Partitions: a fixed number of gene chunks (DESIGN.md, "Partitions = gene chunks")."""

from __future__ import annotations

import os

import dagster as dg

from ..genome.chunks import DEFAULT_N_CHUNKS, chunk_key

# Changing the number of chunks re-partitions every per-gene asset: set it once per deployment.
N_CHUNKS = int(os.environ.get("NEURO_OMICS_GENE_CHUNKS", DEFAULT_N_CHUNKS))

gene_chunks = dg.StaticPartitionsDefinition([chunk_key(i) for i in range(N_CHUNKS)])
