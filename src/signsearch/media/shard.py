"""The per-shard preview job: a browser-playable preview of every video of a shard, and an index of them.

One row per video (`INDEX_SCHEMA`); a video that cannot be previewed is a `failed` row with the reason in
`detail`, and the job goes on, so one bad file never costs the shard. A rerun of the shard (a video added or
replaced) keeps every preview newer than its source and makes only the others.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import av
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from signsearch.atomic import atomic_path
from signsearch.datasets.ids import file_stem
from signsearch.pose.index import read_shard_table
from signsearch.errors import UserError
from signsearch.media.preview import PREVIEW_SUFFIX, PreviewInfo, describe_preview, make_preview

INDEX_SCHEMA = pa.schema(
    [
        ("video_id", pa.string()),
        ("preview_path", pa.string()),  # None when failed
        ("status", pa.string()),  # ok | failed
        ("detail", pa.string()),  # why it failed, naming the file; None when ok
        ("codec", pa.string()),  # h264 | vp9
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("frames", pa.int32()),
        ("seconds", pa.float64()),
        ("bytes", pa.int64()),
    ]
)


def make_previews(
    records: Iterable[Mapping[str, str]],
    out_dir: str | os.PathLike[str],
    *,
    max_height: int = 360,
    fps: float | None = None,
    crf: int | None = None,
    desc: str = "previews",
) -> list[dict[str, Any]]:
    """Preview every record (keys video_id, path) as out_dir/<file stem of video_id><PREVIEW_SUFFIX>.

    Returns one `INDEX_SCHEMA` row per record, in order; never stops on a bad video.
    """
    records = list(records)
    out_dir = Path(out_dir)
    rows = []
    for record in tqdm(records, unit="video", desc=desc, file=sys.stderr):
        video_id = record["video_id"]
        target = out_dir / f"{file_stem(video_id)}{PREVIEW_SUFFIX}"
        try:
            info = _up_to_date(record["path"], target) or make_preview(record["path"], target, max_height=max_height,
                                                                      fps=fps, crf=crf)
        except (UserError, av.FFmpegError) as err:  # FFmpegError: an encoder refusing what this input decoded to
            rows.append({"video_id": video_id, "preview_path": None, "status": "failed", "detail": str(err),
                         "codec": None, "width": None, "height": None, "frames": None, "seconds": None,
                         "bytes": None})
            continue
        rows.append({"video_id": video_id, "preview_path": str(target), "status": "ok", "detail": None,
                     "codec": info.codec, "width": info.width, "height": info.height, "frames": info.frames,
                     "seconds": info.seconds, "bytes": info.bytes})
    return rows


def _up_to_date(src: str, target: Path) -> PreviewInfo | None:
    """The preview `target` if it was made after `src` last changed and still reads; None means make it."""
    try:
        if target.stat().st_mtime_ns < Path(src).stat().st_mtime_ns:
            return None
        return describe_preview(target)
    except (OSError, av.FFmpegError, IndexError):
        return None


def write_index(rows: list[dict[str, Any]], path: str | os.PathLike[str]) -> None:
    with atomic_path(path) as tmp:
        pq.write_table(pa.Table.from_pylist(rows, schema=INDEX_SCHEMA), tmp)


def process_shard(
    shard_table: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    index_out: str | os.PathLike[str],
    **settings: Any,
) -> dict[str, Any]:
    """Preview the videos of `shard_table` (TSV with video_id, path) into `out_dir`; write `index_out` (Parquet).

    `settings` go to `make_previews`. Returns {videos, ok, failed, seconds, bytes}.
    """
    start = time.perf_counter()
    members = read_shard_table(shard_table)
    rows = make_previews(members[["video_id", "path"]].to_dict("records"), out_dir, desc=Path(shard_table).stem,
                         **settings)
    write_index(rows, index_out)
    ok = [r for r in rows if r["status"] == "ok"]
    return {"videos": len(rows), "ok": len(ok), "failed": len(rows) - len(ok),
            "seconds": round(time.perf_counter() - start, 2), "bytes": sum(r["bytes"] for r in ok)}
