"""A 2-D map of one manifest's embedding space: PCA of the (L2-normalised) vectors, one colour per gloss.

With many glosses only the most frequent `MAX_GLOSSES` get their own colour and legend entry; the rest are grey.
`points` gives where each video landed on the PNG (fractions of its width and height), so the page can show and
open the video under the pointer (static/map.js).
"""

from __future__ import annotations

import functools
import io
import os
from pathlib import Path
from typing import Any

import numpy as np

MAX_GLOSSES = 20
MAX_POINTS = 20000


def pca_2d(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, 2) coordinates on the first two principal axes, and the share of variance each explains."""
    x = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = x / np.where(norms > 0, norms, 1.0)
    x = x - x.mean(axis=0)
    if len(x) < 2:
        return np.zeros((len(x), 2)), np.zeros(2)
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    axes = vt[:2]
    coords = x @ axes.T
    if coords.shape[1] < 2:
        coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    var = s**2
    share = var[:2] / var.sum() if var.sum() > 0 else np.zeros(2)
    return coords, np.pad(share, (0, 2 - len(share)))


def render_png(manifest_path: str | os.PathLike[str], title: str = "") -> bytes:
    """The map as PNG bytes (cached by path, size and modification time)."""
    return _cached(manifest_path, title)[0]


def points(manifest_path: str | os.PathLike[str], title: str = "") -> list[dict[str, Any]]:
    """Each drawn video of `render_png(manifest_path, title)`: video_id, gloss and x, y as fractions of the image
    from its top-left corner (the same render, so the positions match the PNG pixel for pixel)."""
    return _cached(manifest_path, title)[1]


def _cached(manifest_path: str | os.PathLike[str], title: str) -> tuple[bytes, list[dict[str, Any]]]:
    path = Path(manifest_path)
    stat = path.stat()
    return _render(str(path), stat.st_mtime_ns, stat.st_size, title)


@functools.lru_cache(maxsize=16)
def _render(path: str, _mtime_ns: int, _size: int, title: str) -> tuple[bytes, list[dict[str, Any]]]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from signsearch import manifest

    m = manifest.read(path)
    vectors = m.vectors
    glosses = np.array([g if g is not None else "(no gloss)" for g in m.column("gloss")], dtype=object)
    ids = np.array([str(v) for v in m.column("video_id")], dtype=object)
    if len(vectors) > MAX_POINTS:
        pick = np.random.default_rng(0).choice(len(vectors), MAX_POINTS, replace=False)
        vectors, glosses, ids = vectors[pick], glosses[pick], ids[pick]
    coords, share = pca_2d(vectors)

    names, counts = np.unique(glosses, return_counts=True)
    order = names[np.argsort(-counts, kind="stable")]
    shown = list(order[:MAX_GLOSSES])
    fig = Figure(figsize=(7.5, 5.6), dpi=110)
    ax = fig.subplots()
    rest = ~np.isin(glosses, shown)
    if rest.any():
        ax.scatter(coords[rest, 0], coords[rest, 1], s=8, c="#c8c8c8", label=f"{len(order) - len(shown)} other glosses")
    palette = matplotlib.colormaps["tab10" if len(shown) <= 10 else "tab20"]
    markers = "ovs^D<>pP*"
    for i, gloss in enumerate(sorted(shown)):
        sel = glosses == gloss
        ax.scatter(coords[sel, 0], coords[sel, 1], s=26, color=palette(i % palette.N), marker=markers[i % len(markers)],
                   label=str(gloss), edgecolors="white", linewidths=0.4)
    ax.set_xlabel(f"PC 1 ({share[0]:.0%} of variance)")
    ax.set_ylabel(f"PC 2 ({share[1]:.0%} of variance)")
    ax.set_title(title or f"{m.model}: {len(vectors)} videos, {len(order)} glosses", fontsize=10)
    ax.grid(alpha=0.25)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, markerscale=1.1)
    fig.tight_layout()
    FigureCanvasAgg(fig).draw()  # lays the axes out, so data -> pixel positions are those of the saved PNG
    pixels = ax.transData.transform(coords) if len(coords) else np.zeros((0, 2))
    width, height = fig.bbox.width, fig.bbox.height
    drawn = [{"video_id": vid, "gloss": None if gloss == "(no gloss)" else str(gloss),
              "x": round(float(px) / width, 4), "y": round(1 - float(py) / height, 4)}
             for vid, gloss, (px, py) in zip(ids, glosses, pixels)]
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue(), drawn
