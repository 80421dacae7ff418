"""Snakemake adapter: the models x subsets grid table and its figures for one dataset."""
import _signsearch_src  # noqa: F401  (first: this checkout's signsearch, also in conda job envs)
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

from signsearch.evaluate.grid import write_grid

write_grid(snakemake.input, dict(snakemake.output.items()), dataset=snakemake.wildcards.dataset)
