"""Snakemake adapter: embed one shard with one model (the model loads once per job)."""
import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from signsearch.embed.shard import embed_shard

summary = embed_shard(
    snakemake.input[0], snakemake.output[0], snakemake.wildcards.model, snakemake.params.model, threads=snakemake.threads
)
print(f"shard summary: {summary}", file=sys.stderr)
