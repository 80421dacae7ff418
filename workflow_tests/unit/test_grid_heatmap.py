"""The grid heatmap colours each metric from its chance level to the best value possible on the subset and
prints both in the cell (issue 16.4): with two other takes per gloss, P@10 = 0.2 is the best possible, so it is
drawn as the best, not as a poor 0.2. Empty cells stay n/a; a grid without chance/best columns is still drawn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from signsearch import manifest
from signsearch.evaluate.cell import evaluate_cell, write_cell
from signsearch.evaluate import figures
from signsearch.evaluate.figures import grid_heatmap, heatmap_cells
from signsearch.evaluate.grid import aggregate_grid
from signsearch.layout import CELL_FILES, REPORT_FILES, files_in


def _row(model: str, subset: str, value: float, chance: float, best: float, **extra) -> dict:
    return {"model": model, "subset": subset, "variant": "all", "flagged": False, "p_at_10": value,
            "p_at_10_chance": chance, "p_at_10_best": best, "note": None, **extra}


def test_cells_run_from_chance_to_best_and_say_both(tmp_path: Path) -> None:
    grid = pd.DataFrame([
        _row("m", "full", 0.2, 0.077, 0.2),
        _row("m", "test", np.nan, np.nan, np.nan, note="no query evaluated"),
        _row("n", "full", 0.077, 0.077, 0.2, flagged=True),
        _row("n", "test", 0.02, 0.077, 0.2),  # below chance: drawn as chance, the number says the rest
        _row("m", "full", 0.9, 0.0, 1.0, variant="cross_signer"),  # not the heatmap's variant
    ])
    cells = heatmap_cells(grid, "p_at_10")
    assert cells["scale"].loc["m", "full"] == 1.0 and cells["scale"].loc["n", "full"] == 0.0
    assert cells["scale"].loc["n", "test"] == 0.0 and np.isnan(cells["scale"].loc["m", "test"])
    assert cells["label"].loc["m", "full"] == "0.2\nchance 0.077\nbest 0.2"
    assert cells["label"].loc["n", "full"] == "0.077 *\nchance 0.077\nbest 0.2"
    assert cells["label"].loc["m", "test"] == "n/a"
    grid_heatmap(grid, "p_at_10", tmp_path / "heat.png")
    assert (tmp_path / "heat.png").stat().st_size > 5000


def test_lower_is_better_and_grids_without_chance(tmp_path: Path) -> None:
    grid = pd.DataFrame([{"model": "m", "subset": "full", "variant": "all", "flagged": False,
                          "median_first_rank": 2.0, "median_first_rank_chance": 5.0, "median_first_rank_best": 1.0}])
    assert heatmap_cells(grid, "median_first_rank")["scale"].iat[0, 0] == 0.75  # 3 of the 4 ranks from chance
    old = grid.drop(columns=["median_first_rank_chance", "median_first_rank_best"])
    assert "scale" not in heatmap_cells(old, "median_first_rank")
    grid_heatmap(old, "median_first_rank", tmp_path / "old.png")
    assert (tmp_path / "old.png").stat().st_size > 1000


def test_the_workflow_grid_carries_what_the_heatmap_needs(tmp_path: Path) -> None:
    # 4 glosses x 3 takes: each query has two right videos among 11, so P@10 is at most 0.2
    glosses = [f"G{g}" for g in range(4) for _ in range(3)]
    rng = np.random.default_rng(0)
    centres = {g: rng.standard_normal(8) for g in set(glosses)}
    x = np.array([centres[g] + 0.05 * rng.standard_normal(8) for g in glosses], dtype=np.float32)
    ids = [f"v{i:02d}" for i in range(len(glosses))]
    rows = {"video_id": ids, "dataset": ["d"] * 12, "gloss": glosses, "signer": ["s"] * 12, "split": ["train"] * 12,
            "pose_path": ["p"] * 12, "frames": [10] * 12}
    manifest.write(manifest.build(rows, x, "pose-baseline", "fp"), tmp_path / "m.parquet")
    write_cell(evaluate_cell(manifest.read(tmp_path / "m.parquet"), ids, subset_name="full", dataset="d"),
               files_in(tmp_path / "cell", CELL_FILES))
    outputs = files_in(tmp_path / "report", REPORT_FILES)
    grid = aggregate_grid([tmp_path / "cell"], outputs)
    cells = heatmap_cells(grid, "p_at_10")
    assert cells["value"].iat[0, 0] == pytest.approx(0.2) and cells["best"].iat[0, 0] == pytest.approx(0.2)
    assert cells["scale"].iat[0, 0] == pytest.approx(1.0)
    assert 0 < cells["chance"].iat[0, 0] < 0.2 and "chance" in cells["label"].iat[0, 0]
    assert Path(outputs["heatmap"]).stat().st_size > 5000


def test_figures_name_metrics_readably_and_say_how_many_pairs_they_show(tmp_path: Path, monkeypatch) -> None:
    drawn: list = []
    monkeypatch.setattr(figures, "_save", lambda fig, path: drawn.append(fig))
    grid = pd.DataFrame([_row("m", "full", 0.2, 0.077, 0.2)])
    grid_heatmap(grid, "p_at_10", tmp_path / "heat.png")
    title = drawn[0].axes[0].get_title()
    assert title.startswith("Precision at 10 (P@10)") and "p_at_10" not in title
    # thousands of confused pairs at 2,731 glosses: the figure draws the top 15 and says of how many
    pairs = pd.DataFrame({"gloss_a": [f"A{i:04d}" for i in range(3000)], "gloss_b": [f"B{i:04d}" for i in range(3000)],
                          "a_to_b": 1, "b_to_a": 0, "total": np.arange(3000)[::-1] + 1, "model": "m", "subset": "full"})
    figures.confusion_bars(pairs, tmp_path / "conf.png")
    ax = drawn[1].axes[0]
    assert "top 15 of 3,000 pairs" in ax.get_title()
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "A0000 / B0000"  # the most confused on top
    assert len(ax.get_yticklabels()) == 15
