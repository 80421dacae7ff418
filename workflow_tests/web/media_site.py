"""A web app on real videos without the database, for browser tests: a results tree (registry, pose index,
previews made by signsearch.media) for real clips and their real .pose files, searched by the real pose-baseline
embedder in memory (exact cosine, as the database answers), served in-process on a free localhost port.

A unit may be a segment of a longer video (`source_video_id`, `start_s`, `end_s`: issue 10's unit contract), so
the pages show segment results exactly as they come from the database.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from pose_format import Pose

from signsearch.datasets.video_registry import REGISTRY_COLUMNS
from signsearch.embed.spec import spec_of
from signsearch.layout import Layout
from signsearch.media.shard import make_previews
from signsearch.search import cached_embedder, embed_file
from signsearch.web.backend import Backend, DbState
from workflow_utils import demo_config, serve_wsgi

MODEL = "pose-baseline"


@dataclass
class Video:
    video_id: str
    path: Path
    pose_path: Path
    gloss: str | None
    signer: str | None = None
    split: str | None = None


@dataclass
class Unit:
    """What the search returns: a whole video, or a segment [start_s, end_s) of `source`."""

    video_id: str
    source: Video
    pose: Pose
    start_s: float | None = None
    end_s: float | None = None
    gloss: str | None = None


@dataclass
class MemorySearch:
    """Exact nearest-neighbour search over `units` (stands in for the pgvector database)."""

    dataset: str
    units: list[Unit]
    config: dict[str, Any]
    vectors: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        embedder = cached_embedder(spec_of(self.config, MODEL))
        self.vectors = np.asarray(embedder.embed_poses([u.pose for u in self.units]), dtype=np.float64)

    def db_state(self, config: Any) -> DbState:
        return DbState(True, models={self.dataset: [MODEL]})

    def nearest_videos(self, config: Any, *, dataset: str, model: str, k: int = 10, video_id: str | None = None,
                       video: Path | None = None, video_name: str | None = None, where: Any = None,
                       **_: Any) -> list[dict[str, Any]]:
        if video_id is not None:
            ids = [u.video_id for u in self.units]
            query, exclude = self.vectors[ids.index(video_id)], video_id
        else:
            query, exclude = np.asarray(embed_file(video, spec_of(config, model), video_name), float), None
        norms = np.linalg.norm(self.vectors, axis=1) * np.linalg.norm(query)
        distance = 1 - self.vectors @ query / norms
        order = [i for i in np.argsort(distance, kind="stable") if self.units[i].video_id != exclude][:k]
        rows = []
        for rank, i in enumerate(order, 1):
            u = self.units[i]
            segment = u.start_s is not None
            rows.append({"rank": rank, "video_id": u.video_id, "gloss": u.gloss, "signer": u.source.signer,
                         "split": u.source.split, "path": str(u.source.path), "pose_path": str(u.source.pose_path),
                         "distance": float(distance[i]), "source_video_id": u.source.video_id if segment else None,
                         "start_s": u.start_s, "end_s": u.end_s, "start_frame": None, "end_frame": None})
        return rows


def build_results(root: Path, dataset: str, videos: list[Video], folder: Path) -> Layout:
    """registry, dataset.json, poses.parquet (all ok) and the previews of `videos` under root/results."""
    layout = Layout(root / "results")
    shard = "s00000"
    table = pd.DataFrame([{"video_id": v.video_id, "path": str(v.path), "gloss": v.gloss, "signer": v.signer,
                           "split": v.split, "source": "video", "shard": shard, "pose_path": str(v.pose_path)}
                          for v in videos])[REGISTRY_COLUMNS]
    layout.registry(dataset).parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(layout.registry(dataset), index=False)
    layout.dataset_record(dataset).write_text(json.dumps({"name": dataset, "kind": "folder",
                                                          "root": str(folder.resolve())}))
    pd.DataFrame({"video_id": table["video_id"], "status": "ok"}).to_parquet(layout.poses(dataset), index=False)
    rows = make_previews([{"video_id": v.video_id, "path": str(v.path)} for v in videos],
                         layout.preview_dir(dataset, shard))
    assert all(r["status"] == "ok" for r in rows), [r["detail"] for r in rows if r["status"] != "ok"]
    return layout


def write_manifest(layout: Layout, search: MemorySearch) -> None:
    """The model's manifest of the units (the app reads the typical distance between different signs from it)."""
    from signsearch import manifest

    units = search.units
    meta = {"video_id": [u.video_id for u in units], "dataset": [search.dataset] * len(units),
            "gloss": [u.gloss for u in units], "signer": [u.source.signer for u in units],
            "split": [u.source.split for u in units], "pose_path": [str(u.source.pose_path) for u in units],
            "frames": [len(u.pose.body.data) for u in units]}
    table = manifest.build(meta, search.vectors.astype(np.float32), MODEL, "browser-test")
    manifest.write(table, layout.manifest(search.dataset, MODEL))


@contextlib.contextmanager
def serve(root: Path, search: MemorySearch) -> Iterator[str]:
    """The real app (create_app) on `root`'s results with `search` as its database, on a free localhost port."""
    from signsearch.web import app as web_app

    cfg = demo_config()
    cfg["database"]["data_dir"] = str(root / "pgdata")
    (root / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Backend, "db_state", lambda self, config: search.db_state(config))
        mp.setattr(Backend, "nearest_videos", lambda self, config, upload=False, **kw: search.nearest_videos(config, **kw))
        app = web_app.create_app(root / "config.yaml", settings={"RESULTS_DIR": str(root / "results")})
        with serve_wsgi(app) as base:
            yield base


def slice_pose(pose: Pose, start: int, end: int) -> Pose:
    """Frames [start, end) of a pose (a segment's pose, as the segment stage cuts it)."""
    from pose_format.numpy import NumPyPoseBody

    body = NumPyPoseBody(fps=pose.body.fps, data=pose.body.data[start:end],
                         confidence=np.asarray(pose.body.confidence)[start:end])
    return Pose(pose.header, body)


def read_pose(path: Path) -> Pose:
    return Pose.read(Path(path).read_bytes())
