"""Put this checkout's `src/` first on sys.path, so a job imports the workflow's own `signsearch` in any environment.

Conda job environments (`--sdm conda`, envs/*.yaml) do not install the package: Snakemake copies the env files to
.snakemake/conda/ before creating them, so no relative path in them can name the checkout. Snakemake puts a local
script's folder on sys.path, and every script here imports this module first; Slurm jobs run the same scripts
from the same checkout.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
