"""The embedding stage: one (model, shard) job writes one .npy per unit and an index; the manifest step
gathers them per (dataset, model).

Embedding index columns: video_id, npy_path, status (ok|failed), detail, frames, dim, fingerprint. A unit is a
whole video, unless the shard has a segment table (segmented or trimmed datasets, `signsearch.segment.shard`):
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


def _load_batch(batch: list[dict[str, Any]]) -> list[Pose]:
    """The poses of a batch, each file read once, sliced to the unit's frames when it is a segment or trim."""
    files: dict[str, Pose] = {}
    out = []
    for unit in batch:
        path = unit["pose_path"]
        if path not in files:
            files[path] = Pose.read(Path(path).read_bytes())
        pose = files[path]
        if "start_frame" in unit:
            pose = Pose(pose.header, pose.body[unit["start_frame"] : unit["end_frame"]])
        out.append(pose)
    return out


def _nullable(values: Iterable[Any], cast: Any = None) -> list[Any]:
    """Pandas' NaN / None back to None (an int column with nulls comes back from pandas as floats)."""
    return [None if v is None or v != v else (cast(v) if cast else v) for v in values]


def _npy_bytes(vector: np.ndarray) -> bytes:
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
    with tqdm(total=len(records), desc=f"embed {spec.name}", unit="pose", file=sys.stderr) as bar:
        for at in range(0, len(records), batch_size):
            batch = records[at : at + batch_size]
            loaded = list(zip(batch, _load_batch(batch)))
            try:
                vectors = embedder.embed_poses([p for _, p in loaded])
                results = [(unit, pose, vec, None) for (unit, pose), vec in zip(loaded, vectors)]
            except Exception as exc:  # isolate the offending pose: retry one by one
                log.warning("batch failed (%s); embedding its poses one by one", exc)
                results = []
                for unit, pose in loaded:
                    try:
                        results.append((unit, pose, embedder.embed_poses([pose])[0], None))
                    except Exception as one_exc:
                        results.append((unit, pose, None, f"{type(one_exc).__name__}: {one_exc}"[:500]))
            for unit, pose, vec, error in results:
                vid = unit["video_id"]
                npy = layout.embedding_vector(dataset, spec.name, shard, vid)
                if error is None and not np.isfinite(vec).all():
                    error = "non-finite values in the embedding"
                if error is None:
                    atomic.write_bytes(npy, _npy_bytes(vec))
                rows.append({**unit, "npy_path": str(npy), "status": "ok" if error is None else "failed",
                             "detail": error, "frames": int(pose.body.data.shape[0]), "dim": int(embedder.dim),
                             "fingerprint": embedder.fingerprint})
            bar.update(len(batch))
    with atomic.atomic_path(index_out) as tmp:
        schema = INDEX_SCHEMA if segments is None else UNIT_INDEX_SCHEMA
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp)
    ok = sum(r["status"] == "ok" for r in rows)
    return {"videos": len(rows), "ok": ok, "failed": len(rows) - ok, "seconds": round(time.perf_counter() - start, 2)}


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
    index = (pa.concat_tables(tables, promote_options="default") if tables else INDEX_SCHEMA.empty_table()).to_pandas()
    units = "source_video_id" in index.columns
    source = index["source_video_id"] if units else index["video_id"]
    index = index[(index["status"] == "ok") & source.isin(reg.index)].sort_values("video_id", kind="stable")
    fingerprints = set(index["fingerprint"])
    if len(fingerprints) > 1:
        raise ValueError(f"{out}: shards were embedded with different model versions {sorted(fingerprints)}; rerun with --forcerun embed")
    if len(index):
        vectors = np.stack([np.load(p) for p in index["npy_path"]])
    else:
        vectors = np.zeros((0, 1), np.float32)
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
