"""A gene chunk's model pass away from the Dagster process (no Dagster here; the wiring is ``defs.execution``).

``chunks`` computes one chunk from plain inputs; ``payload`` is the program a SLURM job runs through Dagster
Pipes: it computes the chunk and writes its Parquet to a staging key of the shared warehouse, and the
Dagster host publishes it and records lineage, so the catalog keeps one writer.
"""
