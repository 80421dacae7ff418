"""The grid table (grid.tsv) as heat tables for the results page, one per metric, coloured from chance to best."""

from __future__ import annotations

from typing import Any

import pandas as pd

from signsearch.metric_names import LOWER_IS_BETTER, progress, readable

GRID_COUNT_COLUMNS = {"k", "n", "videos", "queries", "glosses", "missing_videos", "evaluated_queries",
                      "excluded_queries", "n_queries", "n_videos", "n_glosses"}


def grid_views(grid: pd.DataFrame | None) -> list[dict[str, Any]]:
    """The grid as heat tables, one per metric: rows model (and variant, e.g. all / cross_signer), columns subset.
    A cell is coloured by where its value lies between its chance level (light) and the best value possible on
    its subset (dark), when grid.tsv has both (``<metric>_chance``, ``<metric>_best``); else from the lowest to
    the highest value shown. An empty cell carries the grid's note on why. Counts and flags stay in the full
    table below."""
    if grid is None or grid.empty:
        return []
    cols = {str(c).lower(): c for c in grid.columns}
    if "model" not in cols or "subset" not in cols:
        return []
    m, s = cols["model"], cols["subset"]
    index = [m] + ([cols["variant"]] if "variant" in cols else [])
    metrics = [c for c in grid.columns
               if pd.api.types.is_numeric_dtype(grid[c]) and not pd.api.types.is_bool_dtype(grid[c])
               and str(c).lower() not in GRID_COUNT_COLUMNS and not str(c).endswith(("_chance", "_best"))]
    # one keyed frame unstacked per column: a pivot_table per metric and per chance / best column took ~0.6 s
    keyed = grid.drop_duplicates(subset=[*index, s]).set_index([*index, s])
    notes = _pivot(keyed, s, "note")
    views = []
    for metric in metrics:
        table = _pivot(keyed, s, metric)
        extra = {name: _pivot(keyed, s, f"{metric}_{name}") for name in ("chance", "best")}
        values = table.to_numpy(dtype=float)
        finite = values[~pd.isna(values)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        flip = str(metric) in LOWER_IS_BETTER
        rows = []
        for key, line in table.iterrows():
            name = " · ".join(str(x) for x in key) if isinstance(key, tuple) else str(key)
            cells = []
            for col, v in line.items():
                chance, best = (_at(extra[n], key, col) for n in ("chance", "best"))
                if pd.isna(v):
                    note = _at(notes, key, col)
                    cells.append({"value": None, "colour": "", "dark": False,
                                  "title": f"no value: {note}" if note else "no value"})
                    continue
                t = progress(float(v), chance, best)
                if t is None:  # no chance and best for this metric: relative to the other cells
                    shade = (hi - float(v) + lo) if flip else float(v)
                    t = 0.0 if hi <= lo else (shade - lo) / (hi - lo)
                title = f"chance {chance:.3g} · best possible {best:.3g}" if chance is not None and best is not None else ""
                cells.append({"value": float(v), "colour": heat_colour(t, 0.0, 1.0), "dark": t >= 0.6,
                              "title": title})
            rows.append((name, cells))
        has_scale = any(c["title"].startswith("chance") for _, cells in rows for c in cells)
        views.append({"metric": readable(str(metric)) + (" (lower is better)" if flip else ""),
                      "columns": [str(c) for c in table.columns], "rows": rows, "relative": has_scale,
                      "corner": " · ".join(str(i) for i in index) + " \\ subset"})
    return views


def _pivot(keyed: pd.DataFrame, columns: str, values: str) -> pd.DataFrame | None:
    """Rows (model[, variant]) x columns (subset) of one column of the grid keyed by all three."""
    if values not in keyed.columns:
        return None
    return keyed[values].unstack(columns)


def _at(table: pd.DataFrame | None, row: Any, col: Any) -> Any:
    if table is None:
        return None
    value = table.at[row, col]
    return None if pd.isna(value) else (value.item() if hasattr(value, "item") else value)


def heat_colour(value: float, lo: float, hi: float) -> str:
    """A light-to-dark blue background for a table cell (for grids rendered from grid.tsv)."""
    t = 0.0 if hi <= lo else max(0.0, min(1.0, (value - lo) / (hi - lo)))
    r, g, b = (int(247 + (8 - 247) * t), int(251 + (81 - 251) * t), int(255 + (156 - 255) * t))
    return f"rgb({r},{g},{b})"
