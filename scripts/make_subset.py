"""Snakemake adapter: materialise one evaluation subset as a file of video ids (seed and spec in its header)."""
import _signsearch_src  # noqa: F401  (first: this checkout's signsearch, also in conda job envs)
import sys

sys.stderr = open(snakemake.log[0], "w", buffering=1)

from signsearch.evaluate.materialise import materialise_subset

note = materialise_subset(
    snakemake.input.registry, snakemake.input.poses, snakemake.params.spec, snakemake.wildcards.subset,
    snakemake.output[0], scale_down=snakemake.params.scale_down,
)
print(note, file=sys.stderr)
