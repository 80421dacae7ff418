"""Snakemake adapter: embed one shard with one model (the model loads once per job)."""
import _signsearch_src  # noqa: F401  (first: this checkout's signsearch, also in conda job envs)
import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from signsearch.embed.shard import embed_shard
from signsearch.embed.spec import model_spec

summary = embed_shard(
    snakemake.input.poses, snakemake.output[0], model_spec(snakemake.wildcards.model, snakemake.params.model),
    dataset=snakemake.wildcards.dataset, shard=snakemake.wildcards.shard, threads=snakemake.threads,
    segments=snakemake.input.get("segments"),
)
print(f"shard summary: {summary}", file=sys.stderr)
