"""Snakemake adapter: browser-playable previews of the videos of one shard, and the shard's preview index."""
import _signsearch_src  # noqa: F401  (first: this checkout's signsearch, also in conda job envs)
import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from signsearch.media.shard import process_shard

summary = process_shard(snakemake.input.table, snakemake.params.folder, snakemake.output[0])
print(f"shard summary: {summary}", file=sys.stderr)
