"""Snakemake adapter: the continuous-search table of one segmented dataset (every protocol x model)."""
import _signsearch_src  # noqa: F401  (first: this checkout's signsearch, also in conda job envs)
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

from signsearch.evaluate.continuous import continuous_table

print(continuous_table(list(snakemake.input), snakemake.output[0]).to_string())
