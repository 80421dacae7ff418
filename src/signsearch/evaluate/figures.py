"""Grid figures (matplotlib, Agg, PNG). Each function takes tables and an output path and writes atomically."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from signsearch.atomic import atomic_path  # noqa: E402
from signsearch.metric_names import readable, short  # noqa: E402


def _save(fig: plt.Figure, path: str | os.PathLike[str]) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)


def heatmap_cells(grid: pd.DataFrame, metric: str) -> dict[str, pd.DataFrame]:
    """The models x subsets tables of `grid_heatmap` (variant 'all'): `value`, `flagged`, and where the grid has
    ``<metric>_chance`` and ``<metric>_best``, `scale`: where each value lies from its chance level (0) to the best
    value possible on its subset (1), NaN where a number is missing; `label`: each cell's annotation."""
    rows = grid[grid["variant"] == "all"]
    value = rows.pivot(index="model", columns="subset", values=metric).astype(float)
    flagged = rows.pivot(index="model", columns="subset", values="flagged").reindex_like(value).fillna(False)
    out = {"value": value, "flagged": flagged.astype(bool)}
    if {f"{metric}_chance", f"{metric}_best"} <= set(grid.columns):
        chance, best = (rows.pivot(index="model", columns="subset", values=f"{metric}_{name}").reindex_like(value)
                        .astype(float) for name in ("chance", "best"))
        span = best - chance  # negative for a lower-is-better metric: the fraction still runs 0 -> 1
        scale = ((value - chance) / span.where(span != 0)).clip(0, 1)
        scale = scale.mask(span.eq(0) & value.notna(), (value == best).astype(float))
        out |= {"chance": chance, "best": best, "scale": scale}
    label = value.map(lambda v: "n/a" if np.isnan(v) else f"{v:.3g}") + flagged.astype(bool).map(
        lambda f: " *" if f else "")
    if "scale" in out:
        for (i, j), v in np.ndenumerate(value.to_numpy()):
            c, b = out["chance"].iat[i, j], out["best"].iat[i, j]
            if not np.isnan(v) and not (np.isnan(c) or np.isnan(b)):
                label.iat[i, j] += f"\nchance {c:.2g}\nbest {b:.2g}"
    out["label"] = label
    return out


def grid_heatmap(grid: pd.DataFrame, metric: str, path: str | os.PathLike[str]) -> None:
    """Models x subsets heatmap of `metric` (grid.tsv rows, variant 'all'), each cell coloured from its chance
    level (white) to the best value possible on its subset (dark blue), both printed in the cell; a grid without
    those columns is coloured by the raw values. n/a cells are grey; hatched cells are flagged (the model was
    trained on that data, so the number is not a fair test)."""
    cells = heatmap_cells(grid, metric)
    value, relative = cells["value"], "scale" in cells
    shown = (cells["scale"] if relative else value).to_numpy(dtype=float)
    cmap = matplotlib.colormaps["Blues" if relative else "viridis"].with_extremes(bad="#e6e6e6")
    if relative:
        vmin, vmax = 0.0, 1.0
    else:
        vmin, vmax = (0, max(1.0, np.nanmax(shown, initial=0))) if "rank" not in metric else (None, None)
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * value.shape[1], 1.2 + (0.9 if relative else 0.6) * value.shape[0]))
    im = ax.imshow(np.ma.masked_invalid(shown), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    for (i, j), v in np.ndenumerate(shown):
        dark = not np.isnan(v) and (v > 0.6 if relative else v < 0.5)
        ax.text(j, i, cells["label"].iat[i, j], ha="center", va="center", color="w" if dark else "k",
                fontsize=8 if relative else 9)
        if cells["flagged"].iat[i, j]:
            ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", edgecolor="red", lw=0))
    ax.set_xticks(range(value.shape[1]), value.columns)
    ax.set_yticks(range(value.shape[0]), value.index)
    scale = "colour: chance (white) to best possible (dark)" if relative else "colour: value"
    ax.set_title(f"{readable(metric)}\n({scale}; * hatched: model trained on this data)", fontsize=9)
    _empty_notes(fig, grid[grid["variant"] == "all"])
    bar = fig.colorbar(im, ax=ax)
    if relative:
        bar.set_ticks([0, 1], labels=["chance", "best"])
    _save(fig, path)


BAR_VARIANTS = ("all", "cross_signer")  # the ranking variants sharing one set of metrics


def bar_series(grid: pd.DataFrame, metrics: list[str]) -> dict[str, list[tuple[str, str, pd.Series]]]:
    """Per subset, the bars of `metric_bars`: (model, variant, row) for 'all' and, where it was computed (some
    metric not NaN: a subset with one signer has none), 'cross_signer' beside it."""
    rows = grid[grid["variant"].isin(BAR_VARIANTS)]
    rows = rows[rows["variant"].eq("all") | rows[metrics].notna().any(axis=1)]
    series: dict[str, list[tuple[str, str, pd.Series]]] = {}
    for subset in dict.fromkeys(rows["subset"]):
        part = rows[rows["subset"] == subset]
        models = list(dict.fromkeys(part["model"]))
        ranked = sorted((row for _, row in part.iterrows()),
                        key=lambda row: (models.index(row["model"]), BAR_VARIANTS.index(row["variant"])))
        series[subset] = [(row["model"], row["variant"], row) for row in ranked]
    return series


def metric_bars(grid: pd.DataFrame, path: str | os.PathLike[str], metrics: list[str] | None = None) -> None:
    """One panel per subset: bars per model and metric, 'all' and (lighter, dotted) 'cross_signer' where it exists;
    chance level as a black tick."""
    metrics = metrics or [c for c in grid.columns if (c.startswith(("p_at_", "r_at_", "map_at_", "mrr_at_"))) and not c.endswith(("_chance", "_best"))]
    series = bar_series(grid, metrics)
    colours = {model: f"C{i}" for i, model in enumerate(dict.fromkeys(grid["model"]))}
    most = max((len(bars) for bars in series.values()), default=1)
    width_in = max(7, 2 + 1.2 * len(metrics) * most / 2)
    fig, axes = plt.subplots(len(series) or 1, 1, figsize=(width_in, 2.8 * max(1, len(series))), squeeze=False,
                             layout="constrained")
    for ax, (subset, bars) in zip(axes[:, 0], series.items()):
        width = 0.8 / max(1, len(bars))
        for m, (model, variant, row) in enumerate(bars):
            x = np.arange(len(metrics)) + m * width
            cross = variant == "cross_signer"
            label = model + (" cross-signer" if cross else "") + (" *" if row["flagged"] else "")
            ax.bar(x, [row[c] for c in metrics], width, label=label, color=colours[model], alpha=0.5 if cross else 1.0,
                   hatch=("//" if row["flagged"] else "") + (".." if cross else "") or None)
            ax.hlines([row.get(f"{c}_chance", np.nan) for c in metrics], x - width / 2, x + width / 2, colors="k")
            if not cross and isinstance(row.get("note"), str) and row["note"]:  # no metrics: say why, not a gap
                ax.text(x[0], 0.5, f"{model}: n/a, {row['note']}", fontsize=8, va="center")
        ax.set_xticks(np.arange(len(metrics)) + 0.4 - width / 2, [short(c) for c in metrics])
        ax.set_ylim(0, 1)
        ax.set_title(f"subset {subset} (black ticks: chance; dotted: other signers only; * trained on this data)",
                     fontsize=10)
        ax.legend(fontsize=8)
    _save(fig, path)


def _empty_notes(fig: plt.Figure, rows: pd.DataFrame) -> None:
    """A footnote naming the cells without metrics (n/a in the figure) and why."""
    if "note" not in rows:
        return
    lines = [f"n/a: {r.model} on {r.subset}, {r.note}" for r in rows.itertuples() if isinstance(r.note, str) and r.note]
    if lines:
        fig.text(0.01, -0.02, "\n".join(lines), fontsize=8, va="top")


def confusion_bars(confusions: pd.DataFrame, path: str | os.PathLike[str], top: int = 15) -> None:
    """The `top` most-confused gloss pairs per (model, subset) panel, its title saying of how many (thousands at
    ASL Citizen's 2,731 glosses: the cell's confusions.tsv has them all); `confusions` has model, subset and
    confusions.tsv columns."""
    groups = list(confusions.groupby(["model", "subset"], sort=True)) if len(confusions) else []
    fig, axes = plt.subplots(max(1, len(groups)), 1, figsize=(7, 0.5 + 0.28 * top * max(1, len(groups))), squeeze=False)
    for ax, ((model, subset), part) in zip(axes[:, 0], groups):
        shown = part.sort_values("total", ascending=False, kind="stable").head(top)[::-1]
        ax.barh([f"{a} / {b}" for a, b in zip(shown["gloss_a"], shown["gloss_b"])], shown["total"])
        of = f"top {len(shown)} of {len(part):,} pairs" if len(part) > len(shown) else f"{len(part)} pairs"
        ax.set_title(f"{model} on {subset}: most confused gloss pairs ({of}; top-k neighbours, both directions)",
                     fontsize=9)
    if not groups:
        axes[0, 0].text(0.5, 0.5, "no confusions", ha="center")
    _save(fig, path)


def placeholder(path: str | os.PathLike[str], text: str) -> None:
    """A figure that only says why there is nothing to draw (the workflow still expects the file)."""
    fig, ax = plt.subplots(figsize=(5, 1.5))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center")
    _save(fig, path)
