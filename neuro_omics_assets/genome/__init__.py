"""Genome layer (no Dagster): reference FASTA, contig aliases, GTF/GFF3/BED12 gene tables, regions and
strand-aware sequence extraction. Coordinates are 0-based half-open throughout.

Modules: ``contigs`` (ContigAliases), ``fasta`` (ReferenceGenome), ``annotation`` (read_gtf,
select_genes, read_gene_list), ``gff3`` (read_gff3, read_annotation for either
format, cds_start_phases), ``bed`` (read_bed12), ``regions`` (RegionSpec,
region_intervals), ``extract`` (extract_gene_sequences), ``sequence`` (reverse_complement,
count_bases, sha256_hex, IUPAC_DNA). Import from the modules; this package re-exports nothing, so
importing ``sequence`` does not load pysam or pandas.
"""
