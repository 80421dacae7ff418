"""Snakemake adapter: check and index the existing .pose files of one shard."""
import _signsearch_src  # noqa: F401  (first: this checkout's signsearch, also in conda job envs)
import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from signsearch.pose.index import index_shard

summary = index_shard(snakemake.input.table, snakemake.output[0])
print(f"shard summary: {summary}", file=sys.stderr)
