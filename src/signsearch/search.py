"""Query orchestration shared by the CLI and the web app: a video file, a video id or a text -> neighbours."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np

from signsearch.embed.base import Embedder
from signsearch.embed.factory import load_embedder
from signsearch.embed.spec import ModelSpec, model_spec, spec_of
from signsearch.errors import UserError

VIDEO_SUFFIXES = {".mp4", ".mov", ".webm", ".avi", ".mkv", ".m4v"}


class SearchError(UserError, RuntimeError):
    """A query that cannot be answered; the message is one line meant for the user."""


@functools.lru_cache(maxsize=4)
def _embedder(name: str, cfg_json: str) -> Embedder:
    return load_embedder(model_spec(name, json.loads(cfg_json)))


def cached_embedder(spec: ModelSpec) -> Embedder:
    """One loaded embedder per model config for the life of the process (the web app answers many queries)."""
    return _embedder(spec.name, json.dumps(spec.cfg, sort_keys=True, default=str))


def embed_file(path: str | Path, spec: ModelSpec) -> np.ndarray:
    """Embed a query file that is not in the database: a .pose file as is, a video after posing it."""
    from pose_format import Pose

    path = Path(path)
    if not path.is_file():
        raise SearchError(f"{path}: file not found")
    if path.suffix.lower() == ".pose":
        pose = Pose.read(path.read_bytes())
    elif path.suffix.lower() in VIDEO_SUFFIXES:
        from signsearch.pose.estimate import pose_video

        try:
            pose = pose_video(path)
        except Exception as exc:  # the estimator's own errors name the failure (unreadable, no person, ...)
            raise SearchError(f"{path}: cannot pose this video: {exc}") from exc
    else:
        raise SearchError(f"{path}: not a video or .pose file (accepted: {', '.join(sorted(VIDEO_SUFFIXES))}, .pose)")
    return cached_embedder(spec).embed_poses([pose])[0]


def embed_text(text: str, spec: ModelSpec) -> np.ndarray:
    if not spec.has_text:
        raise SearchError(f"model '{spec.name}' has no text tower; text search needs a SignCLIP model")
    return cached_embedder(spec).embed_texts([text])[0]


def nearest_videos(
    conn: Any,
    config: dict[str, Any],
    *,
    dataset: str,
    model: str,
    video: str | Path | None = None,
    video_id: str | None = None,
    text: str | None = None,
    k: int = 10,
    metric: str | None = None,
    where: dict[str, str] | None = None,
    exact: bool = False,
) -> list[dict[str, Any]]:
    """Nearest stored videos for exactly one of: a file (posed and embedded on the fly), a stored id, or a text."""
    from signsearch.db import query

    if sum(x is not None for x in (video, video_id, text)) != 1:
        raise SearchError("give exactly one of --video, --id or --text")
    spec = spec_of(config, model)
    if video_id is not None:
        return query.knn_by_id(conn, dataset=dataset, model=model, video_id=video_id, k=k, metric=metric,
                               where=where, exact=exact)
    vector = embed_file(video, spec) if video is not None else embed_text(text, spec)
    return query.knn(conn, dataset=dataset, model=model, vector=vector, k=k, metric=metric, where=where, exact=exact)
