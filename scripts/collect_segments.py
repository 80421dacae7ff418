"""Snakemake adapter: one segment table per dataset from its shard tables."""
import _signsearch_src  # noqa: F401  (first: this checkout's signsearch, also in conda job envs)
import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from signsearch.segment.shard import collect_segments

rows = collect_segments(snakemake.input, snakemake.output[0])
print(f"dataset '{snakemake.wildcards.dataset}': {rows} segment rows", file=sys.stderr)
