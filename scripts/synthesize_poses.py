"""Snakemake adapter: generate the synthetic demo poses of one shard."""
import _signsearch_src  # noqa: F401  (first: this checkout's signsearch, also in conda job envs)
import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from signsearch.pose.index import synthesize_shard

summary = synthesize_shard(snakemake.input.table, snakemake.output[0], snakemake.params.synthetic)
print(f"shard summary: {summary}", file=sys.stderr)
