"""A .pose file as compact JSON frames for the canvas animation in `static/pose.js`.

Coordinates are sent as integers in [0, SCALE], fitted to the robust extent of all visible points (so a signer
fills the canvas whatever the units), cut to the video frame when the points are pixels of one. World
landmarks are left out, the face is thinned to dots, and long sequences are subsampled.
"""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

MAX_FRAMES = 150
SCALE = 1000
FACE_STEP = 4  # keep every 4th face-mesh point, drawn as dots
SKIP_COMPONENTS = {"POSE_WORLD_LANDMARKS"}
COLOURS = {
    "POSE_LANDMARKS": "#4a7bd0",
    "FACE_LANDMARKS": "#9a9a9a",
    "LEFT_HAND_LANDMARKS": "#d0454a",
    "RIGHT_HAND_LANDMARKS": "#2f9e5b",
}
DEFAULT_COLOURS = ["#8a5cc7", "#d08a2f", "#2fa6a6", "#c74f9a"]


def pose_frames(path: str | os.PathLike[str], start_s: float | None = None, end_s: float | None = None) -> dict[str, Any]:
    """The JSON-ready animation of one .pose file, or of its frames in [start_s, end_s) for a segment (cached by
    path, size, modification time and range)."""
    path = Path(path)
    stat = path.stat()
    return _pose_frames(str(path), stat.st_mtime_ns, stat.st_size, start_s, end_s)


@functools.lru_cache(maxsize=256)
def _pose_frames(path: str, _mtime_ns: int, _size: int, start_s: float | None, end_s: float | None) -> dict[str, Any]:
    from pose_format import Pose

    pose = Pose.read(Path(path).read_bytes())
    if start_s is not None and end_s is not None:  # cut before frames_of thins long videos to MAX_FRAMES
        first, last = frame_bounds(float(pose.body.fps or 25.0), start_s, end_s)
        pose = Pose(pose.header, pose.body[first:last])
    return frames_of(pose)


def frame_bounds(fps: float, start_s: float, end_s: float) -> tuple[int, int]:
    """The half-open frame range of [start_s, end_s) at `fps`, never empty."""
    first = max(0, int(math.floor(start_s * fps)))
    return first, max(first + 1, int(math.ceil(end_s * fps)))


def frames_of(pose: Any) -> dict[str, Any]:
    raw = pose.body.data
    data = np.asarray(raw.filled(np.nan) if np.ma.isMaskedArray(raw) else raw, dtype=np.float64)
    conf = np.asarray(pose.body.confidence, dtype=np.float64)
    fps = float(pose.body.fps or 25.0)
    if data.ndim != 4 or data.shape[0] == 0 or data.shape[1] == 0:
        return {"fps": fps, "frames": [], "components": [], "aspect": 1.0, "scale": SCALE}
    xy = data[:, 0, :, :2]  # first person only
    visible = (conf[:, 0, :] > 0) & np.isfinite(xy).all(axis=-1)

    keep: list[int] = []
    components = []
    offset = 0
    for index, comp in enumerate(pose.header.components):
        n = len(comp.points)
        if comp.name not in SKIP_COMPONENTS:
            is_face = comp.name == "FACE_LANDMARKS"
            local = list(range(0, n, FACE_STEP)) if is_face else list(range(n))
            start = len(keep)
            keep += [offset + i for i in local]
            where = {old: j for j, old in enumerate(local)}
            limbs = [] if is_face else [[where[a], where[b]] for a, b in comp.limbs if a in where and b in where]
            components.append({
                "name": comp.name,
                "start": start,
                "count": len(local),
                "limbs": limbs,
                "dots": is_face,
                "colour": COLOURS.get(comp.name, DEFAULT_COLOURS[index % len(DEFAULT_COLOURS)]),
            })
        offset += n

    xy = xy[:, keep]
    visible = visible[:, keep]
    step = max(1, int(np.ceil(len(xy) / MAX_FRAMES)))
    xy, visible, fps = xy[::step], visible[::step], fps / step

    lo, hi = _box(xy, visible, pose.header.dimensions)
    span = np.maximum(hi - lo, 1e-9)
    norm = np.rint((xy - lo) / span * SCALE)
    frames = []
    for f in range(len(norm)):
        row: list[int | None] = []
        for p in range(norm.shape[1]):
            if visible[f, p]:
                row += [int(norm[f, p, 0]), int(norm[f, p, 1])]
            else:
                row += [None, None]
        frames.append(row)
    return {"fps": fps, "frames": frames, "components": components, "aspect": float(span[0] / span[1]), "scale": SCALE}


def _box(xy: np.ndarray, visible: np.ndarray, dims: Any) -> tuple[np.ndarray, np.ndarray]:
    """The area to show: the video frame when the points are its pixels, else the points' robust extent."""
    if not visible.any():
        return np.zeros(2), np.ones(2)
    pts = xy[visible]
    lo, hi = np.percentile(pts, 0.5, axis=0), np.percentile(pts, 99.5, axis=0)
    pad = np.maximum((hi - lo) * 0.06, 1e-6)
    lo, hi = lo - pad, hi + pad
    width, height = float(getattr(dims, "width", 0) or 0), float(getattr(dims, "height", 0) or 0)
    if width > 1 and height > 1:
        inside = ((pts >= 0) & (pts <= [width, height])).all(axis=1).mean()
        if inside >= 0.8:  # pixels of the video frame: show the signer, but nothing outside the frame
            lo, hi = np.maximum(lo, 0.0), np.minimum(hi, [width, height])
            if (hi - lo).min() <= 0:
                return np.zeros(2), np.array([width, height])
    return lo, hi
