"""Issue 16: the web app poses an uploaded query in 2 parts at once on warm worker processes (`pose.parts`).

The joined pose has the header, fps and frame count of the pose made in one piece; frames before the cut are the
same, frames after it differ a little, as tracking restarts at the cut (numbers: bench/measure_split_pose.py).
A bad video or a crashing worker gives a one-line `UserError`, as posing in one piece does, and never hangs.
"""

from __future__ import annotations

import functools
import os
import signal
from pathlib import Path

import cv2
import numpy as np
import pytest

from signsearch import config as ss_config
from signsearch.embed.spec import spec_of
from signsearch.pose import workers as pose_workers
from signsearch.pose.estimate import pose_video
from signsearch.pose.parts import cuts, pose_in_parts
from signsearch.pose.probe import VideoFailure
from signsearch.pose.workers import Settings, WarmWorkers
from signsearch.search import SearchError, embed_file
from workflow_utils import demo_config

COORD_TOLERANCE = 0.01  # pixels: room for another CPU's SIMD code path (test_pose.py)
AWAY = 5  # frames after the cut
FACE = slice(33, 501)
SHOULDERS = [11, 12]


@pytest.fixture(scope="module")
def workers():
    pool = WarmWorkers(Settings(), 2)
    pool.start()
    yield pool
    pool.close()


def _blank_video(path: Path, frames: int = 12) -> Path:
    """A real decodable mp4 of a plain wall: nothing for MediaPipe to find."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (160, 120))
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((120, 160, 3), 90 + i, dtype=np.uint8))
    writer.release()
    return path


def test_cuts_are_contiguous_and_the_last_runs_to_the_end() -> None:
    assert cuts(104, 2) == [(0, 52), (52, None)]
    assert cuts(7, 3) == [(0, 2), (2, 5), (5, None)]
    assert cuts(1, 2) == [(0, None)]


def test_a_video_posed_in_parts_is_laid_out_as_in_one_piece(testdata: Path, workers: WarmWorkers) -> None:
    video = testdata / "videos/croatian/videos/crn/0001.mp4"
    whole, parts = pose_video(video), pose_in_parts(video, workers)
    assert parts.body.data.shape == whole.body.data.shape and parts.body.fps == whole.body.fps
    assert parts.header.dimensions.width == whole.header.dimensions.width
    assert parts.header.dimensions.height == whole.header.dimensions.height
    assert [(c.name, c.points, c.format) for c in parts.header.components] == \
           [(c.name, c.points, c.format) for c in whole.header.components]
    cut = cuts(len(whole.body.data), 2)[1][0]
    a, b = np.asarray(whole.body.data.data), np.asarray(parts.body.data.data)
    np.testing.assert_allclose(b[:cut], a[:cut], atol=COORD_TOLERANCE)
    np.testing.assert_array_equal(parts.body.confidence[:cut], whole.body.confidence[:cut])
    # After the cut tracking took another path: the face and shoulders stay within a few pixels.
    seen = (whole.body.confidence[cut + AWAY:, 0] > 0) & (parts.body.confidence[cut + AWAY:, 0] > 0)
    diff = np.abs(a[cut + AWAY:, 0, :, :2] - b[cut + AWAY:, 0, :, :2]).max(-1)
    for points in (FACE, SHOULDERS):
        assert seen[:, points].all()
        assert diff[:, points].max() < 5, diff[:, points].max()


def test_bad_videos_fail_as_in_one_piece(tmp_path: Path, workers: WarmWorkers) -> None:
    blank = _blank_video(tmp_path / "blank.mp4")
    cut_short = tmp_path / "short.mp4"
    cut_short.write_bytes(blank.read_bytes()[:600])
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("hello")
    for video in (blank, cut_short, not_video, tmp_path / "gone.mp4"):
        with pytest.raises(VideoFailure) as whole:
            pose_video(video)
        with pytest.raises(VideoFailure) as parts:
            pose_in_parts(video, workers)
        assert str(parts.value) == str(whole.value)


class _DyingWorker:
    """A worker process that crashes (SIGSEGV) on every video."""

    def __init__(self, settings: Settings) -> None:
        pass

    def run(self, task: pose_workers.Task) -> None:
        return None

    def close(self) -> int:
        return -signal.SIGSEGV


def test_a_crashing_worker_is_a_one_line_user_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pose_workers, "_Worker", _DyingWorker)
    spec = spec_of(ss_config.validate(demo_config()), "pose-baseline")
    poser = functools.partial(pose_in_parts, workers=WarmWorkers(Settings(), 2))
    with pytest.raises(SearchError) as err:
        embed_file(_blank_video(tmp_path / "blank.mp4"), spec, "clip.mp4", poser=poser)
    assert str(err.value) == ("clip.mp4: cannot pose this video: error: the worker process died (exit code -11) "
                              "posing this video")


def test_a_worker_that_died_between_queries_is_replaced(tmp_path: Path, workers: WarmWorkers) -> None:
    for slot in workers._slots:
        os.kill(slot._worker._proc.pid, signal.SIGKILL)
        slot._worker._proc.wait()
    with pytest.raises(VideoFailure, match="no_person"):  # posed after all, by fresh processes
        pose_in_parts(_blank_video(tmp_path / "blank.mp4"), workers)


def test_the_app_poses_queries_as_its_config_says(tmp_path: Path) -> None:
    from signsearch.web.backend import Backend

    config = ss_config.validate(demo_config())
    assert config["app"]["query_pose_workers"] == 2  # the default
    backend = Backend(None, tmp_path)
    poser = backend.query_poser(config)
    assert poser.func is pose_in_parts and poser.keywords["workers"].size == 2
    assert backend.query_poser({**config, "app": {"query_pose_workers": 1}}) is None  # in one piece, in-process
    backend.close()
    with pytest.raises(ss_config.ConfigError, match="app/query_pose_workers"):
        ss_config.validate({**demo_config(), "app": {"query_pose_workers": 0}})
