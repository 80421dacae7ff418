"""Snakemake adapter: one continuous-search protocol for one model (segments of long videos, isolated queries)."""
import _signsearch_src  # noqa: F401  (first: this checkout's signsearch, also in conda job envs)
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

from signsearch.evaluate.continuous import run_protocol

metrics = run_protocol(
    protocol=snakemake.wildcards.protocol,
    settings=snakemake.params.settings,
    model=snakemake.wildcards.model,
    segments_manifest=snakemake.input.segments,
    queries_manifest=snakemake.input.queries,
    truth_path=snakemake.input.truth,
    metric=snakemake.params.metric,
    outputs=dict(snakemake.output.items()),
)
print(metrics)
