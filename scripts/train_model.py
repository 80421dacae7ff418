"""Snakemake adapter: train one `kind: trained` model on its datasets and write results/models/<model>/."""
import _signsearch_src  # noqa: F401  (first: this checkout's signsearch, also in conda job envs)
import sys
from pathlib import Path

sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # the per-epoch lines (tqdm.write) too

import torch

from signsearch.train.from_config import run_training

settings = snakemake.params.settings
datasets = settings["datasets"]
device = settings["device"] or ("cuda" if snakemake.resources.gpu and torch.cuda.is_available() else "cpu")
result = run_training(
    snakemake.wildcards.model,
    settings["train"],
    registries=dict(zip(datasets, snakemake.input.registries)),
    poses=dict(zip(datasets, snakemake.input.poses)),
    out_dir=Path(snakemake.output.checkpoint).parent,
    device=device,
    threads=snakemake.threads,
)
o = result.outcome
print(f"trained on {device}: kept epoch {o.best_epoch} of {len(o.history)}, validation {o.validation}", file=sys.stderr)
