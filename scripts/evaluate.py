"""Snakemake adapter: evaluate one grid cell (dataset x model x subset)."""
import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from signsearch.evaluate.stage import run_cell

run_cell(
    manifest_path=snakemake.input.manifest,
    subset_path=snakemake.input.subset,
    registry_path=snakemake.input.registry,
    outputs=dict(snakemake.output.items()),
    model=snakemake.wildcards.model,
    model_cfg=snakemake.params.model,
    dataset=snakemake.wildcards.dataset,
    settings=snakemake.params.evaluate,
    data_dir=snakemake.params.data_dir,
)
