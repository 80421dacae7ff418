"""The per-dataset video registry: every video with a stable id and a stable shard.

Shards are the unit of cluster work. A video keeps its shard forever: videos added later go to new shards, so
the outputs of existing shards stay valid and a rerun only computes what the new videos need. Files written here
are rewritten only when their content changes, so Snakemake sees unchanged inputs as unchanged. A shard whose
index calls a video posed although its .pose was deleted loses that index, so its pose job runs again.

Files (paths from `signsearch.layout`): the registry, the dataset record and one shard table per shard
(video_id, path, pose_path: the input of one pose job).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from signsearch import atomic
from signsearch.datasets import ingest
from signsearch.layout import Layout
from signsearch.pose.index import lost_poses

REGISTRY_COLUMNS = ["video_id", "path", "gloss", "signer", "split", "source", "shard", "pose_path"]
SHARD_FORMAT = "s{:05d}"


def assign_shards(videos: pd.DataFrame, previous: pd.DataFrame | None, shard_size: int) -> pd.Series:
    """Keep every known video's shard; put new videos (in id order) into new shards after the last one."""
    known = dict(zip(previous["video_id"], previous["shard"])) if previous is not None and len(previous) else {}
    shards = videos["video_id"].map(known).astype(object)
    new = shards.isna()
    used = [int(s[1:]) for s in known.values()]
    start = max(used) + 1 if used else 0
    shards.loc[new] = [SHARD_FORMAT.format(start + i // shard_size) for i in range(int(new.sum()))]
    return shards.astype(str)


def _pose_paths(layout: Layout, name: str, videos: pd.DataFrame) -> list[str]:
    """Existing .pose files are used in place; estimated and synthetic ones go under results/."""
    return [
        path if source == "pose" else str(layout.pose_file(name, shard, vid))
        for vid, path, source, shard in zip(videos["video_id"], videos["path"], videos["source"], videos["shard"])
    ]


def read_registry(layout: Layout, name: str) -> pd.DataFrame | None:
    path = layout.registry(name)
    return pq.read_table(path).to_pandas() if path.exists() else None


def _parquet_bytes(table: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    schema = pa.schema([(c, pa.string()) for c in REGISTRY_COLUMNS])
    pq.write_table(pa.Table.from_pandas(table[REGISTRY_COLUMNS], schema=schema, preserve_index=False), buf)
    return buf.getvalue()


def _forget_lost_poses(layout: Layout, name: str, shard: str) -> None:
    """Delete a shard index that calls a video ok whose .pose is gone, so that Snakemake runs its pose job again
    (touching an input would not do: Snakemake skips reruns when a small input's checksum is unchanged). The job
    is resumable: the poses still present are reused."""
    index = layout.pose_index(name, shard)
    lost = lost_poses(index)
    if lost:
        print(f"signsearch: dataset '{name}' shard {shard}: {len(lost)} posed video(s) lost their .pose "
              f"({', '.join(lost[:3])}{', ...' if len(lost) > 3 else ''}); the shard is posed again", file=sys.stderr)
        index.unlink()


def sync(name: str, cfg: dict[str, Any], layout: Layout, shard_size: int) -> pd.DataFrame:
    """Ingest the dataset, assign stable shards against the previous registry, and write the registry files."""
    videos = ingest.read(name, cfg)
    previous = read_registry(layout, name)
    videos["shard"] = assign_shards(videos, previous, cfg.get("shard_size") or shard_size)
    videos["pose_path"] = _pose_paths(layout, name, videos)
    videos = videos.sort_values(["shard", "video_id"], kind="stable").reset_index(drop=True)

    atomic.write_if_changed(layout.registry(name), _parquet_bytes(videos))
    live = set()
    for shard, members in videos.groupby("shard", sort=True):
        live.add(layout.shard_table(name, shard))
        body = members[["video_id", "path", "pose_path"]].to_csv(sep="\t", index=False, lineterminator="\n")
        atomic.write_if_changed(layout.shard_table(name, shard), body.encode("utf-8"))
        _forget_lost_poses(layout, name, shard)
    for stale in layout.shard_tables_dir(name).glob("*.tsv"):
        if stale not in live:
            stale.unlink()
    record = {
        "name": name,
        "kind": cfg["kind"],
        "root": str(Path(cfg["path"]).expanduser().resolve()) if cfg.get("path") else None,
        "synthetic": cfg["kind"] == "synthetic",
        "videos": int(len(videos)),
        "shards": int(videos["shard"].nunique()),
        "glosses": int(videos["gloss"].nunique()),
        "signers": int(videos["signer"].nunique()),
    }
    atomic.write_if_changed(layout.dataset_record(name), (json.dumps(record, indent=2, sort_keys=True) + "\n").encode())
    return videos
