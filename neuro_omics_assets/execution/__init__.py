"""Where a gene chunk's model pass runs: in the Dagster process (the default) or as a SLURM job.

``chunks`` computes one chunk from plain inputs (no Dagster); ``payload`` is the entry point a SLURM job
runs through Dagster Pipes; ``resource`` is the ``ChunkExecutionResource`` whose ``run_chunk`` submits
one chunk's job; ``assets`` is the SLURM path of the model-running assets (``materialize_on_slurm``) and
the backfill policy and pool they take in each mode. The job writes the chunk's Parquet to a staging key of the shared warehouse;
the Dagster host publishes it and records lineage, so the catalog keeps one writer.
"""
