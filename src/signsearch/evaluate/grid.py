"""The grid: evaluated cells (`signsearch.evaluate.cell`) of one dataset aggregated into its table and figures.

`aggregate_grid` writes the files of `signsearch.layout.REPORT_FILES`: ``grid.tsv`` (one row per model, subset
and variant: metric columns, ``<metric>_chance`` columns, flagged, counts), ``grid_heatmap.png``,
``metric_bars.png`` and ``top_confusions.png``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from signsearch.atomic import write_text
from signsearch.evaluate import figures
from signsearch.evaluate.cell import tsv_text
from signsearch.layout import CELL_FILES, files_in

CELL_COLUMNS = ("dataset", "model", "subset", "k", "metric", "backend", "flagged", "videos", "glosses", "missing_videos")


def aggregate_grid(
    cell_dirs: Sequence[str | os.PathLike[str]],
    outputs: Mapping[str, str | os.PathLike[str]],
    *,
    heatmap_metric: str | None = None,
) -> pd.DataFrame:
    """Collect cells into the grid table and draw the three figures (module docstring); return the grid table."""
    records, confusions = [], []
    for cell in cell_dirs:
        files = files_in(Path(cell), CELL_FILES)
        info = json.loads(files["metrics"].read_text())
        for variant, v in info["variants"].items():
            row = {key: info[key] for key in CELL_COLUMNS}
            row["variant"] = variant
            row |= {name: v["metrics"][name] for name in v["metrics"]}
            row |= {f"{name}_chance": v["chance"][name] for name in v["chance"]}
            row |= {"evaluated_queries": v["counts"]["evaluated_queries"], "excluded_queries": v["counts"]["excluded_queries"]}
            records.append(row)
        conf = pd.read_csv(files["confusions"], sep="\t", keep_default_na=False, dtype={"gloss_a": str, "gloss_b": str})
        confusions.append(conf.assign(model=info["model"], subset=info["subset"]))
    grid = pd.DataFrame.from_records(records).astype({"flagged": bool}) if records else pd.DataFrame()
    write_text(outputs["table"], tsv_text(grid))
    if grid.empty:
        figures.placeholder(outputs["heatmap"], "no evaluation cells")
        figures.placeholder(outputs["bars"], "no evaluation cells")
    else:
        k = int(grid["k"].iloc[0])
        figures.grid_heatmap(grid, heatmap_metric or f"p_at_{k}", outputs["heatmap"])
        figures.metric_bars(grid, outputs["bars"])
    figures.confusion_bars(pd.concat(confusions) if confusions else pd.DataFrame(), outputs["confusions"])
    return grid


def write_grid(metrics_files: Sequence[str], outputs: Mapping[str, str], *, dataset: str) -> pd.DataFrame:
    """The grid job: aggregate the evaluated cells of a dataset (skipped ones are listed in the log)."""
    cells = []
    for path in metrics_files:
        info = json.loads(Path(path).read_text())
        if "skipped" in info:
            print(f"cell {dataset}/{info['model']}/{info['subset']} skipped: {info['skipped']}")
        else:
            cells.append(Path(path).parent)
    return aggregate_grid(cells, outputs)
