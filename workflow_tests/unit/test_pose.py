"""Pose stage on real videos: same content as pose-format's `video_to_pose`, bad videos recorded, resumable.

The reference .pose files were made by `video_to_pose --format mediapipe` (mediapipe 0.10.21, one fresh
process per video). On the development machine our output is byte-identical to them (max coordinate
difference 0.0); the tolerance below only leaves room for another CPU's SIMD code path.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from pose_format import Pose

from signsearch.pose.index import INDEX_SCHEMA
from signsearch.pose.probe import TRUNCATED, VideoInfo, VideoFailure, check_decoded
from signsearch.pose.shard import process_shard

COORD_TOLERANCE = 0.01  # pixels (image landmarks) / pose-format's scaled units (world landmarks)
CONF_TOLERANCE = 1e-4

CROATIAN = ["bijelo/0000", "crn/0001", "zuta/0002"]
# video_id -> expected failure reason; ids carry quotes, commas and a tab on purpose.
BAD = {
    "empty": "unreadable",
    'football "cut" in the middle': "truncated",
    "football\tindex only": "truncated",
    "soup, cut in the middle": "unreadable",
    "notes.txt renamed": "unreadable",
    "blank wall": "no_person",
    "gone": "missing",
}


def _references(testdata: Path) -> dict[str, tuple[Path, Path]]:
    """video_id -> (video, reference .pose) for the good videos."""
    refs = {
        "FOOTBALL": (testdata / "videos/FOOTBALL.mp4", testdata / "poses/FOOTBALL.mediapipe-regenerated.pose"),
        "SOUP": (testdata / "videos/SOUP.mp4", testdata / "poses/SOUP.mediapipe-regenerated.pose"),
    }
    croatian = testdata / "videos/croatian"
    for name in CROATIAN:
        refs[f"hr/{name}"] = (croatian / f"videos/{name}.mp4", croatian / f"poses/{name}.pose")
    return refs


def _write_table(path: Path, rows: list[tuple[str, Path, Path]]) -> Path:
    # Written the way the dataset registry writes shard tables (pandas, minimal quoting).
    frame = pd.DataFrame([(vid, str(video), str(pose)) for vid, video, pose in rows],
                         columns=["video_id", "path", "pose_path"])
    frame.to_csv(path, sep="\t", index=False, lineterminator="\n")
    return path


def _blank_video(path: Path) -> Path:
    """A real decodable mp4 of a plain wall: nothing for MediaPipe to find."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (160, 120))
    assert writer.isOpened()
    for i in range(12):
        writer.write(np.full((120, 160, 3), 90 + i, dtype=np.uint8))
    writer.release()
    return path


def _bad_videos(testdata: Path, folder: Path) -> dict[str, Path]:
    folder.mkdir()
    football = (testdata / "videos/FOOTBALL.mp4").read_bytes()  # moov (the index) before the data
    soup = (testdata / "videos/SOUP.mp4").read_bytes()  # moov after the data
    moov_start = football.index(b"moov") - 4  # an MP4 box: 4-byte big-endian size, then its type
    moov_end = moov_start + int.from_bytes(football[moov_start : moov_start + 4], "big")
    files = {
        "empty": b"",
        'football "cut" in the middle': football[: len(football) // 2],
        "football\tindex only": football[:moov_end],  # declares every frame, holds none
        "soup, cut in the middle": soup[: len(soup) // 2],
        "notes.txt renamed": b"These are my notes, not a video.\n" * 20,
    }
    paths = {}
    for i, (vid, data) in enumerate(files.items()):
        paths[vid] = folder / f"bad{i}.mp4"
        paths[vid].write_bytes(data)
    paths["blank wall"] = _blank_video(folder / "blank.mp4")
    paths["gone"] = folder / "never-written.mp4"
    return paths


@pytest.fixture(scope="module")
def shard(testdata: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One real shard job (2 workers): good videos copied (so the resume test may touch them) among bad ones."""
    root = tmp_path_factory.mktemp("pose_shard")
    (root / "videos").mkdir()
    rows: list[tuple[str, Path, Path]] = []
    refs = _references(testdata)
    for i, (vid, (video, _)) in enumerate(refs.items()):
        copy = root / "videos" / f"good{i}.mp4"
        shutil.copy2(video, copy)
        rows.append((vid, copy, root / "poses" / f"good{i}.pose"))
    for i, (vid, video) in enumerate(_bad_videos(testdata, root / "bad").items()):
        rows.insert(2 * i + 1, (vid, video, root / "poses" / f"bad{i}.pose"))  # bad ones among the good ones
    table = _write_table(root / "shard.tsv", rows)
    index = root / "index.parquet"
    summary = process_shard(table, index, workers=2)
    return {"root": root, "rows": rows, "table": table, "index": index, "summary": summary, "refs": refs}


def _index(path: Path) -> pd.DataFrame:
    return pq.read_table(path).to_pandas().set_index("video_id", drop=False)


def test_poses_equal_video_to_pose_references(shard: dict) -> None:
    index = _index(shard["index"])
    worst = 0.0
    for vid, (_, reference) in shard["refs"].items():
        row = index.loc[vid]
        assert row["status"] == "ok", (vid, row["reason"], row["detail"])
        ours = Pose.read(Path(row["pose_path"]).read_bytes())
        ref = Pose.read(reference.read_bytes())
        assert [(c.name, c.points, c.format) for c in ours.header.components] == [
            (c.name, c.points, c.format) for c in ref.header.components
        ]
        assert ours.header.total_points() == ref.header.total_points() == 576
        assert ours.header.dimensions.width == ref.header.dimensions.width == row["width"]
        assert ours.header.dimensions.height == ref.header.dimensions.height == row["height"]
        assert ours.body.fps == ref.body.fps == row["fps"]
        assert ours.body.data.shape == ref.body.data.shape
        assert ours.body.data.shape[0] == row["frames"]
        diff = np.abs(np.asarray(ours.body.data.filled(0)) - np.asarray(ref.body.data.filled(0))).max()
        worst = max(worst, float(diff))
        np.testing.assert_allclose(ours.body.confidence, ref.body.confidence, atol=CONF_TOLERANCE, rtol=0)
    assert worst <= COORD_TOLERANCE, f"max coordinate difference {worst}"


def test_bad_videos_are_recorded_and_the_good_ones_posed(shard: dict) -> None:
    table = pq.read_table(shard["index"])
    assert table.schema.equals(INDEX_SCHEMA)
    index = table.to_pandas()
    assert list(index["video_id"]) == [vid for vid, _, _ in shard["rows"]]  # one row per input, in order
    failed = index[index["status"] == "failed"].set_index("video_id")
    assert dict(failed["reason"]) == BAD
    assert failed["detail"].str.len().min() > 0
    for _, row in failed.iterrows():
        assert not Path(row["pose_path"]).exists()
    assert (index[index["status"] == "ok"]["video_id"].tolist()) == list(shard["refs"])
    assert shard["summary"]["ok"] == len(shard["refs"]) and shard["summary"]["failed"] == len(BAD)
    assert shard["summary"]["frames"] == index[index["status"] == "ok"]["frames"].sum()


def test_decoding_fewer_frames_than_declared_is_truncated() -> None:
    info = VideoInfo(width=480, height=360, fps=30.0, declared_frames=60)
    check_decoded(54, info, 0.9)  # 90 % decode: accepted (headers often over-declare by a frame or two)
    with pytest.raises(VideoFailure) as failure:
        check_decoded(53, info, 0.9)
    assert failure.value.reason == TRUNCATED


def test_pose_does_not_depend_on_the_videos_before_it(testdata: Path, tmp_path: Path) -> None:
    """SOUP posed after FOOTBALL by one model equals SOUP posed by a fresh model (pose_video)."""
    from signsearch.pose.estimate import pose_video

    soup = testdata / "videos/SOUP.mp4"
    table = _write_table(tmp_path / "shard.tsv", [
        ("FOOTBALL", testdata / "videos/FOOTBALL.mp4", tmp_path / "FOOTBALL.pose"),
        ("SOUP", soup, tmp_path / "SOUP.pose"),
    ])
    summary = process_shard(table, tmp_path / "index.parquet", workers=1)
    assert summary["ok"] == 2
    fresh = io.BytesIO()
    pose_video(soup).write(fresh)
    assert (tmp_path / "SOUP.pose").read_bytes() == fresh.getvalue()


def test_rerun_skips_done_videos_and_redoes_changed_ones(shard: dict) -> None:
    table, index = shard["table"], shard["index"]
    good = [(vid, video, pose) for vid, video, pose in shard["rows"] if vid in shard["refs"]]
    mtimes = {vid: pose.stat().st_mtime_ns for vid, _, pose in good}
    before = pq.read_table(index)

    again = process_shard(table, index, workers=2)
    assert again["skipped"] == len(good) and again["ok"] == len(good) and again["frames"] == 0
    assert {vid: pose.stat().st_mtime_ns for vid, _, pose in good} == mtimes
    assert pq.read_table(index).equals(before)

    # A changed source is posed again; the others stay skipped.
    vid, video, pose = good[0]
    os.utime(video, ns=(video.stat().st_atime_ns, video.stat().st_mtime_ns + 10**9))
    changed = process_shard(table, index, workers=1)
    assert changed["skipped"] == len(good) - 1 and changed["ok"] == len(good)
    assert pose.stat().st_mtime_ns > mtimes[vid]
    assert _index(index).loc[vid, "source_mtime_ns"] == video.stat().st_mtime_ns

    # A job killed before it wrote its index: the finished poses (newer than their sources) are kept.
    index.unlink()
    resumed = process_shard(table, index, workers=1)
    assert resumed["skipped"] == len(good) and resumed["ok"] == len(good)
    after = pq.read_table(index)
    for column in ("video_id", "status", "reason", "frames", "fps", "width", "height"):
        assert after.column(column).to_pylist() == before.column(column).to_pylist(), column
