"""Grid figures (matplotlib, Agg, PNG). Each function takes tables and an output path and writes atomically."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from signsearch.atomic import atomic_path  # noqa: E402


def _save(fig: plt.Figure, path: str | os.PathLike[str]) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)


def grid_heatmap(grid: pd.DataFrame, metric: str, path: str | os.PathLike[str]) -> None:
    """Models x subsets heatmap of `metric` (grid.tsv rows, variant 'all'); hatched cells are flagged (the model
    was trained on that data, so the number is not a fair test)."""
    rows = grid[grid["variant"] == "all"]
    table = rows.pivot(index="model", columns="subset", values=metric)
    flags = rows.pivot(index="model", columns="subset", values="flagged").reindex_like(table).fillna(False)
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * table.shape[1], 1.2 + 0.6 * table.shape[0]))
    im = ax.imshow(table.to_numpy(dtype=float), cmap="viridis", vmin=0, vmax=max(1.0, np.nanmax(table.to_numpy(float), initial=0)) if "rank" not in metric else None, aspect="auto")
    for (i, j), v in np.ndenumerate(table.to_numpy(dtype=float)):
        flagged = bool(flags.iat[i, j])
        ax.text(j, i, ("n/a" if np.isnan(v) else f"{v:.3g}") + (" *" if flagged else ""), ha="center", va="center", color="w" if not np.isnan(v) and v < 0.5 else "k", fontsize=9)
        if flagged:
            ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", edgecolor="red", lw=0))
    ax.set_xticks(range(table.shape[1]), table.columns)
    ax.set_yticks(range(table.shape[0]), table.index)
    ax.set_title(f"{metric} (* hatched: model trained on this data)")
    fig.colorbar(im, ax=ax)
    _save(fig, path)


def metric_bars(grid: pd.DataFrame, path: str | os.PathLike[str], metrics: list[str] | None = None) -> None:
    """One panel per subset: bars per model and metric (variant 'all'), chance level as a black tick."""
    rows = grid[grid["variant"] == "all"]
    metrics = metrics or [c for c in rows.columns if (c.startswith(("p_at_", "r_at_", "map_at_", "mrr_at_"))) and not c.endswith("_chance")]
    subsets = list(dict.fromkeys(rows["subset"]))
    width_in = max(7, 2 + 1.2 * len(metrics) * max(1, rows["model"].nunique()) / 2)
    fig, axes = plt.subplots(len(subsets), 1, figsize=(width_in, 2.8 * max(1, len(subsets))), squeeze=False,
                             layout="constrained")
    for ax, subset in zip(axes[:, 0], subsets):
        part = rows[rows["subset"] == subset].set_index("model")
        width = 0.8 / max(1, len(part))
        for m, (model, row) in enumerate(part.iterrows()):
            x = np.arange(len(metrics)) + m * width
            ax.bar(x, [row[c] for c in metrics], width, label=model + (" *" if row["flagged"] else ""), hatch="//" if row["flagged"] else None)
            ax.hlines([row.get(f"{c}_chance", np.nan) for c in metrics], x - width / 2, x + width / 2, colors="k")
        ax.set_xticks(np.arange(len(metrics)) + 0.4 - width / 2, metrics)
        ax.set_ylim(0, 1)
        ax.set_title(f"subset {subset} (black ticks: chance; * trained on this data)", fontsize=10)
        ax.legend(fontsize=8)
    _save(fig, path)


def confusion_bars(confusions: pd.DataFrame, path: str | os.PathLike[str], top: int = 15) -> None:
    """Top confused gloss pairs per (model, subset) panel; `confusions` has model, subset and confusions.tsv columns."""
    groups = list(confusions.groupby(["model", "subset"], sort=True)) if len(confusions) else []
    fig, axes = plt.subplots(max(1, len(groups)), 1, figsize=(7, 0.5 + 0.28 * top * max(1, len(groups))), squeeze=False)
    for ax, ((model, subset), part) in zip(axes[:, 0], groups):
        part = part.sort_values("total", ascending=False, kind="stable").head(top)[::-1]
        ax.barh([f"{a} / {b}" for a, b in zip(part["gloss_a"], part["gloss_b"])], part["total"])
        ax.set_title(f"{model} on {subset}: most confused gloss pairs (top-k neighbours, both directions)", fontsize=9)
    if not groups:
        axes[0, 0].text(0.5, 0.5, "no confusions", ha="center")
    _save(fig, path)


def placeholder(path: str | os.PathLike[str], text: str) -> None:
    """A figure that only says why there is nothing to draw (the workflow still expects the file)."""
    fig, ax = plt.subplots(figsize=(5, 1.5))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center")
    _save(fig, path)
