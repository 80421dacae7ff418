"""What a result's distance means: the metric in words, and the typical distance between different signs of a
dataset (the median over pairs of its videos with different glosses, from the model's manifest), beyond which a
result is flagged a weak match. Computed once per manifest file (cached on its path and modification time)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

# The database's distances (signsearch.db.query), lower = closer for each.
METRIC_NAMES = {
    "cosine": "cosine distance (1 − cosine similarity, 0 to 2)",
    "l2": "Euclidean (L2) distance",
    "ip": "negative inner product",
}
MAX_PAIRS = 20_000  # sampled pairs: the median is stable to ~1 % and takes milliseconds


def metric_name(metric: str | None) -> str:
    return METRIC_NAMES.get(metric or "", f"{metric} distance" if metric else "distance")


def pair_distances(a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    """Row-wise distances of two (n, dim) arrays, as the database computes them."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if metric == "cosine":
        norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
        return 1.0 - np.einsum("ij,ij->i", a, b) / np.where(norms > 0, norms, 1.0)
    if metric == "ip":
        return -np.einsum("ij,ij->i", a, b)
    return np.linalg.norm(a - b, axis=1)


def typical_between_signs(vectors: np.ndarray, glosses: list[str | None], metric: str, seed: int = 0) -> float | None:
    """The median distance between videos of different glosses (None without two glosses)."""
    labels = np.array([g if g is not None else "" for g in glosses], dtype=object)
    keep = labels != ""
    vectors, labels = np.asarray(vectors)[keep], labels[keep]
    if len(set(labels)) < 2:
        return None
    rng = np.random.default_rng(seed)
    i = rng.integers(0, len(labels), MAX_PAIRS)
    j = rng.integers(0, len(labels), MAX_PAIRS)
    different = labels[i] != labels[j]
    if not different.any():
        return None
    return float(np.median(pair_distances(vectors[i[different]], vectors[j[different]], metric)))


def typical_distance(manifest_path: str | os.PathLike[str], metric: str) -> float | None:
    """`typical_between_signs` of a manifest file; None when it is missing or unreadable."""
    path = Path(manifest_path)
    try:
        stat = path.stat()
    except OSError:
        return None
    return _cached(str(path), stat.st_mtime_ns, stat.st_size, metric)


@functools.lru_cache(maxsize=32)
def _cached(path: str, _mtime_ns: int, _size: int, metric: str) -> float | None:
    from signsearch import manifest

    try:
        m = manifest.read(path)
        return typical_between_signs(m.vectors, m.column("gloss"), metric)
    except Exception:  # a damaged manifest: no flag rather than no page
        return None
