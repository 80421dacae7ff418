"""Issue 12.2: skipped grid cells, with their reasons, in skipped.tsv (a report output) and in the end-of-run
summary. Issue 12.5: metric_bars.png shows cross_signer beside all wherever it was computed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from signsearch import manifest
from signsearch.evaluate import figures
from signsearch.evaluate.cell import evaluate_cell, write_cell
from signsearch.evaluate.grid import METRIC_PREFIXES, aggregate_grid, write_grid
from signsearch.layout import CELL_FILES, REPORT_FILES, Layout, files_in
from signsearch.metric_names import short
from signsearch.summary import run_summary

REASON = "subset 'test': no labelled video in split 'test'; splits present: ['B']"


def _cell(folder: Path, signers: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    n = 40
    g = np.arange(n) % 8
    x = (rng.standard_normal((8, 12))[g] + 0.5 * rng.standard_normal((n, 12))).astype(np.float32)
    rows = {"video_id": [f"v{i:02d}" for i in range(n)], "dataset": ["d"] * n, "gloss": [f"G{j}" for j in g],
            "signer": [f"s{(i // 8) % signers}" for i in range(n)], "split": ["train"] * n, "pose_path": ["p"] * n,
            "frames": [10] * n}
    manifest.write(manifest.build(rows, x, "m", "fp"), folder / "m.parquet")
    result = evaluate_cell(manifest.read(folder / "m.parquet"), rows["video_id"], subset_name=folder.name)
    result.metrics["model"] = "pose-baseline"
    write_cell(result, files_in(folder, CELL_FILES))
    return folder


def _skipped_cell(folder: Path, model: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps({"dataset": "d", "model": model, "subset": "test", "skipped": REASON}))
    return folder / "metrics.json"


def test_skipped_cells_are_in_the_report_and_the_summary(tmp_path: Path) -> None:
    layout = Layout(tmp_path / "results")
    full = tmp_path / "results/eval/d/pose-baseline/full"
    full.mkdir(parents=True)
    _cell(full, signers=4)
    metrics = [str(full / "metrics.json"), *(str(_skipped_cell(tmp_path / "results/eval/d" / m / "test", m))
                                           for m in ("pose-baseline", "signclip"))]
    grid = write_grid(metrics, layout.report("d"), dataset="d")
    assert set(grid["subset"]) == {"full"}
    skipped = pd.read_csv(layout.report("d")["skipped"], sep="\t")
    assert skipped.to_dict("records") == [
        {"dataset": "d", "model": m, "subset": "test", "reason": REASON} for m in ("pose-baseline", "signclip")]

    poses = layout.poses("d")
    poses.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"status": ["ok"] * 3, "reason": [None] * 3}).to_parquet(poses)
    text = run_summary(layout, ["d"], ["pose-baseline", "signclip"])
    assert ("not evaluated: subset 'test' x pose-baseline, signclip: no labelled video in split 'test'; "
            "splits present: ['B']") in text
    hints = run_summary(layout, ["d"], ["pose-baseline"], configfiles=[str(Path.cwd() / "mine.yaml"), "/x/b.yaml"])
    assert "snakemake --configfile mine.yaml /x/b.yaml --report" in hints
    assert "search: signsearch --config mine.yaml --config /x/b.yaml search --dataset d" in hints


def test_no_skipped_cell_writes_an_empty_table(tmp_path: Path) -> None:
    full = tmp_path / "full"
    full.mkdir()
    _cell(full, signers=4)
    outputs = files_in(tmp_path / "report", REPORT_FILES)
    write_grid([str(full / "metrics.json")], outputs, dataset="d")
    assert outputs["skipped"].read_text() == "dataset\tmodel\tsubset\treason\n"


def test_the_grid_rule_declares_skipped_as_a_report_output() -> None:
    rules = (Path(__file__).resolve().parents[2] / "rules" / "evaluate.smk").read_text()
    assert 'LAYOUT.report("{dataset}")["skipped"]' in rules and "../report/skipped.rst" in rules


@pytest.fixture()
def captured(monkeypatch: pytest.MonkeyPatch) -> list:
    figs: list = []
    monkeypatch.setattr(figures, "_save", lambda fig, path: figs.append(fig))
    return figs


def test_metric_bars_show_cross_signer_where_it_exists(tmp_path: Path, captured: list) -> None:
    many = _cell(tmp_path / "many", signers=4)
    one = _cell(tmp_path / "one", signers=1, seed=1)  # one signer: no cross-signer query exists
    grid = aggregate_grid([many, one], files_in(tmp_path / "report", REPORT_FILES))
    assert set(grid.loc[grid["subset"] == "one", "variant"]) >= {"all", "cross_signer"}
    metric_cols = [c for c in grid.columns if c.startswith("p_at_") and not c.endswith("_chance")]
    series = figures.bar_series(grid, metric_cols)
    assert [(m, v) for m, v, _ in series["many"]] == [("pose-baseline", "all"), ("pose-baseline", "cross_signer")]
    assert [(m, v) for m, v, _ in series["one"]] == [("pose-baseline", "all")]

    bars_fig = captured[1]  # heatmap, then metric bars
    panels = {ax.get_title().split(" (")[0]: [t.get_text() for t in ax.get_legend().get_texts()] for ax in bars_fig.axes}
    assert panels == {"subset many": ["pose-baseline", "pose-baseline cross-signer"], "subset one": ["pose-baseline"]}
    many_row = grid[(grid["subset"] == "many") & (grid["variant"] == "cross_signer")].iloc[0]
    drawn = [c for c in grid.columns if c.startswith(METRIC_PREFIXES) and not c.endswith(("_chance", "_best"))]
    shown = [t.get_text() for t in bars_fig.axes[0].get_xticklabels()]
    assert shown == [short(c) for c in drawn] and "P@1" in shown  # readable names, not the metric ids
    heights = [p.get_height() for p in bars_fig.axes[0].patches]
    assert len(heights) == 2 * len(shown) and np.allclose(heights[len(shown):], [many_row[c] for c in drawn])
