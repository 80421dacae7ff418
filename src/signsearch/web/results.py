"""Read the evaluation results the workflow wrote, for the results page.

Where they are is `signsearch.layout` (report figures and grid table, one folder of `CELL_FILES` per cell).
Tables are read as they are (columns are shown as found), so the page follows the evaluation package without
knowing every column.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from signsearch.layout import CELL_FILES, Layout, files_in
from signsearch import metric_names

# The report's figures by file stem (`Layout.report_figures`), with their titles on the page.
REPORT_FIGURES = {
    "grid_heatmap": "models × subsets heatmap",
    "metric_bars": "metrics per model and subset",
    "top_confusions": "most-confused gloss pairs",
}


@dataclass(frozen=True)
class Cell:
    model: str
    subset: str
    path: Path

    @property
    def files(self) -> dict[str, Path]:
        return files_in(self.path, CELL_FILES)


class Results:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.layout = Layout(self.root)

    def datasets(self) -> list[str]:
        return self.layout.evaluated_datasets()

    def figure(self, dataset: str, name: str) -> Path | None:
        """A report figure by its fixed name only (never a path from the request)."""
        if name not in REPORT_FIGURES or dataset not in self.datasets():
            return None
        path = self.layout.report_figures(dataset)[name]
        return path if path.is_file() else None

    def grid(self, dataset: str) -> pd.DataFrame | None:
        return read_table(self.layout.report(dataset)["table"])

    def cells(self, dataset: str) -> list[Cell]:
        return [Cell(model, subset, path) for model, subset, path in self.layout.cells(dataset)]

    def cell(self, dataset: str, model: str, subset: str) -> Cell | None:
        for cell in self.cells(dataset):
            if cell.model == model and cell.subset == subset:
                return cell
        return None

    def manifests(self, dataset: str) -> dict[str, Path]:
        return self.layout.manifests(dataset)

    def manifest(self, dataset: str, model: str) -> Path | None:
        """A model's manifest of a dataset that has manifests (names from the request are never joined blindly)."""
        if dataset not in self.layout.datasets_with_manifests():
            return None
        return self.manifests(dataset).get(model)


def read_table(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=[""])
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
        return None


def read_metrics(cell: Cell) -> dict[str, Any]:
    path = cell.files["metrics"]
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {"value": data}


def metric_table(cell: Cell) -> dict[str, Any] | None:
    """metrics.tsv (long: variant, metric, value, chance[, best]) as one row per metric with, per variant, the
    value, its chance level, the best value possible on this subset, where the value lies between the two, and
    why a value is missing (metrics.json's counts of excluded queries)."""
    long = read_table(cell.files["table"])
    if long is None or not {"metric", "value"} <= set(long.columns):
        return None
    variants = list(dict.fromkeys(long["variant"])) if "variant" in long else ["value"]
    why = empty_reasons(read_metrics(cell))
    rows = []
    for metric in dict.fromkeys(long["metric"]):
        sub = long[long["metric"] == metric]
        cells = []
        for variant in variants:
            one = sub[sub["variant"] == variant] if "variant" in long else sub
            value = _first(one["value"])
            chance = _first(one["chance"]) if "chance" in long else None
            best = _first(one["best"]) if "best" in long else None
            cells.append({"value": value, "chance": chance, "best": best,
                          "progress": metric_names.progress(value, chance, best),
                          "reason": why.get(variant, "no value") if value is None else None})
        rows.append({"metric": metric, "label": metric_names.readable(metric),
                     "lower_is_better": metric in metric_names.LOWER_IS_BETTER, "cells": cells})
    return {"variants": variants, "rows": rows}


def empty_reasons(data: dict[str, Any]) -> dict[str, str]:
    """Why a variant of a cell has no values: its queries were all excluded (and for which reasons)."""
    out = {}
    for name, block in (data.get("variants") or {}).items():
        counts = block.get("counts", {}) if isinstance(block, dict) else {}
        if counts.get("evaluated_queries", 1) == 0:
            reasons = [f"{n} {key.split(': ', 1)[1]}" for key, n in counts.items() if key.startswith("excluded: ")]
            out[name] = "no query could be evaluated" + (f" ({'; '.join(reasons)})" if reasons else "")
    return out


def _first(series: pd.Series) -> Any:
    if series.empty or pd.isna(series.iloc[0]):
        return None
    return series.iloc[0].item() if hasattr(series.iloc[0], "item") else series.iloc[0]


def cell_summary(data: dict[str, Any]) -> list[tuple[str, Any]]:
    """The scalar facts of metrics.json (k, metric, backend, videos, ...), without the nested per-variant blocks."""
    return [(key, value) for key, value in data.items()
            if not isinstance(value, (dict, list)) and key not in ("dataset", "model", "subset")]


def flat_metrics(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested metrics.json as (dotted key, value) rows for a table."""
    rows: list[tuple[str, Any]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += flat_metrics(value, f"{name}.")
        elif isinstance(value, list) and len(value) > 12:
            rows.append((name, f"[{len(value)} values]"))
        else:
            rows.append((name, value))
    return rows


def confusion_pairs(table: pd.DataFrame | None, limit: int = 10) -> list[dict[str, Any]]:
    """The most-confused gloss pairs: the first two text columns are the pair, the first number the count."""
    if table is None or table.empty:
        return []
    text_cols = [c for c in table.columns if table[c].dtype == object]
    num_cols = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])]
    preferred = [c for c in table.columns if str(c).lower() in ("gloss", "query_gloss", "true", "gloss_a", "a", "query")]
    other = [c for c in table.columns if str(c).lower() in ("confused_with", "neighbour_gloss", "neighbor_gloss",
                                                              "predicted", "gloss_b", "b", "other", "neighbour")]
    first = preferred[0] if preferred else (text_cols[0] if text_cols else None)
    second = other[0] if other else next((c for c in text_cols if c != first), None)
    if first is None or second is None:
        return []
    count_col = next((c for c in num_cols if str(c).lower() in ("total", "count", "n", "confusions")),
                     num_cols[0] if num_cols else None)
    rows = table
    if count_col is not None:
        rows = table.sort_values(count_col, ascending=False, kind="stable")
    pairs = []
    for _, row in rows.head(limit).iterrows():
        pairs.append({
            "a": str(row[first]),
            "b": str(row[second]),
            "count": row[count_col] if count_col is not None else None,
            "extra": {c: row[c] for c in table.columns if c not in (first, second, count_col)},
        })
    return pairs


def confused_examples(cell: Cell, gloss_a: str, gloss_b: str) -> tuple[str, str] | None:
    """A query video of `gloss_a` whose retrieved neighbour was a video of `gloss_b`, from neighbours.parquet."""
    path = cell.files["neighbours"]
    if not path.is_file():
        return None
    try:
        cols = {c.lower(): c for c in pq.read_schema(path).names}
        q_id = cols.get("query_video_id") or cols.get("query_id") or cols.get("video_id")
        q_gloss = cols.get("query_gloss") or cols.get("gloss")
        n_id = cols.get("neighbour_video_id") or cols.get("neighbour_id") or cols.get("neighbor_id")
        n_gloss = cols.get("neighbour_gloss") or cols.get("neighbor_gloss")
        if not all((q_id, q_gloss, n_id, n_gloss)):
            return None
        # only the two glosses' queries: the whole file is every query's top k (200k rows at ASL Citizen's size)
        table = pd.read_parquet(path, filters=[(q_gloss, "in", [gloss_a, gloss_b])])
    except Exception:  # unreadable or foreign layout: fall back to any videos of the two glosses
        return None
    rank = cols.get("rank")
    # the pair is unordered in confusions.tsv: a query of either gloss that retrieved the other, nearest first
    for first, second in ((gloss_a, gloss_b), (gloss_b, gloss_a)):
        hit = table[(table[q_gloss].astype(str) == first) & (table[n_gloss].astype(str) == second)]
        if not hit.empty:
            if rank:
                hit = hit.sort_values(rank, kind="stable")
            q, n = str(hit.iloc[0][q_id]), str(hit.iloc[0][n_id])
            return (q, n) if first == gloss_a else (n, q)
    return None
