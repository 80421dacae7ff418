"""Snakemake adapter: one pose index per dataset and its failures table (video, reason, detail)."""
import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from signsearch.datasets.pose_files import collect

summary = collect(snakemake.input, snakemake.output.index, snakemake.output.failures)
print(f"dataset '{snakemake.wildcards.dataset}': {summary['ok']} posed, {summary['failed']} failed", file=sys.stderr)
