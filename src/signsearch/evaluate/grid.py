"""The grid: evaluated cells (`signsearch.evaluate.cell`) of one dataset aggregated into its table and figures.

`aggregate_grid` writes the files of `signsearch.layout.REPORT_FILES`: ``grid.tsv`` (one row per model, subset
and variant: metric columns, ``<metric>_chance`` and ``<metric>_best`` columns, flagged, counts),
``grid_heatmap.png``, ``metric_bars.png`` and ``top_confusions.png``; `write_grid` also writes ``skipped.tsv``.
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
from signsearch.evaluate.skipped import skipped_table
from signsearch.layout import CELL_FILES, files_in

METRIC_PREFIXES = ("p_at_", "r_at_", "map_at_", "mrr_at_")
CELL_COLUMNS = ("dataset", "model", "subset", "k", "metric", "backend", "flagged", "videos", "glosses", "missing_videos")


def aggregate_grid(
    cell_dirs: Sequence[str | os.PathLike[str]],
    outputs: Mapping[str, str | os.PathLike[str]],
    *,
    heatmap_metric: str | None = None,
    empty_reason: str = "no evaluation cells",
) -> pd.DataFrame:
    """Collect cells into the grid table and draw the three figures (module docstring); return the grid table.
    Without cells, grid.tsv keeps its header and the figures say `empty_reason`."""
    records, confusions = [], []
    for cell in cell_dirs:
        files = files_in(Path(cell), CELL_FILES)
        info = json.loads(files["metrics"].read_text())
        for variant, v in info["variants"].items():
            row = {key: info[key] for key in CELL_COLUMNS}
            row["variant"] = variant
            row |= {name: v["metrics"][name] for name in v["metrics"]}
            row |= {f"{name}_chance": v["chance"][name] for name in v["chance"]}
            row |= {f"{name}_best": v["best"][name] for name in v.get("best", {})}  # a perfect ranking's value
            row |= {"evaluated_queries": v["counts"]["evaluated_queries"], "excluded_queries": v["counts"]["excluded_queries"]}
            row["note"] = empty_note(v["counts"])
            records.append(row)
        conf = pd.read_csv(files["confusions"], sep="\t", keep_default_na=False, dtype={"gloss_a": str, "gloss_b": str})
        confusions.append(conf.assign(model=info["model"], subset=info["subset"]))
    grid = (pd.DataFrame.from_records(records).astype({"flagged": bool}) if records
            else pd.DataFrame(columns=[*CELL_COLUMNS, "variant", "evaluated_queries", "excluded_queries", "note"]))
    # A cell with no evaluated query has null metrics: NaN, so tables and figures show it as n/a with its note.
    numeric = [c for c in grid.columns if c.startswith(METRIC_PREFIXES) or c == "median_first_rank"]
    grid[numeric] = grid[numeric].apply(pd.to_numeric, errors="coerce")
    write_text(outputs["table"], tsv_text(grid))
    if grid.empty:
        figures.placeholder(outputs["heatmap"], empty_reason)
        figures.placeholder(outputs["bars"], empty_reason)
    else:
        k = int(grid["k"].iloc[0])
        figures.grid_heatmap(grid, heatmap_metric or f"p_at_{k}", outputs["heatmap"])
        figures.metric_bars(grid, outputs["bars"])
    figures.confusion_bars(pd.concat(confusions) if confusions else pd.DataFrame(), outputs["confusions"])
    return grid


def write_grid(metrics_files: Sequence[str], outputs: Mapping[str, str], *, dataset: str) -> pd.DataFrame:
    """The grid job: aggregate the evaluated cells of a dataset; the skipped ones, with their reasons, go to the
    log and to ``skipped.tsv`` (shown in the report and the run's summary)."""
    cells, skipped = [], []
    for path in metrics_files:
        info = json.loads(Path(path).read_text())
        if "skipped" in info:
            print(f"cell {dataset}/{info['model']}/{info['subset']} skipped: {info['skipped']}")
            skipped.append([dataset, info["model"], info["subset"], info["skipped"]])
        else:
            cells.append(Path(path).parent)
    write_text(outputs["skipped"], tsv_text(skipped_table(skipped)))
    reasons = sorted({reason for *_, reason in skipped})
    why = f"no cell evaluated: {'; '.join(reasons)}" if reasons else "no evaluation cells"
    return aggregate_grid(cells, outputs, empty_reason=why)


def empty_note(counts: Mapping[str, int]) -> str | None:
    """Why a variant has no metrics (no query could be evaluated), from its counts; None when it has some."""
    if counts.get("evaluated_queries"):
        return None
    why = ", ".join(f"{n} {key.removeprefix('excluded: ')}" for key, n in counts.items()
                    if key.startswith("excluded: ") and n)
    return f"no query evaluated ({why or 'no query'})"

