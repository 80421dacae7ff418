"""Read the evaluation results the workflow wrote, for the results page.

Layout (see rules/evaluate.smk): ``results/report/<dataset>/{grid.tsv, grid_heatmap.png, metric_bars.png,
top_confusions.png}`` and ``results/eval/<dataset>/<model>/<subset>/{metrics.json, metrics.tsv, confusions.tsv,
per_gloss.tsv, neighbours.parquet}``. Tables are read as they are (columns are shown as found), so the page follows
the evaluation package without knowing every column.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

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


class Results:
    def __init__(self, root: Path):
        self.root = Path(root)

    def report_dir(self, dataset: str) -> Path:
        return self.root / "report" / dataset

    def eval_dir(self, dataset: str) -> Path:
        return self.root / "eval" / dataset

    def datasets(self) -> list[str]:
        names = set()
        for base in (self.root / "report", self.root / "eval"):
            if base.is_dir():
                names |= {p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")}
        return sorted(names)

    def figure(self, dataset: str, name: str) -> Path | None:
        """A report figure by its fixed name only (never a path from the request)."""
        if name not in REPORT_FIGURES or dataset not in self.datasets():
            return None
        path = self.report_dir(dataset) / f"{name}.png"
        return path if path.is_file() else None

    def grid(self, dataset: str) -> pd.DataFrame | None:
        return read_table(self.report_dir(dataset) / "grid.tsv")

    def cells(self, dataset: str) -> list[Cell]:
        base = self.eval_dir(dataset)
        if not base.is_dir():
            return []
        found = []
        for metrics in sorted(base.glob("*/*/metrics.json")):
            subset_dir = metrics.parent
            found.append(Cell(subset_dir.parent.name, subset_dir.name, subset_dir))
        return found

    def cell(self, dataset: str, model: str, subset: str) -> Cell | None:
        for cell in self.cells(dataset):
            if cell.model == model and cell.subset == subset:
                return cell
        return None

    def manifests(self, dataset: str) -> dict[str, Path]:
        base = self.root / dataset / "manifests"
        return {p.stem: p for p in sorted(base.glob("*.parquet"))} if base.is_dir() else {}


def read_table(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=[""])
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
        return None


def read_metrics(cell: Cell) -> dict[str, Any]:
    path = cell.path / "metrics.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {"value": data}


def metric_table(cell: Cell) -> tuple[list[str], list[list[Any]]] | None:
    """metrics.tsv (long: variant, metric, value, chance) as rows metric x (one column per variant, chance)."""
    long = read_table(cell.path / "metrics.tsv")
    if long is None or not {"metric", "value"} <= set(long.columns):
        return None
    variants = list(dict.fromkeys(long["variant"])) if "variant" in long else ["value"]
    order = list(dict.fromkeys(long["metric"]))
    header = ["metric", *variants]
    has_chance = "chance" in long
    if has_chance:
        header += [f"chance ({v})" for v in variants]
    rows = []
    for metric in order:
        sub = long[long["metric"] == metric]
        by = (lambda v: sub[sub["variant"] == v]) if "variant" in long else (lambda v: sub)
        row: list[Any] = [metric]
        row += [_first(by(v)["value"]) for v in variants]
        if has_chance:
            row += [_first(by(v)["chance"]) for v in variants]
        rows.append(row)
    return header, rows


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
    path = cell.path / "neighbours.parquet"
    if not path.is_file():
        return None
    try:
        table = pd.read_parquet(path)
    except Exception:  # unreadable or foreign layout: fall back to any videos of the two glosses
        return None
    cols = {c.lower(): c for c in table.columns}
    q_id = cols.get("query_video_id") or cols.get("query_id") or cols.get("video_id")
    q_gloss = cols.get("query_gloss") or cols.get("gloss")
    n_id = cols.get("neighbour_video_id") or cols.get("neighbour_id") or cols.get("neighbor_id")
    n_gloss = cols.get("neighbour_gloss") or cols.get("neighbor_gloss")
    if not all((q_id, q_gloss, n_id, n_gloss)):
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


def heat_colour(value: float, lo: float, hi: float) -> str:
    """A light-to-dark blue background for a table cell (for grids rendered from grid.tsv)."""
    t = 0.0 if hi <= lo else max(0.0, min(1.0, (value - lo) / (hi - lo)))
    r, g, b = (int(247 + (8 - 247) * t), int(251 + (81 - 251) * t), int(255 + (156 - 255) * t))
    return f"rgb({r},{g},{b})"
