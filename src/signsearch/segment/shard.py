"""The segmentation stage: one job per shard writes the shard's segment table (the units that get embedded).

Segment table columns (`SEGMENT_SCHEMA`): video_id (the source video), segment_index, unit_id, start_frame,
end_frame (half-open), start_s, end_s, confidence, status (ok|none), reason. A segmented dataset has one `ok` row
per sign (unit_id ``<video id>#<NNN>``) or one `none` row with the reason when a video has none; a trimmed dataset
has one row per video (unit_id = video id, segment_index null) with the kept range, `none` when no signing was
found (the unit is then the whole clip). Videos whose pose failed upstream are not listed.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pose_format import Pose

from signsearch.atomic import atomic_path
from signsearch.errors import UserError
from signsearch.layout import Layout
from signsearch.segment.activity import trim_range
from signsearch.segment.decode import SIGN_THRESHOLDS
from signsearch.segment.result import Segment
from signsearch.segment.segmenter import METHODS, input_problem, segment_pose
from signsearch.segment.tagger import SignTagger

log = logging.getLogger(__name__)

SEGMENT_SCHEMA = pa.schema(
    [
        ("video_id", pa.string()),
        ("segment_index", pa.int32()),
        ("unit_id", pa.string()),
        ("start_frame", pa.int32()),
        ("end_frame", pa.int32()),
        ("start_s", pa.float64()),
        ("end_s", pa.float64()),
        ("confidence", pa.float64()),
        ("status", pa.string()),
        ("reason", pa.string()),
    ]
)
MODEL_KEYS = set(SIGN_THRESHOLDS)  # the only settings the model method takes


def unit_id(video_id: str, index: int) -> str:
    """The searchable id of a video's sign `index` (0-based): ``<video id>#<NNN>``."""
    return f"{video_id}#{index:03d}"


def needs_model(method: str) -> bool:
    return method in ("model", "combined")


def method_params(method: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """The configured overrides that `method` takes (the config block serves every method)."""
    params = {k: v for k, v in (params or {}).items() if v is not None}
    return {k: v for k, v in params.items() if k in MODEL_KEYS} if method == "model" else params


def _none_row(video_id: str, reason: str) -> dict[str, Any]:
    return {"video_id": video_id, "segment_index": None, "unit_id": None, "start_frame": None, "end_frame": None,
            "start_s": None, "end_s": None, "confidence": None, "status": "none", "reason": reason}


def segment_rows(video_id: str, pose: Pose, method: str, params: dict[str, Any] | None,
                 tagger: SignTagger | None) -> list[dict[str, Any]]:
    """Segment table rows of one video (never raises on bad pose data: a `none` row with the reason)."""
    try:
        result = segment_pose(pose, method, method_params(method, params), tagger)
    except Exception as exc:  # a pose the segmenter cannot take is that video's problem, not the shard's
        log.warning("%s: segmentation failed: %s", video_id, exc)
        return [_none_row(video_id, f"segmentation failed: {type(exc).__name__}: {exc}"[:500])]
    if not result.segments:
        return [_none_row(video_id, result.reason or "no segments")]
    return [{"video_id": video_id, "segment_index": s.index, "unit_id": unit_id(video_id, s.index),
             "start_frame": s.start_frame, "end_frame": s.end_frame, "start_s": s.start_s, "end_s": s.end_s,
             "confidence": s.confidence, "status": "ok", "reason": None} for s in result.segments]


def trim_row(video_id: str, pose: Pose) -> dict[str, Any]:
    """The trim row of one isolated clip: the kept range, or the whole clip with the reason nothing was cut."""
    frames = int(pose.body.data.shape[0]) if pose.body.data.ndim == 4 else 0
    fps = float(pose.body.fps or 0.0) or 1.0
    problem = input_problem(pose)
    kept = None
    if problem is None:
        try:
            kept = trim_range(pose)
        except Exception as exc:  # as above: recorded, the clip stays whole
            problem = f"trim failed: {type(exc).__name__}: {exc}"[:500]
    start, end = kept if kept else (0, frames)
    reason = None if kept else (problem or "no signing activity found")
    return {"video_id": video_id, "segment_index": None, "unit_id": video_id, "start_frame": start,
            "end_frame": end, "start_s": start / fps, "end_s": end / fps, "confidence": None,
            "status": "ok" if kept else "none", "reason": reason}


def segment_shard(
    pose_index: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    method: str,
    trim: bool = False,
    settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Segment (method model|activity|combined) or trim (method none, trim true) every posed video of a shard.

    `settings` is the config's `segmentation:` block (model path, threads, params)."""
    if method != "none" and method not in METHODS:
        raise ValueError(f"unknown segmentation method '{method}' (known: none, {', '.join(METHODS)})")
    if method == "none" and not trim:
        raise ValueError("segment_shard: nothing to do (segmentation none and no trim)")
    started = time.perf_counter()
    settings = settings or {}
    poses = pq.read_table(pose_index).to_pandas()
    poses = poses[poses["status"] == "ok"]
    tagger = SignTagger(settings.get("model", "models/sign-segmentation/model.pth"), settings.get("threads", 1)) \
        if needs_model(method) else None
    rows: list[dict[str, Any]] = []
    for vid, path in zip(poses["video_id"], poses["pose_path"]):
        try:
            pose = Pose.read(Path(path).read_bytes())
        except Exception as exc:  # the pose stage read it fine; a file replaced since is recorded, not fatal
            rows.append(_none_row(vid, f"unreadable pose: {type(exc).__name__}: {exc}"[:500]))
            continue
        found = [trim_row(vid, pose)] if method == "none" else segment_rows(vid, pose, method, settings.get("params"), tagger)
        rows.extend(found)
        print(f"{vid}: {sum(r['status'] == 'ok' for r in found)} unit(s) {found[0]['reason'] or ''}".rstrip(), file=sys.stderr)
    write_table(rows, out)
    return {"videos": len(poses), "units": sum(r["status"] == "ok" for r in rows),
            "without": sum(r["status"] == "none" for r in rows), "seconds": round(time.perf_counter() - started, 2)}


def write_table(rows: list[dict[str, Any]], out: str | os.PathLike[str]) -> None:
    with atomic_path(out) as tmp:
        pq.write_table(pa.Table.from_pylist(rows, schema=SEGMENT_SCHEMA), tmp)


def collect_segments(shard_tables: Iterable[str | os.PathLike[str]], out: str | os.PathLike[str]) -> int:
    """Concatenate the shard tables into the dataset's segment table; returns its row count."""
    tables = [pq.read_table(p) for p in shard_tables]
    table = pa.concat_tables(tables) if tables else SEGMENT_SCHEMA.empty_table()
    with atomic_path(out) as tmp:
        pq.write_table(table, tmp)
    return len(table)


def read_units(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The rows of a segment table that are units to embed: every segment, and every trimmed clip (a clip where
    trimming found no activity stays whole: status none, but a unit)."""
    rows = pq.read_table(path).to_pylist()
    return [r for r in rows if r["unit_id"] is not None]


def check_model(datasets: dict[str, dict[str, Any]], settings: dict[str, Any]) -> None:
    """One clear line when a dataset's method needs the segmentation model and its file is absent (never fetched)."""
    needing = sorted(name for name, ds in datasets.items() if needs_model(ds.get("segmentation", "none")))
    path = Path(settings.get("model", "models/sign-segmentation/model.pth"))
    if needing and not path.is_file():
        raise UserError(
            f"segmentation model not found: {path} (needed by dataset(s) {', '.join(needing)}; copy the sign "
            "segmentation model.pth there or set segmentation.model; it is not downloaded)"
        )


def video_segments(layout: Layout, dataset: str, video_id: str) -> tuple[list[Segment], str | None]:
    """One source video's segments from the dataset's segment table, and the reason when it has none."""
    units, reason = video_units(layout, dataset, video_id)
    return [segment for _, segment in units], reason


def video_units(layout: Layout, dataset: str, video_id: str) -> tuple[list[tuple[str, Segment]], str | None]:
    """`video_segments` with each segment's searchable unit id (a trimmed clip's one unit is the video id)."""
    path = layout.segments(dataset)
    if not path.is_file():
        raise UserError(f"no segment table for dataset '{dataset}' ({path}); is its segmentation set and the workflow run?")
    rows = [r for r in pq.read_table(path).to_pylist() if r["video_id"] == video_id]
    if not rows:
        raise UserError(f"video '{video_id}' is not in the segment table of dataset '{dataset}' ({path})")
    ok = sorted((r for r in rows if r["status"] == "ok"), key=lambda r: r["start_frame"])
    units = [(r["unit_id"], Segment(i, r["start_frame"], r["end_frame"], r["start_s"], r["end_s"], r["confidence"] or 0.0))
             for i, r in enumerate(ok)]
    return units, None if units else rows[0]["reason"]
