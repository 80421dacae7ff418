"""Query orchestration shared by the CLI and the web app: a video file, a video id or a text -> neighbours."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from signsearch.embed.base import Embedder
from signsearch.embed.factory import load_embedder
from signsearch.embed.spec import ModelSpec, model_spec, spec_of
from signsearch.errors import UserError
from signsearch.evaluate.text_video import TEXT_SEARCH_METRIC

if TYPE_CHECKING:
    from pose_format import Pose

VIDEO_SUFFIXES = {".mp4", ".mov", ".webm", ".avi", ".mkv", ".m4v"}


class SearchError(UserError, RuntimeError):
    """A query that cannot be answered; the message is one line meant for the user."""


@functools.lru_cache(maxsize=4)
def _embedder(name: str, cfg_json: str) -> Embedder:
    return load_embedder(model_spec(name, json.loads(cfg_json)))


def cached_embedder(spec: ModelSpec) -> Embedder:
    """One loaded embedder per model config for the life of the process (the web app answers many queries)."""
    return _embedder(spec.name, json.dumps(spec.cfg, sort_keys=True, default=str))


MAX_K = 10_000  # a bound the database's LIMIT and the result table both handle


def read_pose_file(path: Path, name: str) -> Pose:
    """A .pose file as a Pose; foreign or truncated bytes are a `SearchError` naming the file."""
    from pose_format import Pose

    try:
        return Pose.read(path.read_bytes())
    except Exception as exc:  # pose-format raises struct.error, TypeError, ValueError ... on foreign bytes
        why = " ".join(str(exc).split())[:120]
        raise SearchError(f"{name}: not a readable .pose file, cut short or not pose-format "
                          f"({type(exc).__name__}: {why})") from exc


Poser = Callable[[Path], "Pose"]  # poses a video file, raising the estimator's `VideoFailure`


def embed_file(path: str | Path, spec: ModelSpec, name: str | None = None, *, poser: Poser | None = None) -> np.ndarray:
    """Embed a query file that is not in the database: a .pose file as is, a video after posing it (by `poser`:
    the web app's warm workers; default `pose_video`, a model in this process).
    `name` is how messages call the file (the upload's own name in the web app; default: the path)."""
    from signsearch.pose.usable import check_usable, needs_holistic

    path = Path(path)
    name = name or str(path)
    if not path.is_file():
        raise SearchError(f"{name}: file not found")
    if path.suffix.lower() == ".pose":
        pose = read_pose_file(path, name)
    elif path.suffix.lower() in VIDEO_SUFFIXES:
        if poser is None:
            from signsearch.pose.estimate import pose_video as poser
        try:
            pose = poser(path)
        except Exception as exc:  # the estimator's own errors name the failure (unreadable, no person, ...)
            reason = str(exc).replace(str(path), name)  # never show where the server keeps the file
            raise SearchError(f"{name}: cannot pose this video: {reason}") from exc
    else:
        raise SearchError(f"{name}: not a video or .pose file (accepted: {', '.join(sorted(VIDEO_SUFFIXES))}, .pose)")
    check_usable(pose, name, holistic=needs_holistic(spec.kind))
    try:
        return cached_embedder(spec).embed_poses([pose])[0]
    except UserError as exc:  # e.g. too long for `long_inputs: error`: say which input
        raise SearchError(f"{name}: {exc}") from exc


def embed_text(text: str, spec: ModelSpec) -> np.ndarray:
    if not spec.has_text:
        raise SearchError(f"model '{spec.name}' has no text tower; text search needs a SignCLIP model")
    return cached_embedder(spec).embed_texts([text])[0]


@dataclass(frozen=True)
class Query:
    """A checked query, embedded when it is a file or a text: all that is left is to ask the database."""

    dataset: str
    model: str
    k: int
    metric: str | None
    where: dict[str, str]
    exact: bool
    video_id: str | None = None
    vector: np.ndarray | None = None


def check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_K:
        raise SearchError(f"-k must be a whole number from 1 to {MAX_K} (got {k!r})")
    return int(k)


def prepare(
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
    video_name: str | None = None,
    poser: Poser | None = None,
) -> Query:
    """Check a query and embed its file or text, without the database (so a bad query never starts one)."""
    from signsearch.db.query import FILTER_KEYS

    if sum(x is not None for x in (video, video_id, text)) != 1:
        raise SearchError("give exactly one of --video, --id or --text")
    spec = spec_of(config, model)
    where = dict(where or {})
    bad = sorted(set(where) - set(FILTER_KEYS))
    if bad:
        raise SearchError(f"cannot filter on {', '.join(bad)}: --where takes KEY=VALUE with KEY one of {', '.join(FILTER_KEYS)}")
    common = {"dataset": dataset, "model": model, "k": check_k(k), "metric": metric, "where": where, "exact": exact}
    if video_id is not None:
        return Query(**common, video_id=video_id)
    if text is not None:  # rank as the text-video evaluation does (raw dot product), unless a metric is asked for
        return Query(**{**common, "metric": metric or TEXT_SEARCH_METRIC}, vector=embed_text(text, spec))
    return Query(**common, vector=embed_file(video, spec, video_name, poser=poser))


def answer(conn: Any, q: Query) -> list[dict[str, Any]]:
    """The database's neighbours of a prepared query."""
    from signsearch.db import query

    args = {"dataset": q.dataset, "model": q.model, "k": q.k, "metric": q.metric, "where": q.where, "exact": q.exact}
    if q.video_id is not None:
        return query.knn_by_id(conn, video_id=q.video_id, **args)
    return query.knn(conn, vector=q.vector, **args)


def nearest_videos(conn: Any, config: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
    """Nearest stored videos for exactly one of: a file (posed and embedded on the fly), a stored id, or a text
    (the keyword arguments of `prepare`)."""
    return answer(conn, prepare(config, **kwargs))
