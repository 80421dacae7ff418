"""The pose stage on a real clip: MediaPipe's `inference_feedback_manager.cc:114` lines (eight per video, written by
C++ to fd 2) are left out of the log, in this process and in worker processes; real stderr lines, C-level ones
included, are kept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from signsearch.pose import stderr_filter

NOISE = b"inference_feedback_manager.cc:114"
GENUINE = b"GENUINE-C-LEVEL-WARNING: written with libc write(2) while posing\n"
# A pose job: process_shard with its stderr (fd 2) in a log file. HolisticEstimator.estimate first writes a line
# to fd 2 from C (libc), as a real warning of a native library would be.
JOB = f"""
import ctypes, sys
from signsearch.pose import estimate
from signsearch.pose.shard import process_shard
line = {GENUINE!r}
original = estimate.HolisticEstimator.estimate
def estimate_and_warn(self, video):
    ctypes.CDLL(None).write(2, line, len(line))
    return original(self, video)
estimate.HolisticEstimator.estimate = estimate_and_warn
process_shard(sys.argv[1], sys.argv[2], workers=int(sys.argv[3]))
"""


def _pose_job(tmp_path: Path, video: Path, videos: int, workers: int) -> tuple[bytes, list[dict]]:
    rows = [f"v{i}\t{video}\t{tmp_path / f'v{i}.pose'}" for i in range(videos)]
    (tmp_path / "shard.tsv").write_text("\n".join(["video_id\tpath\tpose_path", *rows]) + "\n")
    log = tmp_path / "job.log"
    with open(log, "wb") as fh:
        subprocess.run([sys.executable, "-c", JOB, str(tmp_path / "shard.tsv"), str(tmp_path / "index.parquet"),
                        str(workers)], stderr=fh, check=True, timeout=600)
    return log.read_bytes(), pq.read_table(tmp_path / "index.parquet").to_pylist()


@pytest.fixture
def soup(testdata: Path) -> Path:
    video = testdata / "videos" / "SOUP.mp4"
    if not video.is_file():
        pytest.skip(f"{video} absent from the test material")
    return video


def test_in_process_pose_log_has_no_feedback_manager_noise(soup: Path, tmp_path: Path) -> None:
    log, rows = _pose_job(tmp_path, soup, videos=1, workers=1)
    assert [r["status"] for r in rows] == ["ok"]
    assert NOISE not in log, log.decode(errors="replace")[-2000:]
    assert GENUINE in log  # a real line written by C code to fd 2 survives


def test_worker_pose_log_has_no_feedback_manager_noise(soup: Path, tmp_path: Path) -> None:
    log, rows = _pose_job(tmp_path, soup, videos=2, workers=2)  # two videos: two worker processes
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert NOISE not in log, log.decode(errors="replace")[-2000:]
    # MediaPipe's own other C++ warnings, from the workers' fd 2, still reach the log.
    assert b"landmark_projection_calculator.cc" in log, log.decode(errors="replace")[-2000:]


def test_filter_keeps_partial_lines_and_drops_only_noise(capfd: pytest.CaptureFixture[str]) -> None:
    noise = b"W0000 00:00:1.0 1 inference_feedback_manager.cc:114] Feedback manager requires a model ...\n"
    with stderr_filter.filtered_stderr():
        for chunk in (b"progress 1\r", noise[:20], noise[20:], b"E real error\n", b"no newline at the end"):
            os.write(2, chunk)
    assert capfd.readouterr().err == "progress 1\rE real error\nno newline at the end"
