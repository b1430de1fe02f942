"""neuro-omics-assets."""
