"""Issue 14, items 4 and 10: a cell whose metrics are all null (every query excluded) and a dataset without
glosses still give a grid: figures and tables that say why they are empty, skipped cells with their reason, no
1-byte grid.tsv, and a closing summary that says why nothing was evaluated."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from signsearch import manifest
from signsearch.embed.spec import model_spec
from signsearch.evaluate.cell import evaluate_cell, run_cell, write_cell
from signsearch.evaluate.grid import aggregate_grid, write_grid
from signsearch.evaluate.materialise import materialise_subset
from signsearch.layout import CELL_FILES, REPORT_FILES, Layout, files_in
from signsearch.summary import run_summary


def _solo_manifest(path: Path, n: int = 6) -> list[str]:
    """Every video the only one of its gloss: every query is excluded, every metric null."""
    rows = {"video_id": [f"v{i}" for i in range(n)], "dataset": ["d"] * n, "gloss": [f"G{i}" for i in range(n)],
            "signer": [f"s{i % 2}" for i in range(n)], "split": ["train"] * n, "pose_path": ["p"] * n,
            "frames": [10] * n}
    vectors = np.random.default_rng(0).standard_normal((n, 4)).astype(np.float32)
    manifest.write(manifest.build(rows, vectors, "pose-baseline", "fp"), path)
    return rows["video_id"]


def test_grid_with_an_all_null_cell_draws_and_says_why(tmp_path: Path) -> None:
    ids = _solo_manifest(tmp_path / "m.parquet")
    result = evaluate_cell(manifest.read(tmp_path / "m.parquet"), ids, subset_name="solo")
    write_cell(result, files_in(tmp_path / "cell", CELL_FILES))
    assert json.loads((tmp_path / "cell" / "metrics.json").read_text())["variants"]["all"]["metrics"]["p_at_1"] is None
    outputs = files_in(tmp_path / "report", REPORT_FILES)
    grid = aggregate_grid([tmp_path / "cell"], outputs)  # raised TypeError in metric_bars before
    table = pd.read_csv(outputs["table"], sep="\t")
    assert table["p_at_1"].isna().all()
    assert (table.loc[table["variant"] == "all", "note"] == "no query evaluated (6 only video of its gloss)").all()
    assert grid["p_at_10"].dtype == float
    for role in ("heatmap", "bars", "confusions"):
        assert Path(outputs[role]).stat().st_size > 1000


def _no_gloss_dataset(root: Path) -> tuple[Path, Path]:
    """A registry of 4 posed videos without any gloss, and its pose index (results/<dataset>/poses.parquet)."""
    ids = [f"clip{i}" for i in range(4)]
    registry = root / "registry.parquet"
    pd.DataFrame({"video_id": ids, "path": [f"{v}.mp4" for v in ids], "gloss": [None] * 4,
                  "signer": ["a", "b", "a", "b"], "split": [None] * 4, "shard": ["s00000"] * 4,
                  "pose_path": [f"{v}.pose" for v in ids]}).to_parquet(registry)
    poses = root / "poses.parquet"
    pq.write_table(pa.table({"video_id": ids, "status": ["ok"] * 4, "reason": [None] * 4}), poses)
    return registry, poses


def test_dataset_without_glosses_is_skipped_with_a_reason(tmp_path: Path) -> None:
    layout = Layout(tmp_path / "results")
    ds = layout.dataset_dir("mine")
    ds.mkdir(parents=True)
    registry, poses = _no_gloss_dataset(ds)
    subset_file = tmp_path / "all.tsv"
    note = materialise_subset(registry, layout.poses("mine"), {"kind": "all"}, "full", subset_file, scale_down=True)
    assert "no video of the dataset has a gloss" in note
    spec = model_spec("pose-baseline", {"kind": "pose-baseline"})
    cell = layout.cell("mine", "pose-baseline", "full")
    cell["metrics"].parent.mkdir(parents=True)
    run_cell(manifest_path="unused", subset_path=subset_file, registry_path=registry, outputs=cell, spec=spec,
             dataset="mine", settings={"k": 10, "metric": "l2", "backend": "memory"}, data_dir="unused")
    reason = json.loads(cell["metrics"].read_text())["skipped"]
    assert reason.startswith("subset 'full': no video of the dataset has a gloss (4 videos)"), reason

    report = {role: str(p) for role, p in layout.report("mine").items()}
    Path(report["table"]).parent.mkdir(parents=True)
    write_grid([str(cell["metrics"])], report, dataset="mine")
    header = Path(report["table"]).read_text()
    assert len(header) > 1 and header.startswith("dataset\tmodel\tsubset"), repr(header)
    skipped = pd.read_csv(report["skipped"], sep="\t")
    assert list(skipped["reason"]) == [reason]

    summary = run_summary(layout, ["mine"], ["pose-baseline"])
    assert "evaluation grid: no cell could be evaluated" in summary
    assert "no video of the dataset has a gloss" in summary
    assert str(layout.report("mine")["table"]) not in summary
