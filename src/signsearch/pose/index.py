"""The pose index of a shard (its schema and rows), the shard jobs that need no pose estimation (existing .pose
files, the synthetic demo), and the per-dataset pose index + failures table gathered from all shard indexes.

A shard index has one row per video of the shard with the columns of ``INDEX_SCHEMA``; ``status`` is ``ok`` or
``failed`` (with ``reason`` and ``detail``). Failed videos are left out downstream.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pose_format import Pose

from signsearch.atomic import atomic_path
from signsearch.pose.usable import unusable

INDEX_SCHEMA = pa.schema(
    [
        ("video_id", pa.string()),
        ("pose_path", pa.string()),
        ("status", pa.string()),
        ("reason", pa.string()),
        ("detail", pa.string()),
        ("frames", pa.int32()),
        ("fps", pa.float64()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("source_size", pa.int64()),
        ("source_mtime_ns", pa.int64()),
    ]
)


def read_shard_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def write_index(rows: list[dict[str, Any]], path: str | os.PathLike[str]) -> None:
    table = pa.Table.from_pylist(rows, schema=INDEX_SCHEMA)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def describe_pose(video_id: str, pose_path: str, source: str | None = None) -> dict[str, Any]:
    """An index row for a .pose file on disk: ok with its frame count, or failed with the reason."""
    src = Path(source or pose_path)
    stat = src.stat() if src.exists() else None
    row: dict[str, Any] = {
        "video_id": video_id, "pose_path": pose_path, "status": "failed", "reason": None, "detail": None,
        "frames": 0, "fps": 0.0, "width": 0, "height": 0,
        "source_size": stat.st_size if stat else 0, "source_mtime_ns": stat.st_mtime_ns if stat else 0,
    }
    if stat is None:
        return {**row, "reason": "missing", "detail": f"{src} does not exist"}
    try:
        pose = Pose.read(Path(pose_path).read_bytes())
    except Exception as exc:  # any parse failure of a foreign file is that file's problem, not the run's
        return {**row, "reason": "unreadable_pose", "detail": f"{type(exc).__name__}: {exc}"[:500]}
    frames = int(pose.body.data.shape[0])
    row.update(frames=frames, fps=float(pose.body.fps), width=int(pose.header.dimensions.width), height=int(pose.header.dimensions.height))
    problem = unusable(pose)
    if problem is not None:
        return {**row, "reason": problem[0], "detail": problem[1]}
    return {**row, "status": "ok"}


def lost_poses(index: str | os.PathLike[str]) -> list[str]:
    """Video ids the shard index calls ok whose .pose no longer exists (deleted since): the shard must rerun."""
    if not Path(index).is_file():
        return []
    try:
        rows = pq.read_table(index, columns=["video_id", "pose_path", "status"]).to_pylist()
    except (OSError, ValueError, pa.ArrowException):  # damaged: a rerun rewrites it anyway
        return []
    return [r["video_id"] for r in rows if r["status"] == "ok" and not Path(r["pose_path"]).exists()]


def index_shard(shard_table: str | os.PathLike[str], index_out: str | os.PathLike[str]) -> dict[str, Any]:
    """Index a shard of existing .pose files (they are used in place)."""
    start = time.perf_counter()
    members = read_shard_table(shard_table)
    rows = [describe_pose(v, p) for v, p in zip(members["video_id"], members["pose_path"])]
    write_index(rows, index_out)
    ok = sum(r["status"] == "ok" for r in rows)
    return {"videos": len(rows), "ok": ok, "failed": len(rows) - ok, "seconds": round(time.perf_counter() - start, 2)}


def synthesize_shard(shard_table: str | os.PathLike[str], index_out: str | os.PathLike[str], cfg: dict[str, Any]) -> dict[str, Any]:
    """Generate the synthetic poses of one shard (deterministic: a rerun writes identical bytes)."""
    from signsearch.datasets import synthetic

    start = time.perf_counter()
    members = read_shard_table(shard_table)
    wanted = dict(zip(members["video_id"], members["pose_path"]))
    rows = []
    for spec in synthetic.rows_for(cfg["glosses"], cfg["signers"], cfg["takes"], cfg["seed"]):
        if spec["video_id"] in wanted:
            out = wanted[spec["video_id"]]
            synthetic.generate_one(spec, Path(out))
            rows.append(describe_pose(spec["video_id"], out))
    write_index(rows, index_out)
    return {"videos": len(rows), "ok": sum(r["status"] == "ok" for r in rows), "seconds": round(time.perf_counter() - start, 2)}


def collect(shard_indexes: Iterable[str | os.PathLike[str]], index_out: str | os.PathLike[str], failures_out: str | os.PathLike[str]) -> dict[str, int]:
    """Concatenate shard indexes into one dataset index and write its failures table (TSV)."""
    tables = [pq.read_table(p) for p in shard_indexes]
    table = pa.concat_tables(tables) if tables else INDEX_SCHEMA.empty_table()
    with atomic_path(index_out) as tmp:
        pq.write_table(table, tmp)
    frame = table.to_pandas()
    failed = frame[frame["status"] != "ok"]
    with atomic_path(failures_out) as tmp:
        failed[["video_id", "reason", "detail"]].rename(columns={"video_id": "video"}).to_csv(tmp, sep="\t", index=False)
    return {"ok": int((frame["status"] == "ok").sum()), "failed": int(len(failed))}
