"""Snakemake adapter: evaluate one grid cell (dataset x model x subset)."""
import _signsearch_src  # noqa: F401  (first: this checkout's signsearch, also in conda job envs)
import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from signsearch.embed.spec import model_spec
from signsearch.evaluate.cell import run_cell

run_cell(
    manifest_path=snakemake.input.manifest,
    subset_path=snakemake.input.subset,
    registry_path=snakemake.input.registry,
    outputs=dict(snakemake.output.items()),
    spec=model_spec(snakemake.wildcards.model, snakemake.params.model),
    dataset=snakemake.wildcards.dataset,
    settings=snakemake.params.evaluate,
    data_dir=snakemake.params.data_dir,
    cache_path=snakemake.params.cache,
)
