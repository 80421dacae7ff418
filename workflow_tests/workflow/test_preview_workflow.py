"""Previews as a workflow output: one make_previews job per shard of a video dataset (none for the synthetic demo),
previews under results/<dataset>/previews/<shard>/, and a rerun that redoes only the shard whose video changed."""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
import pyarrow.parquet as pq

from signsearch.layout import Layout
from signsearch.media.preview import PREVIEW_SUFFIX
from workflow_utils import demo_config, job_counts, make_workdir, snakemake


def _clip(path: Path, shade: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)  # mp4v, as webcams write: what browsers refuse
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(10):
            img = np.full((48, 64, 3), (shade + 9 * i) % 255, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def test_previews_one_job_per_shard_of_video_datasets_and_incremental(tmp_path: Path) -> None:
    videos = tmp_path / "videos"
    for i, name in enumerate(("a", "b", "c")):
        _clip(videos / "HOUSE" / f"{name}.mp4", 40 * i)
    (videos / "HOUSE" / "broken.mp4").write_bytes(b"not a video")
    cfg = demo_config()
    cfg["datasets"]["clips"] = {"kind": "folder", "path": str(videos), "shard_size": 2}
    work = make_workdir(tmp_path / "work", cfg)

    planned = job_counts(snakemake(work, "-n"))
    assert planned["make_previews"] == 2, planned  # 4 videos in shards of 2; the demo (synthetic) has none

    layout = Layout()  # relative to the work dir, as Snakemake names its targets
    targets = [str(layout.preview_index("clips", s)) for s in ("s00000", "s00001")]
    snakemake(work, *targets)
    rows = {}
    for shard in ("s00000", "s00001"):
        for row in pq.read_table(work / layout.preview_index("clips", shard)).to_pylist():
            rows[row["video_id"]] = (shard, row)
    assert set(rows) == {"HOUSE/a", "HOUSE/b", "HOUSE/c", "HOUSE/broken"}
    shard, broken = rows.pop("HOUSE/broken")
    assert broken["status"] == "failed" and "broken.mp4" in broken["detail"], broken
    for video_id, (shard, row) in rows.items():
        preview = work / layout.preview_file("clips", shard, video_id, PREVIEW_SUFFIX)
        assert row["status"] == "ok" and work / row["preview_path"] == preview, row
        assert preview.stat().st_size > 0

    # a replaced video reruns its shard only; the other preview of that shard is kept, not made again
    changed_shard = rows["HOUSE/c"][0]
    other = next(v for v, (s, _) in rows.items() if s == changed_shard and v != "HOUSE/c") if sum(
        s == changed_shard for s, _ in rows.values()) > 1 else None
    kept = work / layout.preview_file("clips", changed_shard, other, PREVIEW_SUFFIX) if other else None
    kept_mtime = kept.stat().st_mtime_ns if kept else None
    _clip(videos / "HOUSE" / "c.mp4", 200)
    os.utime(videos / "HOUSE" / "c.mp4")
    rerun = snakemake(work, *targets)
    assert job_counts(rerun)["make_previews"] == 1, rerun.stdout + rerun.stderr
    if kept:
        assert kept.stat().st_mtime_ns == kept_mtime
