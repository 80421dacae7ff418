"""The closing summary of a workflow run: what was processed, what failed and why, and where to look next."""

from __future__ import annotations

import json

import pandas as pd

from signsearch.layout import Layout


def run_summary(layout: Layout, datasets: list[str], models: list[str]) -> str:
    """A few lines per dataset, read from the run's outputs (missing outputs are simply not mentioned)."""
    lines = ["", "signsearch summary"]
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
        if grid.exists():
            lines.append(f"    evaluation grid: {grid} (figures beside it; HTML: snakemake --report {layout.html_report()})")
    if len(lines) > 2 and models:
        lines.append(f"  search: signsearch search --dataset {datasets[0]} --model {models[0]} --video YOUR_CLIP.mp4")
    return "\n".join(lines) if len(lines) > 2 else ""
