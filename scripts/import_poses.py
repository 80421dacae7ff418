"""Snakemake adapter: check and index the existing .pose files of one shard."""
import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from signsearch.datasets.pose_files import index_shard

summary = index_shard(snakemake.input.table, snakemake.output[0])
print(f"shard summary: {summary}", file=sys.stderr)
