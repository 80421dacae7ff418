"""Snakemake adapter: gather a dataset's per-video vectors of one model into its Parquet manifest."""
import _signsearch_src  # noqa: F401  (first: this checkout's signsearch, also in conda job envs)
import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from signsearch.embed.shard import write_manifest

rows = write_manifest(
    snakemake.input.registry,
    snakemake.input.embeddings,
    snakemake.output[0],
    dataset=snakemake.wildcards.dataset,
    model=snakemake.wildcards.model,
)
print(f"manifest: {rows} rows", file=sys.stderr)
