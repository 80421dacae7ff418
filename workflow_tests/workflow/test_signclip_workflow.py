"""SignCLIP inside the workflow: the test checkpoint (random weights, so only the machinery is checked) runs
through embedding, database, the grid (incl. the text-video protocol) and text search; absent models are skipped."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from workflow_utils import demo_config, make_workdir, snakemake, stop_database

pytestmark = pytest.mark.slow


def _config(testdata: Path) -> dict:
    config = demo_config()
    config["models"]["signclip-test"] = {
        "kind": "signclip",
        "checkpoint": str(testdata / "signclip/checkpoint/checkpoint_best.pt"),
        "tokenizer": str(testdata / "signclip/bert-tiny-cased"),
        "metric": "cosine",
        "trained_on": [{"dataset": "demo", "splits": ["train"]}],
    }
    config["models"]["signclip-absent"] = {"kind": "signclip", "checkpoint": "models/nowhere.pt", "tokenizer": "models/bert"}
    config["evaluate"]["subsets"] = {"full": {"kind": "all"}, "test": {"kind": "split", "split": "test"}}
    return config


def test_signclip_grid_and_text_search(tmp_path: Path, testdata: Path) -> None:
    work = make_workdir(tmp_path / "w", _config(testdata))
    try:
        proc = snakemake(work)
        assert "model 'signclip-absent' skipped: missing checkpoint: models/nowhere.pt" in proc.stderr
        grid = pd.read_csv(work / "results/report/demo/grid.tsv", sep="\t")
        cells = grid[grid["model"] == "signclip-test"].set_index(["subset", "variant"])
        assert {"all", "cross_signer", "text_video", "dictionary"} <= set(cells.index.get_level_values("variant"))
        # trained on the demo's train split: the full subset includes it (flagged), the test split does not
        assert bool(cells.loc[("full", "all"), "flagged"]) and not bool(cells.loc[("test", "all"), "flagged"])
        metrics = json.loads((work / "results/eval/demo/signclip-test/full/metrics.json").read_text())
        assert 0 <= metrics["variants"]["text_video"]["metrics"]["t2v_p_at_1"] <= 1
        receipt = json.loads((work / "results/demo/db/signclip-test.json").read_text())
        assert receipt["rows"] == 96 and receipt["model"]["dim"] == 32

        search = subprocess.run(
            [sys.executable, "-m", "signsearch.cli", "search", "--dataset", "demo", "--model", "signclip-test",
             "--text", "SYN-BAKI", "-k", "4", "--json"], cwd=work, capture_output=True, text=True, timeout=120)
        assert search.returncode == 0, search.stderr
        rows = json.loads(search.stdout)
        assert [r["rank"] for r in rows] == [1, 2, 3, 4]
        assert all(r["video_id"].startswith("synthetic-") for r in rows)

        refused = subprocess.run(
            [sys.executable, "-m", "signsearch.cli", "search", "--dataset", "demo", "--model", "pose-baseline",
             "--text", "SYN-BAKI"], cwd=work, capture_output=True, text=True, timeout=120)
        assert refused.returncode == 2
        assert refused.stderr.strip() == "signsearch: model 'pose-baseline' has no text tower; text search needs a SignCLIP model"
    finally:
        stop_database(work, "results/database/pgdata")
