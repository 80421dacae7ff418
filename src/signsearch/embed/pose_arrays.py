"""Header-driven access to MediaPipe Holistic poses as plain numpy arrays (no hard-coded point offsets).

The face component has 468 points, or 478 with refined (iris) landmarks, and some files drop components
altogether, so every offset is looked up in the pose header by component and point name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pose_format import Pose

POSE = "POSE_LANDMARKS"
LEFT_HAND = "LEFT_HAND_LANDMARKS"
RIGHT_HAND = "RIGHT_HAND_LANDMARKS"
HAND_POINTS = 21
# MediaPipe hand indices used for the hand size.
WRIST, MIDDLE_MCP = 0, 9


def component_slices(header) -> dict[str, slice]:
    """Map each component name to its slice of the flat point axis, in header order."""
    slices, start = {}, 0
    for comp in header.components:
        slices[comp.name] = slice(start, start + len(comp.points))
        start += len(comp.points)
    return slices


def point_index(header, component: str, point: str) -> int | None:
    """Flat index of `point` inside `component`, or None when the header has no such point."""
    start = 0
    for comp in header.components:
        if comp.name == component:
            return start + comp.points.index(point) if point in comp.points else None
        start += len(comp.points)
    return None


def xyz_and_present(pose: Pose, person: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return (xyz float32 [T, P, 3] in pixels with NaN where missing, present bool [T, P]); z is 0 for 2-D poses.

    A point counts as present when its confidence is > 0 and its coordinates are finite and unmasked.
    """
    data = pose.body.data
    if data.ndim != 4 or data.shape[0] == 0 or data.shape[1] == 0:
        points = sum(len(c.points) for c in pose.header.components)
        return np.full((0, points, 3), np.nan, np.float32), np.zeros((0, points), bool)
    raw = np.ma.getdata(data)[:, person].astype(np.float32)
    if raw.shape[-1] < 3:
        raw = np.concatenate([raw, np.zeros(raw.shape[:-1] + (3 - raw.shape[-1],), np.float32)], axis=-1)
    raw = raw[..., :3]
    mask = np.ma.getmaskarray(data)[:, person, :, :2].any(-1)
    conf = np.asarray(pose.body.confidence)[:, person].astype(np.float32)
    present = (conf > 0) & ~mask & np.isfinite(raw[..., :2]).all(-1)
    raw = np.where(np.isfinite(raw), raw, 0.0)
    xyz = np.where(present[..., None], raw, np.nan).astype(np.float32)
    return xyz, present


@dataclass(frozen=True)
class HolisticArrays:
    """The parts of a holistic pose the baseline uses, as arrays with NaN for missing points.

    left/right: [T, 21, 3] hand landmarks (x, y pixels, z MediaPipe-relative depth); shoulders: [T, 2, 2] (left, right); elbows, wrists: [T, 2, 2];
    nose: [T, 2]. x, y are pixels.
    """

    left: np.ndarray
    right: np.ndarray
    shoulders: np.ndarray
    elbows: np.ndarray
    wrists: np.ndarray
    nose: np.ndarray

    @property
    def frames(self) -> int:
        return self.left.shape[0]


def _take(xy: np.ndarray, index: int | None) -> np.ndarray:
    if index is None:
        return np.full((xy.shape[0], 2), np.nan, np.float32)
    return xy[:, index]


def holistic_arrays(pose: Pose, person: int = 0) -> HolisticArrays:
    """Extract hands and upper-body points by header lookup. Missing components give all-NaN arrays."""
    header = pose.header
    xyz, _ = xyz_and_present(pose, person)
    xy = xyz[..., :2]
    slices = component_slices(header)
    frames = xy.shape[0]

    def hand(name: str) -> np.ndarray:
        sl = slices.get(name)
        if sl is None or sl.stop - sl.start != HAND_POINTS:
            return np.full((frames, HAND_POINTS, 3), np.nan, np.float32)
        return xyz[:, sl]

    def pair(a: str, b: str) -> np.ndarray:
        return np.stack([_take(xy, point_index(header, POSE, a)), _take(xy, point_index(header, POSE, b))], axis=1)

    return HolisticArrays(
        left=hand(LEFT_HAND),
        right=hand(RIGHT_HAND),
        shoulders=pair("LEFT_SHOULDER", "RIGHT_SHOULDER"),
        elbows=pair("LEFT_ELBOW", "RIGHT_ELBOW"),
        wrists=pair("LEFT_WRIST", "RIGHT_WRIST"),
        nose=_take(xy, point_index(header, POSE, "NOSE")),
    )


def shoulder_frame(arrays: HolisticArrays) -> tuple[np.ndarray, float]:
    """Per-sequence (centre [2], scale): mid-shoulder point and shoulder width, medians over the frames where
    both shoulders are seen. Without shoulders: the centre of all hand points and a scale from their spread
    (or 1.0), so an embedding is still defined."""
    sh = arrays.shoulders
    both = np.isfinite(sh).all(axis=(1, 2))
    if both.any():
        centre = np.median(sh[both].mean(axis=1), axis=0)
        width = float(np.median(np.linalg.norm(sh[both, 0] - sh[both, 1], axis=-1)))
        if width > 1e-6:
            return centre.astype(np.float32), width
    hands = np.concatenate([arrays.left[..., :2].reshape(-1, 2), arrays.right[..., :2].reshape(-1, 2)])
    hands = hands[np.isfinite(hands).all(-1)]
    if len(hands) == 0:
        return np.zeros(2, np.float32), 1.0
    centre = hands.mean(axis=0)
    spread = float(np.sqrt(((hands - centre) ** 2).sum(-1).mean())) * 2.0
    return centre.astype(np.float32), spread if spread > 1e-6 else 1.0


def interpolate_missing(x: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Fill missing frames of x [T, ...] by linear interpolation in time between present frames (constant
    extrapolation at the ends). `present` is bool [T]. With no present frame, x is returned unchanged."""
    frames = x.shape[0]
    if present.all() or not present.any():
        return x
    known = np.flatnonzero(present)
    t = np.arange(frames)
    # Interpolation weights shared by all feature columns: idx of the next known frame and the fraction.
    right = np.clip(np.searchsorted(known, t), 1, len(known) - 1) if len(known) > 1 else np.zeros(frames, int)
    left = right - 1 if len(known) > 1 else right
    t0, t1 = known[left], known[right]
    span = np.where(t1 > t0, t1 - t0, 1)
    frac = np.clip((t - t0) / span, 0.0, 1.0).astype(np.float32)
    frac = frac.reshape((frames,) + (1,) * (x.ndim - 1))
    return (x[t0] * (1 - frac) + x[t1] * frac).astype(x.dtype)


def resample(x: np.ndarray, length: int) -> np.ndarray:
    """Linearly resample x [T, ...] (no NaN) to [length, ...] over its whole duration. T == 1 repeats it."""
    frames = x.shape[0]
    if frames == 1:
        return np.repeat(x, length, axis=0)
    pos = np.linspace(0.0, frames - 1, length)
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, frames - 1)
    frac = (pos - i0).astype(np.float32).reshape((length,) + (1,) * (x.ndim - 1))
    return (x[i0] * (1 - frac) + x[i1] * frac).astype(np.float32)
