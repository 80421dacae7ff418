"""The closing summary of a workflow run: what was processed, what failed and why, and where to look next."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from signsearch.evaluate.skipped import read_skipped
from signsearch.layout import Layout


def run_summary(layout: Layout, datasets: list[str], models: list[str], configfiles: Sequence[str] = ()) -> str:
    """A few lines per dataset, read from the run's outputs (missing outputs are simply not mentioned).
    `configfiles` (the run's --configfile list) go into the commands it suggests, so they read the same config."""
    lines = ["", "signsearch summary"]
    given = [_shown(f) for f in configfiles]
    snakemake_args = "".join(f" --configfile {f}" for f in given[:1]) + "".join(f" {f}" for f in given[1:])
    signsearch_args = "".join(f" --config {f}" for f in given)
    for name in datasets:
        index = layout.poses(name)
        if not index.exists():
            continue
        poses = pd.read_parquet(index, columns=["status", "reason"])
        failed = poses[poses["status"] != "ok"]
        record_path = layout.dataset_record(name)
        record = json.loads(record_path.read_text()) if record_path.exists() else {}
        label = " (SYNTHETIC demo data)" if record.get("synthetic") else ""
        lines.append(f"  dataset '{name}'{label}: {len(poses)} videos, {len(poses) - len(failed)} posed, {len(failed)} failed")
        if len(failed):
            reasons = ", ".join(f"{reason}: {count}" for reason, count in failed["reason"].value_counts().items())
            lines.append(f"    failures ({reasons}) are listed in {layout.failures(name)}")
        for model in models:
            receipt = layout.db_receipt(name, model)
            if receipt.exists():
                info = json.loads(receipt.read_text())
                lines.append(f"    {model}: {info['rows']} vectors in the database "
                             f"(+{info['inserted']} new, {info['updated']} updated, -{info['deleted']} removed)")
        grid = layout.report(name)["table"]
        if grid.exists() and len(grid.read_text().splitlines()) > 1:  # a header and at least one cell
            lines.append(f"    evaluation grid: {grid} (figures beside it; HTML: snakemake{snakemake_args} --report {layout.html_report()})")
        elif grid.exists():
            lines.append("    evaluation grid: no cell could be evaluated (the reasons follow)")
        skipped = read_skipped(layout.report(name)["skipped"])
        for (subset, reason), cells in skipped.groupby(["subset", "reason"], sort=False):
            reason = reason.removeprefix(f"subset '{subset}': ")  # SubsetError messages start with the name
            lines.append(f"    not evaluated: subset '{subset}' x {', '.join(cells['model'])}: {reason}")
    if len(lines) > 2 and models:
        lines.append(f"  search: signsearch{signsearch_args} search --dataset {datasets[0]} --model {models[0]} --video YOUR_CLIP.mp4")
    return "\n".join(lines) if len(lines) > 2 else ""


def _shown(path: str | os.PathLike[str]) -> str:
    """A config file as the user would type it: relative to the working directory when it is below it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
