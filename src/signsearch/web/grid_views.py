"""The grid table (grid.tsv) as heat tables for the results page, one per metric."""

from __future__ import annotations

from typing import Any

import pandas as pd

GRID_COUNT_COLUMNS = {"k", "n", "videos", "queries", "glosses", "missing_videos", "evaluated_queries",
                      "excluded_queries", "n_queries", "n_videos", "n_glosses"}
LOWER_IS_BETTER = {"median_first_rank"}


def grid_views(grid: pd.DataFrame | None) -> list[dict[str, Any]]:
    """The grid as heat tables, one per metric: rows model (and variant, e.g. all / cross_signer), columns subset.
    Chance levels, counts and flags are left out (they stay in the full table below)."""
    if grid is None or grid.empty:
        return []
    cols = {str(c).lower(): c for c in grid.columns}
    if "model" not in cols or "subset" not in cols:
        return []
    m, s = cols["model"], cols["subset"]
    index = [m] + ([cols["variant"]] if "variant" in cols else [])
    metrics = [c for c in grid.columns
               if pd.api.types.is_numeric_dtype(grid[c]) and not pd.api.types.is_bool_dtype(grid[c])
               and str(c).lower() not in GRID_COUNT_COLUMNS and not str(c).endswith("_chance")]
    views = []
    for metric in metrics:
        table = grid.pivot_table(index=index, columns=s, values=metric, aggfunc="first", dropna=False)
        values = table.to_numpy(dtype=float)
        finite = values[~pd.isna(values)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        flip = str(metric) in LOWER_IS_BETTER
        rows = []
        for key, line in table.iterrows():
            name = " · ".join(str(x) for x in key) if isinstance(key, tuple) else str(key)
            cells = []
            for v in line:
                if pd.isna(v):
                    cells.append((None, "", False))
                    continue
                shade = (hi - float(v) + lo) if flip else float(v)
                dark = hi > lo and shade >= lo + 0.6 * (hi - lo)
                cells.append((float(v), heat_colour(shade, lo, hi), dark))
            rows.append((name, cells))
        views.append({"metric": str(metric) + (" (lower is better)" if flip else ""),
                      "columns": [str(c) for c in table.columns], "rows": rows,
                      "corner": " · ".join(str(i) for i in index) + " \\ subset"})
    return views


def heat_colour(value: float, lo: float, hi: float) -> str:
    """A light-to-dark blue background for a table cell (for grids rendered from grid.tsv)."""
    t = 0.0 if hi <= lo else max(0.0, min(1.0, (value - lo) / (hi - lo)))
    r, g, b = (int(247 + (8 - 247) * t), int(251 + (81 - 251) * t), int(255 + (156 - 255) * t))
    return f"rgb({r},{g},{b})"
