"""The `signsearch` command on the demo results: search output, and every user error as one line, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from signsearch import manifest

pytestmark = pytest.mark.slow


def _cli(work: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "signsearch.cli", *args], cwd=work, capture_output=True, text=True,
                          timeout=180, env={**os.environ, **(env or {})})


def test_search_by_id_prints_a_table(demo_run: Path) -> None:
    proc = _cli(demo_run, "search", "--dataset", "demo", "--model", "pose-baseline", "--id", "synthetic-g00-s00-t0", "-k", "3")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["rank", "video_id", "gloss", "signer", "distance", "path"]
    assert [line.split()[0] for line in lines[1:]] == ["1", "2", "3"]
    assert "synthetic-g00-s00-t0 " not in proc.stdout  # the query itself is left out


def test_exact_search_equals_brute_force(demo_run: Path) -> None:
    m = manifest.read(demo_run / "results/demo/manifests/pose-baseline.parquet")
    ids, x = m.column("video_id"), m.vectors
    q = ids.index("synthetic-g03-s01-t2")
    for metric in ("cosine", "l2", "ip"):
        proc = _cli(demo_run, "search", "--dataset", "demo", "--model", "pose-baseline", "--id", ids[q], "-k", "20",
                    "--metric", metric, "--exact", "--json")
        assert proc.returncode == 0, proc.stderr
        got = [r["video_id"] for r in json.loads(proc.stdout)]
        xd, qd = x.astype(np.float64), x[q].astype(np.float64)
        dist = {"cosine": 1 - xd @ qd / (np.linalg.norm(xd, axis=1) * np.linalg.norm(qd)),
                "l2": np.linalg.norm(xd - qd, axis=1), "ip": -(xd @ qd)}[metric]
        dist[q] = np.inf
        assert got == [ids[i] for i in np.argsort(dist, kind="stable")[:20]], metric


def test_search_by_pose_file_and_where_filter(demo_run: Path) -> None:
    pose = next((demo_run / "results/demo/poses").rglob("synthetic-g02-s01-t0.pose"))
    proc = _cli(demo_run, "search", "--dataset", "demo", "--model", "pose-baseline", "--video", str(pose),
                "--where", "split=test", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert rows and all(r["split"] == "test" for r in rows)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dataset", "demo", "--model", "nope", "--id", "x"], "unknown model 'nope'"),
        (["--dataset", "nope", "--model", "pose-baseline", "--id", "x"], "nope"),
        (["--dataset", "demo", "--model", "pose-baseline", "--id", "no-such-video"], "no-such-video"),
        (["--dataset", "demo", "--model", "pose-baseline", "--video", "missing.mp4"], "missing.mp4: file not found"),
        (["--dataset", "demo", "--model", "pose-baseline", "--video", "config/config.yaml"], "not a video or .pose file"),
    ],
)
def test_user_errors_are_one_line(demo_run: Path, args: list[str], message: str) -> None:
    proc = _cli(demo_run, "search", *args)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert message in proc.stderr


def test_database_not_running_is_one_line(tmp_path: Path, demo_run: Path) -> None:
    proc = _cli(demo_run, "search", "--dataset", "demo", "--model", "pose-baseline", "--id", "x",
                env={"SIGNSEARCH_DB_URL": "postgresql://user:s3cret@127.0.0.1:1/none"})
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "s3cret" not in proc.stderr


def test_db_status_and_url(demo_run: Path) -> None:
    status = _cli(demo_run, "db", "status")
    assert status.returncode == 0 and "running: True" in status.stdout
    url = _cli(demo_run, "db", "url", env={"SIGNSEARCH_DB_URL": "postgresql://user:s3cret@db.example/x"})
    assert url.returncode == 0 and "s3cret" not in url.stdout


def test_help_answers_questions() -> None:
    proc = subprocess.run([sys.executable, "-m", "signsearch.cli", "search", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    for flag in ("--video", "--id", "--text", "--where", "--exact", "--metric", "--json", "examples:"):
        assert flag in proc.stdout


def test_search_by_a_video_not_in_the_database(demo_run: Path, testdata: Path) -> None:
    """A real video is posed with MediaPipe and embedded on the fly, then searched."""
    proc = _cli(demo_run, "search", "--dataset", "demo", "--model", "pose-baseline",
                "--video", str(testdata / "videos" / "SOUP.mp4"), "-k", "5", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    assert all(np.isfinite(r["distance"]) for r in rows)
