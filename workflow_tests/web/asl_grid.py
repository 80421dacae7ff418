"""An evaluation grid at ASL Citizen's size without running the workflow: clustered synthetic vectors for 2,731
glosses (52 signers, split by signer as ASL Citizen), one model's manifest, the four subsets' cells written by the
real `evaluate_cell` / `write_cell`, and the grid job's table and figures (`write_grid`), under a results tree
the web app serves (registry, dataset.json, manifest, eval cells, report). For bench/bench_results_page.py and
the browser test of the results page at this size.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from signsearch import manifest
from signsearch.datasets.video_registry import REGISTRY_COLUMNS
from signsearch.evaluate.cell import evaluate_cell, write_cell
from signsearch.evaluate.grid import write_grid
from signsearch.layout import Layout

DATASET = "asl_citizen"
MODEL = "pose-baseline"
GLOSSES = 2731
SIGNERS = 52
SPLITS = {"train": 35, "val": 6, "test": 11}  # signers per split, as ASL Citizen


def synthetic_manifest(videos: int, glosses: int = GLOSSES, dim: int = 32, seed: int = 0) -> pd.DataFrame:
    """Rows (video_id, gloss, signer, split) and vectors: each gloss a cluster; pairs of glosses lie close together
    (a realistic amount of confusion, so confusions.tsv has thousands of pairs)."""
    rng = np.random.default_rng(seed)
    names = np.array([f"GLOSS{i:04d}" for i in range(glosses)], dtype=object)
    centres = rng.normal(size=(glosses, dim))
    centres[1::2] = centres[0::2][: glosses // 2] + 0.6 * rng.normal(size=(glosses // 2, dim))  # look-alike pairs
    gloss_of = np.arange(videos) % glosses
    signer = rng.integers(0, SIGNERS, videos)
    vectors = centres[gloss_of] + 0.9 * rng.normal(size=(videos, dim))
    bounds = np.cumsum(list(SPLITS.values()))
    split = np.array(list(SPLITS), dtype=object)[np.searchsorted(bounds, signer, side="right")]
    meta = pd.DataFrame({"video_id": [f"v{i:06d}" for i in range(videos)], "gloss": names[gloss_of],
                         "signer": [f"s{s:02d}" for s in signer], "split": split})
    meta["vector"] = list(vectors.astype(np.float32))
    return meta


def subsets(meta: pd.DataFrame) -> dict[str, list[str]]:
    """The four subsets of the workflow's default grid: full, test, 400 glosses x up to 10, 20 glosses x up to 5."""
    first = sorted(meta["gloss"].unique())

    def pick(n: int, per: int) -> list[str]:
        return meta[meta["gloss"].isin(first[:n])].groupby("gloss").head(per)["video_id"].tolist()

    return {"full": meta["video_id"].tolist(), "test": meta.loc[meta["split"] == "test", "video_id"].tolist(),
            "400x10": pick(400, 10), "20x5": pick(20, 5)}


def build(root: Path, videos: int, glosses: int = GLOSSES) -> dict[str, float]:
    """The results tree under root/results; returns seconds per step (cells, grid)."""
    layout = Layout(root / "results")
    meta = synthetic_manifest(videos, glosses)
    reg = meta.assign(path=None, source="poses", shard="s00000", pose_path=None)[REGISTRY_COLUMNS]
    layout.registry(DATASET).parent.mkdir(parents=True, exist_ok=True)
    reg.to_parquet(layout.registry(DATASET), index=False)
    layout.dataset_record(DATASET).write_text(json.dumps({"name": DATASET, "kind": "poses", "root": str(root)}))
    rows = {"video_id": meta["video_id"].tolist(), "dataset": [DATASET] * len(meta), "gloss": meta["gloss"].tolist(),
            "signer": meta["signer"].tolist(), "split": meta["split"].tolist(),
            "pose_path": [f"{v}.pose" for v in meta["video_id"]], "frames": [60] * len(meta)}
    table = manifest.build(rows, np.stack(meta["vector"].to_list()), MODEL, "synthetic")
    path = layout.manifest(DATASET, MODEL)
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest.write(table, path)
    m = manifest.read(path)
    times: dict[str, float] = {}
    metrics_files = []
    for name, ids in subsets(meta).items():
        started = time.perf_counter()
        outputs = layout.cell(DATASET, MODEL, name)
        write_cell(evaluate_cell(m, ids, subset_name=name, dataset=DATASET), outputs)
        times[f"cell {name} ({len(ids)} videos)"] = time.perf_counter() - started
        metrics_files.append(str(outputs["metrics"]))
    started = time.perf_counter()
    write_grid(metrics_files, {k: str(v) for k, v in layout.report(DATASET).items()}, dataset=DATASET)
    times["grid job"] = time.perf_counter() - started
    return times
