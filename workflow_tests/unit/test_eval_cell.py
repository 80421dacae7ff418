"""One grid cell end to end on a small synthetic manifest, and the grid aggregation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from signsearch import manifest
from signsearch.evaluate.dictionary import dictionary_metrics, gloss_ranks
from signsearch.evaluate.cell import evaluate_cell, write_cell
from signsearch.evaluate.grid import aggregate_grid
from signsearch.evaluate.retrieval import topk_exact
from signsearch.evaluate.text_video import text_video_metrics
from signsearch.layout import CELL_FILES, REPORT_FILES, files_in


def write_manifest(path, n=80, seed=0):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 8, n)
    x = (rng.standard_normal((8, 12))[g] + 0.6 * rng.standard_normal((n, 12))).astype(np.float32)
    rows = {
        "video_id": [f"v{i:03d}" for i in range(n)],
        "dataset": ["d"] * n,
        "gloss": [f"G{j}" for j in g[:-1]] + ["SOLO"],
        "signer": [f"s{i % 4}" for i in range(n)],
        "split": ["train"] * n,
        "pose_path": ["p"] * n,
        "frames": [10] * n,
    }
    manifest.write(manifest.build(rows, x, f"model{seed}", "fp"), path)
    return rows


def test_cell_outputs_and_grid(tmp_path):
    rows = write_manifest(tmp_path / "m.parquet")
    ids = rows["video_id"][:70] + rows["video_id"][-1:] + ["not-embedded"]

    def backend(x, video_ids, k, metric):
        return topk_exact(x, x, k, metric, exclude=np.arange(len(x)))

    result = evaluate_cell(manifest.read(tmp_path / "m.parquet"), ids, subset_name="s", backend_fn=backend,
                           backend_name="test", flagged=True)
    write_cell(result, files_in(tmp_path / "cell", CELL_FILES))
    stored = json.loads((tmp_path / "cell" / "metrics.json").read_text())
    assert stored["videos"] == 71 and stored["missing_videos"] == 1 and stored["flagged"] is True
    assert stored["backend_agreement"] == 1.0
    assert result.metrics["variants"]["all"]["counts"]["excluded: only video of its gloss"] == 1
    assert 0 < stored["variants"]["all"]["metrics"]["p_at_1"] <= 1
    assert stored["variants"]["cross_signer"]["counts"]["evaluated_queries"] > 0
    nb = pd.read_parquet(tmp_path / "cell" / "neighbours.parquet")
    assert list(nb.columns[:5]) == ["query_video_id", "rank", "neighbour_video_id", "distance", "match"]
    assert len(nb) == 71 * 10 and (nb["query_video_id"] != nb["neighbour_video_id"]).all()
    assert (nb["match"] == (nb["query_gloss"] == nb["neighbour_gloss"])).all()
    tsv = pd.read_csv(tmp_path / "cell" / "metrics.tsv", sep="\t")
    assert set(tsv["variant"]) == {"all", "cross_signer"} and len(tsv) == 14
    assert list(pd.read_csv(tmp_path / "cell" / "confusions.tsv", sep="\t").columns) == ["gloss_a", "gloss_b", "a_to_b", "b_to_a", "total"]
    per_gloss = pd.read_csv(tmp_path / "cell" / "per_gloss.tsv", sep="\t")
    assert per_gloss.set_index("gloss").loc["SOLO", "queries"] == 0

    write_manifest(tmp_path / "m1.parquet", seed=1)
    write_cell(evaluate_cell(manifest.read(tmp_path / "m1.parquet"), ids, subset_name="s"),
               files_in(tmp_path / "cell1", CELL_FILES))
    grid = aggregate_grid([tmp_path / "cell", tmp_path / "cell1"], files_in(tmp_path / "report", REPORT_FILES))
    assert len(grid) == 4 and {"p_at_10", "p_at_10_chance", "flagged"} <= set(grid.columns)
    for name in ("grid.tsv", "grid_heatmap.png", "metric_bars.png", "top_confusions.png"):
        assert (tmp_path / "report" / name).stat().st_size > 0


def test_dictionary_protocol_hand_worked():
    # Train: A at 0 and 10, B at 1, C at 3 (1-D). Test at 0.9: nearest per gloss B 0.1, A 0.9, C 2.1.
    train = np.array([[0.0], [10.0], [1.0], [3.0]])
    ranks = gloss_ranks(np.array([[0.9], [0.9], [0.9]]), np.array(["A", "B", "Z"], dtype=object), train, np.array(["A", "A", "B", "C"], dtype=object), "l2")
    assert ranks.tolist() == [2, 1, 0]
    got = dictionary_metrics(ranks)
    assert got["top_1"] == 0.5 and got["top_5"] == 1.0 and got["mrr"] == 0.75
    assert got["dcg"] == (1 / np.log2(3) + 1) / 2 and got["excluded_no_training_video"] == 1


def test_text_video_hand_worked():
    # Videos: v0 (a) [1, 0], v1 (a) [0.5, 0.5], v2 (b) [0, 1]; texts a = [1, 0], b = [0, 1].
    # Similarities: v0 (1, 0), v1 (0.5, 0.5) tie -> 'a' first (list order), v2 (0, 1). All own ranks 1.
    # Text a ranks v0 (1), v1 (0.5), v2 (0): P@1 = 1. Text b ranks v2 (1), v1 (0.5), v0: P@1 = 1; P@5 counts 2/5, 1/5.
    v = np.array([[1, 0], [0.5, 0.5], [0, 1]])
    got = text_video_metrics(v, np.array(["a", "a", "b"], dtype=object), np.eye(2), ["a", "b"])
    assert got["v2t_r_at_1"] == 1.0 and got["v2t_median_rank"] == 1.0 and got["v2t_r_at_1_chance"] == 0.5
    assert got["t2v_p_at_1"] == 1.0 and got["t2v_p_at_5"] == pytest.approx((2 / 5 + 1 / 5) / 2)
