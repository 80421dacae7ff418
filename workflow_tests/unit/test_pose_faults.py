"""Issue 14, items 8 and 9 at indexing (no MediaPipe: a fake estimator stands in for it).

8: a pose without usable signing (no frames, no finite point, no hand ever, 7 points) is a failed index row with
its reason, by the same validator the query path uses (`signsearch.pose.usable`).
9: faults of the machine (disk full, I/O error, a worker killed twice) fail the job instead of becoming the
video's failure; a rerun notices an `ok` row whose .pose was deleted and runs that shard again.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import hostile_poses as hp
from signsearch import config as ss_config
from signsearch.datasets import video_registry
from signsearch.layout import Layout
from signsearch.pose import shard as pose_shard
from signsearch.pose import workers
from signsearch.pose.index import describe_pose, index_shard, write_index
from signsearch.pose.workers import EnvironmentFault, Settings, Task, pose_task, pose_tasks
from workflow_utils import demo_config

UNUSABLE = {"zero_frame_pose": "no_frames", "all_nan_pose": "no_person", "seven_point_pose": "no_hands",
            "handless_pose": "no_hands"}


def test_index_refuses_poses_without_usable_signing(tmp_path: Path) -> None:
    rows = [("good", hp.write(hp.good_pose(), tmp_path / "good.pose"))]
    rows += [(name, hp.write(getattr(hp, name)(), tmp_path / f"{name}.pose")) for name in UNUSABLE]
    table = tmp_path / "shard.tsv"
    pd.DataFrame([(v, str(p)) for v, p in rows], columns=["video_id", "pose_path"]).to_csv(table, sep="\t", index=False)
    summary = index_shard(table, tmp_path / "index.parquet")
    assert summary["ok"] == 1 and summary["failed"] == len(UNUSABLE)
    index = pq.read_table(tmp_path / "index.parquet").to_pandas().set_index("video_id")
    assert index.loc["good", "status"] == "ok"
    for name, reason in UNUSABLE.items():
        assert index.loc[name, "status"] == "failed" and index.loc[name, "reason"] == reason, index.loc[name]
        assert index.loc[name, "detail"]


class _Estimator:
    """Stands in for MediaPipe: returns `result` or raises it."""

    def __init__(self, result) -> None:  # noqa: ANN001
        self.result = result

    def estimate(self, video: str):  # noqa: ANN201
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result

    def __enter__(self):  # noqa: ANN204
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        pass


def _task(tmp_path: Path) -> Task:
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not really a video")
    return Task(0, "clip", str(video), str(tmp_path / "poses" / "clip.pose"))


def test_estimated_pose_without_hands_is_a_failed_row(tmp_path: Path) -> None:
    task = _task(tmp_path)
    row = pose_task(_Estimator(hp.handless_pose()), task)
    assert row["status"] == "failed" and row["reason"] == "no_hands"
    assert not Path(task.pose_path).exists()
    assert pose_task(_Estimator(hp.good_pose()), task)["status"] == "ok"


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO, errno.EDQUOT])
def test_machine_faults_fail_the_job(tmp_path: Path, code: int) -> None:
    with pytest.raises(EnvironmentFault, match=os.strerror(code)):
        pose_task(_Estimator(OSError(code, os.strerror(code))), _task(tmp_path))


def test_an_odd_video_error_stays_the_videos_failure(tmp_path: Path) -> None:
    row = pose_task(_Estimator(ValueError("odd codec")), _task(tmp_path))
    assert row["status"] == "failed" and "odd codec" in row["detail"]


def test_disk_full_fails_the_shard_job_without_an_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    task = _task(tmp_path)
    table = tmp_path / "shard.tsv"
    pd.DataFrame({"video_id": [task.video_id], "path": [task.video], "pose_path": [task.pose_path]}).to_csv(
        table, sep="\t", index=False)
    monkeypatch.setattr(Settings, "estimator", lambda self: _Estimator(OSError(errno.ENOSPC, "No space left on device")))
    with pytest.raises(EnvironmentFault, match="No space left"):
        pose_shard.process_shard(table, tmp_path / "index.parquet")
    assert not (tmp_path / "index.parquet").exists()  # so the next run poses the shard again


class _FakeWorker:
    """A worker process that dies (an exit code) or answers (a row), by a script per video id."""

    script: dict[str, list] = {}

    def __init__(self, settings: Settings) -> None:
        self.code = 0

    def run(self, task: Task):  # noqa: ANN201
        outcome = _FakeWorker.script[task.video_id].pop(0)
        if isinstance(outcome, int):
            self.code = outcome
            return None
        return outcome(task) if callable(outcome) else outcome

    def close(self) -> int:
        return self.code


def _ok_row(task: Task) -> dict:
    return {**workers._failed_row(task), "status": "ok", "frames": 5}


def _two_tasks(tmp_path: Path) -> list[Task]:
    """Two tasks, so that pose_tasks runs worker processes (one task is posed in-process)."""
    first = _task(tmp_path)
    return [first, Task(1, "other", first.video, str(tmp_path / "poses" / "other.pose"))]


def _rows(tasks: list[Task]) -> dict[str, dict]:
    return {tasks[pos].video_id: row for pos, row in pose_tasks(tasks, Settings(), workers=2)}


def test_killed_worker_twice_fails_the_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "_Worker", _FakeWorker)
    _FakeWorker.script = {"clip": [-9, -9], "other": [_ok_row]}
    with pytest.raises(EnvironmentFault, match="killed"):
        _rows(_two_tasks(tmp_path))


def test_killed_worker_once_is_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "_Worker", _FakeWorker)
    _FakeWorker.script = {"clip": [-9, _ok_row], "other": [_ok_row]}
    assert {v: r["status"] for v, r in _rows(_two_tasks(tmp_path)).items()} == {"clip": "ok", "other": "ok"}


def test_worker_reported_fault_fails_the_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "_Worker", _FakeWorker)
    _FakeWorker.script = {"clip": [{"fault": "posing clip.mp4: OSError: [Errno 28] No space left on device"}],
                          "other": [_ok_row]}
    with pytest.raises(EnvironmentFault, match="Errno 28"):
        _rows(_two_tasks(tmp_path))


def test_a_crashing_video_is_still_its_own_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "_Worker", _FakeWorker)
    _FakeWorker.script = {"clip": [-11, -11], "other": [_ok_row]}  # SIGSEGV twice on one video: that video's fault
    rows = _rows(_two_tasks(tmp_path))
    assert rows["clip"]["status"] == "failed" and "exit code -11" in rows["clip"]["detail"]
    assert rows["other"]["status"] == "ok"


def test_registry_sync_reruns_a_shard_whose_pose_was_deleted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = ss_config.validate(demo_config())
    layout = Layout(tmp_path / "results")
    cfg = config["datasets"]["demo"]
    videos = video_registry.sync("demo", cfg, layout, config["shard_size"])
    shard = sorted(videos["shard"].unique())[0]
    members = videos[videos["shard"] == shard]
    rows = []
    for vid, pose_path in zip(members["video_id"], members["pose_path"]):
        Path(pose_path).parent.mkdir(parents=True, exist_ok=True)
        hp.write(hp.good_pose(), Path(pose_path))
        rows.append(describe_pose(vid, pose_path))
    index = layout.pose_index("demo", shard)
    write_index(rows, index)
    video_registry.sync("demo", cfg, layout, config["shard_size"])
    assert index.is_file()  # every .pose present: the shard stays done

    Path(rows[0]["pose_path"]).unlink()  # deleted by hand after a successful run
    video_registry.sync("demo", cfg, layout, config["shard_size"])
    assert not index.exists()  # so Snakemake runs the shard's pose job again
