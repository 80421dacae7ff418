"""The embedding stage: one (model, shard) job writes one .npy per video and an index; the manifest step
gathers them per (dataset, model).

Embedding index columns: video_id, npy_path, status (ok|failed), detail, frames, dim, fingerprint.
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
) -> dict[str, Any]:
    """Embed every successfully posed video of a shard; a pose the model cannot take is recorded, not fatal."""
    start = time.perf_counter()
    poses = pq.read_table(pose_index).to_pandas()
    poses = poses[poses["status"] == "ok"]
    embedder = load_embedder(spec)
    _set_threads(threads)
    batch_size = spec.batch_size
    rows: list[dict[str, Any]] = []
    records = list(zip(poses["video_id"], poses["pose_path"]))
    with tqdm(total=len(records), desc=f"embed {spec.name}", unit="pose", file=sys.stderr) as bar:
        for at in range(0, len(records), batch_size):
            batch = records[at : at + batch_size]
            loaded = [(vid, Pose.read(Path(path).read_bytes())) for vid, path in batch]
            try:
                vectors = embedder.embed_poses([p for _, p in loaded])
                results = [(vid, pose, vec, None) for (vid, pose), vec in zip(loaded, vectors)]
            except Exception as exc:  # isolate the offending pose: retry one by one
                log.warning("batch failed (%s); embedding its poses one by one", exc)
                results = []
                for vid, pose in loaded:
                    try:
                        results.append((vid, pose, embedder.embed_poses([pose])[0], None))
                    except Exception as one_exc:
                        results.append((vid, pose, None, f"{type(one_exc).__name__}: {one_exc}"[:500]))
            for vid, pose, vec, error in results:
                npy = layout.embedding_vector(dataset, spec.name, shard, vid)
                if error is None and not np.isfinite(vec).all():
                    error = "non-finite values in the embedding"
                if error is None:
                    atomic.write_bytes(npy, _npy_bytes(vec))
                rows.append({"video_id": vid, "npy_path": str(npy), "status": "ok" if error is None else "failed",
                             "detail": error, "frames": int(pose.body.data.shape[0]), "dim": int(embedder.dim),
                             "fingerprint": embedder.fingerprint})
            bar.update(len(batch))
    with atomic.atomic_path(index_out) as tmp:
        pq.write_table(pa.Table.from_pylist(rows, schema=INDEX_SCHEMA), tmp)
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
    index = (pa.concat_tables(tables) if tables else INDEX_SCHEMA.empty_table()).to_pandas()
    index = index[(index["status"] == "ok") & index["video_id"].isin(reg.index)].sort_values("video_id", kind="stable")
    fingerprints = set(index["fingerprint"])
    if len(fingerprints) > 1:
        raise ValueError(f"{out}: shards were embedded with different model versions {sorted(fingerprints)}; rerun with --forcerun embed")
    if len(index):
        vectors = np.stack([np.load(p) for p in index["npy_path"]])
    else:
        vectors = np.zeros((0, 1), np.float32)
    meta = reg.loc[index["video_id"]]
    rows = {
        "video_id": list(index["video_id"]),
        "dataset": [dataset] * len(index),
        "gloss": list(meta["gloss"]),
        "signer": list(meta["signer"]),
        "split": list(meta["split"]),
        "pose_path": list(meta["pose_path"]),
        "frames": [int(f) for f in index["frames"]],
    }
    table = manifest.build(rows, vectors, model, fingerprints.pop() if fingerprints else "")
    manifest.write(table, out)
    return len(index)
