"""The results page explains its numbers (issue 16, items 4 and 5): readable metric names, each value against
its chance level and the best value possible on the subset, heat tables coloured from chance to best, empty
cells that say why, and confusions counted only where a wrong gloss outranks a right one."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from signsearch import manifest
from signsearch.evaluate.cell import evaluate_cell, write_cell
from signsearch.evaluate.grid import aggregate_grid
from signsearch.layout import Layout
from signsearch.web import app as web_app
from signsearch.metric_names import progress, readable
from workflow_utils import demo_config


def _manifest(path: Path, glosses: list[str], seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    centres = {g: rng.standard_normal(8) for g in sorted(set(glosses))}
    x = np.array([centres[g] + 0.3 * rng.standard_normal(8) for g in glosses], dtype=np.float32)
    n = len(glosses)
    ids = [f"v{i:02d}" for i in range(n)]
    rows = {"video_id": ids, "dataset": ["d"] * n, "gloss": glosses, "signer": [f"s{i % 3}" for i in range(n)],
            "split": ["train"] * n, "pose_path": ["p"] * n, "frames": [10] * n}
    manifest.write(manifest.build(rows, x, "pose-baseline", "fp"), path)
    return ids


@pytest.fixture()
def page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    import yaml

    monkeypatch.chdir(tmp_path)
    layout = Layout(tmp_path / "results")
    # "full": 6 glosses x 3 takes (two other takes per gloss: P@10 can reach only 0.2); "test": one take each
    full = _manifest(tmp_path / "m.parquet", [f"G{g}" for g in range(6) for _ in range(3)])
    m = manifest.read(tmp_path / "m.parquet")
    for subset, ids in (("full", full), ("test", full[::3])):
        write_cell(evaluate_cell(m, ids, subset_name=subset, dataset="d"), layout.cell("d", "pose-baseline", subset))
    cells = [layout.cell_dir("d", "pose-baseline", s) for s in ("full", "test")]
    aggregate_grid(cells, layout.report("d"))
    cfg = demo_config()
    cfg["database"]["data_dir"] = str(tmp_path / "pgdata")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    client = web_app.create_app(tmp_path / "config.yaml", settings={"RESULTS_DIR": str(tmp_path / "results")}).test_client()
    return {s: client.get(f"/results?dataset=d&model=pose-baseline&subset={s}").get_data(as_text=True)
            for s in ("full", "test")}


def test_metrics_against_chance_and_best_possible_with_readable_names(page) -> None:
    html = page["full"]
    table = re.search(r'<table class="data" id="metrics-table">.*?</table>', html, flags=re.S).group(0)
    assert "Precision at 10 (P@10)" in table and "Mean average precision at 10" in table and "p_at_10</th>" not in table
    row = re.search(r"Precision at 10 \(P@10\).*?</tr>", table, flags=re.S).group(0)
    assert "best possible 0.2<" in row and "chance " in row  # two other takes per gloss: 0.2 is the ceiling
    assert 'class="progress"' in row
    assert "Median rank of the first right video" in table and "lower is better" in table


def test_empty_cells_say_why(page) -> None:
    html = page["test"]
    assert "n/a: no query could be evaluated (6 only video of its gloss)" in html
    assert 'id="per-gloss-empty"' in html and "nan" not in html.lower().replace("nanoseconds", "")
    # the heat tables: the test column is empty with the grid's note, and readable names head them
    heat = re.findall(r'<table class="heat".*?</table>', html, flags=re.S)
    assert heat and any("no value: no query evaluated" in t for t in heat), heat[:1]
    assert "<h3>Precision at 1 (P@1)</h3>" in html


def test_readable_names_and_progress() -> None:
    assert readable("p_at_10") == "Precision at 10 (P@10)" and readable("r_at_5").startswith("Hit rate at 5")
    assert readable("something_else") == "something_else"
    assert progress(0.2, 0.077, 0.2) == 1.0 and progress(0.077, 0.077, 0.2) == 0.0
    assert progress(None, 0.1, 0.2) is None and progress(3.0, 5.0, 1.0) == 0.5  # lower is better runs too
