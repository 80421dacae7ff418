"""The embedding stage: one (model, shard) job writes one .npy per unit and an index; the manifest step
gathers them per (dataset, model).

Embedding index columns: video_id, npy_path, status (ok|failed), detail, frames, dim, fingerprint, vector (the
unit's float32 vector, the same values as its .npy; null when failed). The manifest reads the vectors from the
indexes, one file per shard, instead of one .npy per unit (83,399 reads per model at ASL Citizen's size); an
index written before the vector column falls back to its .npy files. A unit is a whole video, unless the shard has a segment table (segmented or trimmed datasets, `signsearch.segment.shard`):
then each of its `ok` rows is a unit (video_id = its unit_id, frames = its length), and the index and the
manifest carry `manifest.UNIT_COLUMNS` after the usual ones.
"""

from __future__ import annotations

import io
import logging
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pose_format import Pose
from tqdm import tqdm

from signsearch import atomic, manifest
from signsearch.embed.factory import load_embedder
from signsearch.embed.spec import ModelSpec
from signsearch.layout import Layout

log = logging.getLogger(__name__)

INDEX_SCHEMA = pa.schema(
    [
        ("video_id", pa.string()),
        ("npy_path", pa.string()),
        ("status", pa.string()),
        ("detail", pa.string()),
        ("frames", pa.int32()),
        ("dim", pa.int32()),
        ("fingerprint", pa.string()),
        ("vector", pa.list_(pa.float32())),
    ]
)


UNIT_INDEX_SCHEMA = pa.schema([*INDEX_SCHEMA, *manifest.UNIT_FIELDS])


def _units(poses: Any, segments: str | os.PathLike[str] | None) -> list[dict[str, Any]]:
    """What this shard embeds: one unit per posed video, or the segment table's units of the posed videos."""
    if segments is None:
        return [{"video_id": v, "pose_path": p} for v, p in zip(poses["video_id"], poses["pose_path"])]
    from signsearch.segment.shard import read_units

    paths = dict(zip(poses["video_id"], poses["pose_path"]))
    return [
        {"video_id": u["unit_id"], "pose_path": paths[u["video_id"]], "source_video_id": u["video_id"],
         "segment_index": u["segment_index"], "start_frame": u["start_frame"], "end_frame": u["end_frame"],
         "start_s": u["start_s"], "end_s": u["end_s"]}
        for u in read_units(segments) if u["video_id"] in paths
    ]


def _load_batch(batch: list[dict[str, Any]], files: dict[str, Pose]) -> list[Pose]:
    """The poses of a batch, sliced to the unit's frames when it is a segment or trim; `files` keeps the last file
    read (units of one video are consecutive, so each file is read once)."""
    out = []
    for unit in batch:
        path = unit["pose_path"]
        if path not in files:
            files.clear()
            files[path] = Pose.read(Path(path).read_bytes())
        pose = files[path]
        if "start_frame" in unit:
            pose = Pose(pose.header, pose.body[unit["start_frame"] : unit["end_frame"]])
        out.append(pose)
    return out


def _nullable(values: Iterable[Any], cast: Any = None) -> list[Any]:
    """Pandas' NaN / None back to None (an int column with nulls comes back from pandas as floats)."""
    return [None if v is None or v != v else (cast(v) if cast else v) for v in values]


def embed_isolated(embedder: Any, poses: list[Pose]) -> list[tuple[np.ndarray | None, str | None]]:
    """(vector, None) or (None, reason) per pose: a failing batch is retried one pose at a time, so one bad pose
    is recorded instead of failing its batch; a non-finite vector is a failure too."""
    try:
        results: list[tuple[np.ndarray | None, str | None]] = [(v, None) for v in embedder.embed_poses(poses)]
    except Exception as exc:  # isolate the offending pose
        log.warning("batch failed (%s); embedding its poses one by one", exc)
        results = []
        for pose in poses:
            try:
                results.append((embedder.embed_poses([pose])[0], None))
            except Exception as one_exc:
                results.append((None, f"{type(one_exc).__name__}: {one_exc}"[:500]))
    return [(None, "non-finite values in the embedding") if e is None and not np.isfinite(v).all() else (v, e)
            for v, e in results]


def npy_bytes(vector: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, vector.astype(np.float32))
    return buf.getvalue()


def _set_threads(threads: int) -> None:
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(max(1, threads))


def embed_shard(
    pose_index: str | os.PathLike[str],
    index_out: str | os.PathLike[str],
    spec: ModelSpec,
    *,
    dataset: str,
    shard: str,
    threads: int = 1,
    layout: Layout = Layout(),
    segments: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Embed every successfully posed video of a shard (or, given the shard's segment table, every unit of it);
    a pose the model cannot take is recorded, not fatal."""
    start = time.perf_counter()
    poses = pq.read_table(pose_index).to_pandas()
    poses = poses[poses["status"] == "ok"]
    embedder = load_embedder(spec)
    _set_threads(threads)
    batch_size = spec.batch_size
    rows: list[dict[str, Any]] = []
    records = _units(poses, segments)
    files: dict[str, Pose] = {}  # the last pose file read: a long video's units span batches
    with tqdm(total=len(records), desc=f"embed {spec.name}", unit="pose", file=sys.stderr) as bar:
        for at in range(0, len(records), batch_size):
            batch = records[at : at + batch_size]
            poses = _load_batch(batch, files)
            for unit, pose, (vec, error) in zip(batch, poses, embed_isolated(embedder, poses), strict=True):
                vid = unit["video_id"]
                npy = layout.embedding_vector(dataset, spec.name, shard, vid)
                vector = None if error is not None else vec.astype(np.float32)
                if vector is not None:
                    atomic.write_bytes(npy, npy_bytes(vector))
                rows.append({**unit, "npy_path": str(npy), "status": "ok" if error is None else "failed",
                             "detail": error, "frames": int(pose.body.data.shape[0]), "dim": int(embedder.dim),
                             "fingerprint": embedder.fingerprint, "vector": vector})
            bar.update(len(batch))
    with atomic.atomic_path(index_out) as tmp:
        schema = INDEX_SCHEMA if segments is None else UNIT_INDEX_SCHEMA
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp)
    ok = sum(r["status"] == "ok" for r in rows)
    return {"videos": len(rows), "ok": ok, "failed": len(rows) - ok, "seconds": round(time.perf_counter() - start, 2)}


def _stack_vectors(column: pa.ChunkedArray | None, rows: np.ndarray, npy_paths: list[str]) -> np.ndarray:
    """The (len(rows), dim) vectors of the index rows `rows`: from the vector column, or from the unit's .npy where
    the column is null or absent (an index written before that column)."""
    if not len(rows):
        return np.zeros((0, 1), np.float32)
    if column is None:
        return np.stack([np.load(p) for p in npy_paths])
    picked = column.take(pa.array(rows)).combine_chunks()
    if picked.null_count:
        return np.stack([np.load(p) if v is None else np.asarray(v, np.float32)
                         for v, p in zip(picked.to_pylist(), npy_paths)])
    lengths = np.diff(picked.offsets.to_numpy())
    if (lengths != lengths[0]).any():
        raise ValueError(f"embedding indexes hold vectors of sizes {sorted(set(lengths.tolist()))}; rerun with --forcerun embed")
    return picked.flatten().to_numpy().reshape(len(rows), int(lengths[0]))


def write_manifest(
    registry: str | os.PathLike[str],
    embedding_indexes: Iterable[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    dataset: str,
    model: str,
) -> int:
    """Join the registry's metadata with every ok vector of the model and write the manifest atomically."""
    reg = pq.read_table(registry).to_pandas().set_index("video_id")
    tables = [pq.read_table(p) for p in embedding_indexes]
    table = pa.concat_tables(tables, promote_options="default") if tables else INDEX_SCHEMA.empty_table()
    column = table.column("vector") if "vector" in table.column_names else None
    index = (table if column is None else table.drop_columns(["vector"])).to_pandas()
    index["row"] = np.arange(len(index))  # position in `table`, to pick the vectors of the kept rows
    units = "source_video_id" in index.columns
    source = index["source_video_id"] if units else index["video_id"]
    index = index[(index["status"] == "ok") & source.isin(reg.index)].sort_values("video_id", kind="stable")
    fingerprints = set(index["fingerprint"])
    if len(fingerprints) > 1:
        raise ValueError(f"{out}: shards were embedded with different model versions {sorted(fingerprints)}; rerun with --forcerun embed")
    vectors = _stack_vectors(column, index["row"].to_numpy(), list(index["npy_path"]))
    meta = reg.loc[index["source_video_id"] if units else index["video_id"]]
    rows = {
        "video_id": list(index["video_id"]),
        "dataset": [dataset] * len(index),
        "gloss": list(meta["gloss"]),
        "signer": list(meta["signer"]),
        "split": list(meta["split"]),
        "pose_path": list(meta["pose_path"]),
        "frames": [int(f) for f in index["frames"]],
    }
    if units:
        rows |= {f.name: _nullable(index[f.name], int if pa.types.is_integer(f.type) else None) for f in manifest.UNIT_FIELDS}
    table = manifest.build(rows, vectors, model, fingerprints.pop() if fingerprints else "")
    manifest.write(table, out)
    return len(index)
