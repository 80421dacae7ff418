"""Snakemake adapter: one pose index per dataset and its failures table (video, reason, detail)."""
import _signsearch_src  # noqa: F401  (first: this checkout's signsearch, also in conda job envs)
import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from signsearch.pose.index import collect

summary = collect(snakemake.input, snakemake.output.index, snakemake.output.failures)
print(f"dataset '{snakemake.wildcards.dataset}': {summary['ok']} posed, {summary['failed']} failed", file=sys.stderr)
