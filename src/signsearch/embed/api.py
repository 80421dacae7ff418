"""Embed .pose files or videos with any configured model: no database, no workflow run.

    >>> from signsearch import config
    >>> from signsearch.embed.api import embed_files
    >>> result = embed_files(["HOUSE.pose", "clips/"], "pose-baseline", config.load())
    >>> result.vectors.shape          # (inputs embedded, model dim), float32, in `result.ids` order
    >>> result.table                  # one row per input: id, path, status, reason, frames, dim, vector
    >>> result.write_npy("out/")      # one <id>.npy per embedded input, plus failures.tsv
    >>> result.write_parquet("embeddings.parquet")

Inputs are files or folders (searched recursively for .pose files and videos). A video is posed first with
MediaPipe Holistic using the config's `pose:` settings, as the workflow's pose stage does; a .pose file is used as
it is. An input that cannot be embedded (unreadable, no person, no hands, too long for the model's `long_inputs:
error`, ...) is a row with status `failed` and its reason, never an exception. Ids are what folder datasets use:
the path relative to the folder given, without suffix (`a/b/HOUSE.mp4` -> `a/b/HOUSE`), or the file's stem.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from signsearch import atomic
from signsearch.datasets.ids import file_stem, id_from_relative_path
from signsearch.embed.base import Embedder
from signsearch.embed.shard import embed_isolated, npy_bytes
from signsearch.embed.factory import load_embedder
from signsearch.embed.spec import ModelSpec, spec_of
from signsearch.errors import UserError
from signsearch.search import VIDEO_SUFFIXES

INPUT_SUFFIXES = VIDEO_SUFFIXES | {".pose"}
FAILURES_FILE = "failures.tsv"


@dataclass(frozen=True)
class Input:
    id: str
    path: Path


@dataclass(frozen=True)
class Embeddings:
    """`table`: one row per input (id, path, status ok|failed, reason, frames, dim, vector: list<float32> or null);
    `vectors`/`ids`: the embedded inputs only, in input order."""

    model: str
    table: pa.Table

    @property
    def ids(self) -> list[str]:
        return [r["id"] for r in self.table.to_pylist() if r["status"] == "ok"]

    @property
    def vectors(self) -> np.ndarray:
        ok = [r["vector"] for r in self.table.to_pylist() if r["status"] == "ok"]
        dim = next((r["dim"] for r in self.table.to_pylist() if r["dim"]), 0)
        return np.asarray(ok, np.float32).reshape(len(ok), dim)

    @property
    def failures(self) -> list[tuple[str, str]]:
        return [(r["path"], r["reason"]) for r in self.table.to_pylist() if r["status"] != "ok"]

    def write_npy(self, folder: str | os.PathLike[str]) -> list[Path]:
        """One float32 <id>.npy per embedded input (ids made file-safe) and `failures.tsv` (path, reason)."""
        folder = Path(folder)
        written = []
        for vid, vector in zip(self.ids, self.vectors):
            out = folder / f"{file_stem(vid)}.npy"
            atomic.write_bytes(out, npy_bytes(vector))
            written.append(out)
        lines = ["path\treason"] + [f"{path}\t{reason}" for path, reason in self.failures]
        atomic.write_text(folder / FAILURES_FILE, "\n".join(lines) + "\n")
        return written

    def write_parquet(self, path: str | os.PathLike[str]) -> Path:
        with atomic.atomic_path(path) as tmp:
            pq.write_table(self.table, tmp, compression="zstd")
        return Path(path)


def collect_inputs(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Input], list[tuple[str, str]]]:
    """The .pose files and videos named or found below the folders named; (inputs, (path, reason) problems)."""
    inputs: list[Input] = []
    problems: list[tuple[str, str]] = []
    seen: dict[str, Path] = {}
    for given in map(Path, paths):
        if given.is_dir():
            found = sorted(p for p in given.rglob("*") if p.suffix.lower() in INPUT_SUFFIXES and p.is_file())
            if not found:
                problems.append((str(given), f"no .pose file or video ({', '.join(sorted(VIDEO_SUFFIXES))}) below it"))
            pairs = [(id_from_relative_path(p.relative_to(given).as_posix()), p) for p in found]
        elif given.is_file():
            pairs = [(given.stem, given)]
        else:
            problems.append((str(given), "file not found"))
            continue
        for vid, path in pairs:
            if vid in seen:
                problems.append((str(path), f"same id '{vid}' as {seen[vid]} (rename one, or embed them separately)"))
                continue
            seen[vid] = path
            inputs.append(Input(vid, path))
    return inputs, problems


def embed_files(paths: Sequence[str | os.PathLike[str]], model: str, config: dict[str, Any]) -> Embeddings:
    """Embed every .pose file and video of `paths` with the configured `model` (module docstring)."""
    spec = spec_of(config, model)
    embedder = load_embedder(spec)  # a model whose files are missing is the user's to fix: ModelFilesMissing
    inputs, problems = collect_inputs(paths)
    rows: list[dict[str, Any]] = [_row(Path(p).stem, p, reason=r) for p, r in problems]
    poses = [(item, *_load_pose(item, spec, config.get("pose") or {})) for item in inputs]
    usable = [(item, pose) for item, pose, reason in poses if pose is not None]
    vectors = dict(_embed(embedder, usable, spec.batch_size))
    for item, pose, reason in poses:
        vector, error = vectors.get(item.id, (None, reason))
        frames = int(pose.body.data.shape[0]) if pose is not None else None
        rows.append(_row(item.id, str(item.path), reason=error, frames=frames, vector=vector))
    order = {str(item.path): i for i, item in enumerate(inputs)}
    rows.sort(key=lambda r: order.get(r["path"], -1))
    return Embeddings(model, pa.Table.from_pylist(rows, schema=_schema()))


def _schema() -> pa.Schema:
    return pa.schema([("id", pa.string()), ("path", pa.string()), ("status", pa.string()), ("reason", pa.string()),
                      ("frames", pa.int32()), ("dim", pa.int32()), ("vector", pa.list_(pa.float32()))])


def _row(vid: str, path: str, *, reason: str | None, frames: int | None = None, vector: np.ndarray | None = None) -> dict[str, Any]:
    ok = vector is not None and reason is None
    return {"id": vid, "path": path, "status": "ok" if ok else "failed", "reason": None if ok else reason,
            "frames": frames, "dim": int(vector.shape[0]) if ok else None,
            "vector": vector.astype(np.float32).tolist() if ok else None}


def _load_pose(item: Input, spec: ModelSpec, pose_settings: dict[str, Any]) -> tuple[Any, str | None]:
    """(pose, None), or (None, reason) for an input that gives no usable pose."""
    from pose_format import Pose

    from signsearch.pose.usable import needs_holistic, unusable

    if item.path.suffix.lower() == ".pose":
        try:
            pose = Pose.read(item.path.read_bytes())
        except Exception as exc:  # pose-format raises struct.error, TypeError, ... on foreign bytes
            return None, f"not a readable .pose file ({type(exc).__name__}: {exc})"
    else:
        from signsearch.pose.estimate import pose_video
        from signsearch.pose.stderr_filter import filtered_stderr

        keys = ("model_complexity", "refine_face_landmarks", "frame_tolerance")
        try:
            with filtered_stderr():  # MediaPipe's per-video log noise, as in the pose stage
                pose = pose_video(item.path, **{k: pose_settings[k] for k in keys if k in pose_settings})
        except UserError as exc:  # VideoFailure: unreadable, no frames, truncated, no person in view
            return None, f"cannot pose this video: {exc}"
        except Exception as exc:  # noqa: BLE001 - whatever a foreign file does to the decoder, it is recorded
            return None, f"cannot pose this video: {type(exc).__name__}: {exc}"
    problem = unusable(pose, holistic=needs_holistic(spec.kind))
    if problem is not None:
        return None, f"unusable pose ({problem[0]}): {problem[1]}"
    return pose, None


def _embed(embedder: Embedder, items: list[tuple[Input, Any]], batch_size: int) -> Iterable[tuple[str, tuple[np.ndarray | None, str | None]]]:
    """(id, (vector, None) or (None, reason)), batch by batch as the embedding stage does."""
    for at in range(0, len(items), batch_size):
        batch = items[at : at + batch_size]
        for (item, _), result in zip(batch, embed_isolated(embedder, [pose for _, pose in batch]), strict=True):
            yield item.id, result
