"""Per (dataset, model) Parquet manifests: one row per embedded unit (a video, unless the dataset is segmented or
trimmed), vectors as fixed-size float32 lists. Manifests of segmented/trimmed datasets carry `UNIT_COLUMNS` last."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from signsearch.atomic import atomic_path

METADATA_COLUMNS = ("video_id", "dataset", "gloss", "signer", "split", "pose_path", "frames")
# A unit's source video and range (issue 10's unit contract); absent from manifests of whole-video datasets.
UNIT_FIELDS = (
    pa.field("source_video_id", pa.string()),
    pa.field("segment_index", pa.int32()),
    pa.field("start_frame", pa.int32()),
    pa.field("end_frame", pa.int32()),
    pa.field("start_s", pa.float64()),
    pa.field("end_s", pa.float64()),
)
UNIT_COLUMNS = tuple(f.name for f in UNIT_FIELDS)


def schema(dim: int, units: bool = False) -> pa.Schema:
    """The explicit manifest schema for vectors of size `dim` (with `UNIT_FIELDS` when `units`)."""
    return pa.schema(
        [
            pa.field("video_id", pa.string(), nullable=False),
            pa.field("dataset", pa.string(), nullable=False),
            pa.field("gloss", pa.string()),
            pa.field("signer", pa.string()),
            pa.field("split", pa.string()),
            pa.field("pose_path", pa.string(), nullable=False),
            pa.field("frames", pa.int32(), nullable=False),
            pa.field("embedding", pa.list_(pa.float32(), dim), nullable=False),
            pa.field("model", pa.string(), nullable=False),
            pa.field("model_fingerprint", pa.string(), nullable=False),
            *(UNIT_FIELDS if units else ()),
        ],
        metadata={"signsearch.manifest": "1", "dim": str(dim)},
    )


@dataclass(frozen=True)
class Manifest:
    """A manifest in memory: row metadata as columns plus an (n, dim) float32 matrix."""

    table: pa.Table

    @property
    def dim(self) -> int:
        return self.table.schema.field("embedding").type.list_size

    @property
    def vectors(self) -> np.ndarray:
        col = self.table.column("embedding").combine_chunks()
        flat = col.values.to_numpy(zero_copy_only=False)
        return np.ascontiguousarray(flat.reshape(len(self.table), self.dim), dtype=np.float32)

    def column(self, name: str) -> list:
        return self.table.column(name).to_pylist()

    @property
    def has_units(self) -> bool:
        """Rows are segments or trimmed clips (the `UNIT_COLUMNS` are present)."""
        return "source_video_id" in self.table.schema.names

    @property
    def model(self) -> str:
        return self.table.column("model")[0].as_py() if len(self.table) else self.table.schema.metadata.get(b"model", b"").decode()

    @property
    def fingerprint(self) -> str:
        return self.table.schema.metadata.get(b"model_fingerprint", b"").decode()


def build(rows: dict[str, list], vectors: np.ndarray, model: str, fingerprint: str) -> pa.Table:
    """Assemble a manifest table from metadata columns (`METADATA_COLUMNS`, and `UNIT_COLUMNS` when `rows` has
    them) and an (n, dim) matrix."""
    n, dim = vectors.shape
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if not np.isfinite(vectors).all():
        bad = [rows["video_id"][i] for i in np.flatnonzero(~np.isfinite(vectors).all(axis=1))[:5]]
        raise ValueError(f"non-finite embedding values for videos {bad}")
    units = "source_video_id" in rows
    sch = schema(dim, units).with_metadata(
        {"signsearch.manifest": "1", "dim": str(dim), "model": model, "model_fingerprint": fingerprint}
    )
    arrays = [pa.array(rows[c], type=sch.field(c).type) for c in METADATA_COLUMNS]
    emb = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), type=pa.float32()), dim)
    arrays += [emb, pa.array([model] * n, pa.string()), pa.array([fingerprint] * n, pa.string())]
    arrays += [pa.array(rows[c], type=sch.field(c).type) for c in UNIT_COLUMNS] if units else []
    return pa.Table.from_arrays(arrays, schema=sch)


def write(table: pa.Table, path: str | os.PathLike[str]) -> None:
    """Write atomically (a killed writer leaves the previous manifest)."""
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def read(path: str | os.PathLike[str]) -> Manifest:
    return Manifest(pq.read_table(Path(path)))
