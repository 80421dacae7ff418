"""SIGKILL the whole workflow in the middle of a stage; the rerun must finish with the same outputs as an
uninterrupted run (atomic writes, resumable shards, transactional database loads)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from signsearch import manifest
from workflow_utils import demo_config, make_workdir, snakemake, stop_database

pytestmark = pytest.mark.slow


def _start(workdir: Path) -> subprocess.Popen:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "2"], cwd=workdir, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 300) -> None:
    """SIGKILL snakemake and every job it started as soon as `ready()` holds."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, "the workflow ended before the kill point"
        assert time.monotonic() < deadline, "kill point never reached"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _rerun(workdir: Path) -> None:
    snakemake(workdir, "--unlock")
    snakemake(workdir)


def _video_config(videos: Path) -> dict:
    config = demo_config()
    config["datasets"] = {"clips": {"kind": "folder", "path": str(videos), "shard_size": 4}}
    config["evaluate"]["subsets"] = {"full": {"kind": "all"}}
    config["database"]["load"] = False
    return config


def _assert_same_outputs(a: Path, b: Path, dataset: str) -> None:
    poses_a = sorted(p.relative_to(a) for p in (a / "results" / dataset / "poses").rglob("*.pose"))
    poses_b = sorted(p.relative_to(b) for p in (b / "results" / dataset / "poses").rglob("*.pose"))
    assert poses_a == poses_b and poses_a
    for rel in poses_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    ma = manifest.read(a / "results" / dataset / "manifests" / "pose-baseline.parquet")
    mb = manifest.read(b / "results" / dataset / "manifests" / "pose-baseline.parquet")
    assert ma.column("video_id") == mb.column("video_id")
    np.testing.assert_array_equal(ma.vectors, mb.vectors)
    assert (a / "results/report" / dataset / "grid.tsv").read_text() == (b / "results/report" / dataset / "grid.tsv").read_text()


def test_kill_during_pose_estimation_then_rerun(tmp_path: Path, testdata: Path) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    for clip in sorted((testdata / "videos" / "croatian" / "videos").rglob("*.mp4"))[::3][:8]:
        shutil.copy(clip, videos / f"{clip.parent.name}-{clip.name}")
    config = _video_config(videos)
    reference = make_workdir(tmp_path / "reference", config)
    snakemake(reference)

    work = make_workdir(tmp_path / "killed", config)
    poses = work / "results" / "clips" / "poses"
    proc = _start(work)
    _kill_when(proc, lambda: poses.is_dir() and any(poses.rglob("*.pose")))
    assert not (poses / "s00001.parquet").exists() or not (poses / "s00000.parquet").exists()
    _rerun(work)
    _assert_same_outputs(reference, work, "clips")


def test_kill_during_database_load_then_rerun(tmp_path: Path) -> None:
    config = demo_config()
    config["evaluate"]["subsets"] = {"full": {"kind": "all"}}
    reference = make_workdir(tmp_path / "reference", config)
    work = make_workdir(tmp_path / "killed", config)
    try:
        snakemake(reference)
        proc = _start(work)
        log = work / "logs" / "demo" / "db" / "pose-baseline.log"
        _kill_when(proc, log.exists)
        _rerun(work)
        from signsearch.db import query, server

        for root in (reference, work):
            receipt = (root / "results/demo/db/pose-baseline.json").read_text()
            assert '"rows": 96' in receipt
        urls = [server.resolve_url(root / "results/database/pgdata", start=False) for root in (reference, work)]
        found = []
        for url in urls:
            with server.connect(url) as conn:
                vec = query.get_embedding(conn, "demo", "pose-baseline", "synthetic-g01-s02-t1")
                found.append([r["video_id"] for r in query.knn(conn, dataset="demo", model="pose-baseline", vector=vec, k=96, exact=True)])
        assert found[0] == found[1] and len(found[0]) == 96
    finally:
        stop_database(reference, "results/database/pgdata")
        stop_database(work, "results/database/pgdata")
