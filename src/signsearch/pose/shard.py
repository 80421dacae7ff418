"""The per-shard pose job: pose every video of a shard table, write each .pose atomically and an index.

Resumable: a video is skipped when its .pose exists and belongs to the current source file (see
`_reusable_row`), so a killed job picks up where it stopped and an unchanged video is never posed twice.
Bad videos are recorded as failed rows and never stop the job.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from tqdm import tqdm

from signsearch.pose.index import describe_pose, read_shard_table, write_index
from signsearch.pose.probe import DEFAULT_FRAME_TOLERANCE
from signsearch.pose.workers import Settings, Task, pose_tasks


def process_shard(
    shard_table: str | os.PathLike[str],
    index_out: str | os.PathLike[str],
    *,
    workers: int = 1,
    model_complexity: int = 1,
    refine_face_landmarks: bool = False,
    frame_tolerance: float = DEFAULT_FRAME_TOLERANCE,
) -> dict[str, Any]:
    """Pose the videos of `shard_table` (TSV: video_id, path, pose_path) and write `index_out` (Parquet).

    `workers` processes each load MediaPipe once (1 = in this process). Returns
    {videos, ok, failed, skipped, seconds, frames}; `frames` counts the frames posed by this run.
    """
    start = time.perf_counter()
    members = read_shard_table(shard_table)
    previous = _previous_rows(Path(index_out))
    rows: list[dict[str, Any] | None] = []
    todo: list[Task] = []
    for position, (video_id, video, pose_path) in enumerate(
        zip(members["video_id"], members["path"], members["pose_path"])
    ):
        row = _reusable_row(video_id, video, pose_path, previous.get(video_id))
        rows.append(row)
        if row is None:
            todo.append(Task(position, video_id, video, pose_path))

    settings = Settings(model_complexity, refine_face_landmarks, frame_tolerance)
    skipped = len(rows) - len(todo)
    frames = 0
    with tqdm(total=len(rows), initial=skipped, unit="video", desc=Path(shard_table).stem, file=sys.stderr) as bar:
        for position, row in pose_tasks(todo, settings, workers):
            rows[position] = row
            frames += row["frames"] if row["status"] == "ok" else 0
            bar.update()

    write_index(rows, index_out)
    ok = sum(r["status"] == "ok" for r in rows)
    return {
        "videos": len(rows),
        "ok": ok,
        "failed": len(rows) - ok,
        "skipped": skipped,
        "seconds": round(time.perf_counter() - start, 2),
        "frames": frames,
    }


def _previous_rows(index: Path) -> dict[str, dict[str, Any]]:
    if not index.exists():
        return {}
    return {row["video_id"]: row for row in pq.read_table(index).to_pylist()}


def _reusable_row(video_id: str, video: str, pose_path: str, previous: dict[str, Any] | None) -> dict[str, Any] | None:
    """The index row of a video that needs no posing, or None.

    With a previous index row: it must say ok for this pose_path and the source's current size and
    mtime. Without one (a job killed before it wrote its index): the .pose must be newer than the
    source. Poses are written atomically, so an existing .pose is always complete.
    """
    pose, source = Path(pose_path), Path(video)
    if not pose.exists() or not source.exists():
        return None
    stat = source.stat()
    if previous is not None:
        same = (
            previous["status"] == "ok"
            and previous["pose_path"] == pose_path
            and previous["source_size"] == stat.st_size
            and previous["source_mtime_ns"] == stat.st_mtime_ns
        )
        return previous if same else None
    if pose.stat().st_mtime_ns < stat.st_mtime_ns:
        return None
    row = describe_pose(video_id, pose_path, source=video)
    return row if row["status"] == "ok" else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shard_table", help="TSV with columns video_id, path, pose_path")
    parser.add_argument("index_out", help="Parquet index to write (one row per video)")
    parser.add_argument("--workers", type=int, default=1, help="processes, each with its own model (default 1)")
    parser.add_argument("--model-complexity", type=int, default=1)
    parser.add_argument("--refine-face-landmarks", action="store_true")
    parser.add_argument("--frame-tolerance", type=float, default=DEFAULT_FRAME_TOLERANCE,
                        help="fail a video decoding fewer than this fraction of its declared frames")
    args = parser.parse_args(argv)
    summary = process_shard(args.shard_table, args.index_out, workers=args.workers,
                            model_complexity=args.model_complexity,
                            refine_face_landmarks=args.refine_face_landmarks,
                            frame_tolerance=args.frame_tolerance)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
