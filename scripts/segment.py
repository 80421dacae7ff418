"""Snakemake adapter: segment (or trim) the posed videos of one shard into its segment table."""
import _signsearch_src  # noqa: F401  (first: this checkout's signsearch, also in conda job envs)
import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from signsearch.segment.shard import segment_shard

p = snakemake.params.segment
summary = segment_shard(snakemake.input.poses, snakemake.output[0], method=p["method"], trim=p["trim"],
                        settings={**p["settings"], "threads": snakemake.threads})
print(f"shard summary: {summary}", file=sys.stderr)
