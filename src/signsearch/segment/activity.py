"""A motion / hand-activity segmenter and the idle trim of isolated clips (numpy only, no model).

Signing happens while a hand is in view and moving; rests are hands out of view, or in view and still.
Per frame, the activity is the speed of the faster visible hand (centroid of its 21 points, in shoulder widths
per second, smoothed). A run starts where the activity exceeds `high` and lasts while a hand is seen and the
activity stays above `low` (hysteresis); short holds (`hold_s`) and short hand drop-outs (`gap_s`) inside a run
are bridged, runs shorter than `min_s` are dropped, and runs longer than `max_s` are split at their deepest
speed minimum (the moment between two signs where the hands slow down), recursively.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from pose_format import Pose

from signsearch.embed.pose_arrays import holistic_arrays, shoulder_frame


@dataclass(frozen=True)
class ActivityParams:
    # Defaults tuned on Croatian take 0000 (bench/measure_segmentation.py, docs/segmentation.md).
    high: float = 0.5  # shoulder widths / s that start a run
    low: float = 0.1  # a run continues while the activity stays above this
    smooth_s: float = 0.2  # moving-average window of the speed
    hold_s: float = 0.3  # still-but-visible stretches up to this long stay inside a run
    gap_s: float = 0.07  # frames without any hand up to this long stay inside a run (tracking drop-outs)
    min_s: float = 0.2  # shorter runs are dropped
    max_s: float = 3.0  # longer runs are split at speed minima; 0: never split
    pad_s: float = 0.6  # widen every segment by this much on each side (not past the middle of a rest)

    @classmethod
    def from_dict(cls, values: dict | None) -> ActivityParams:
        known = {f.name for f in fields(cls)}
        unknown = set(values or {}) - known
        if unknown:
            raise ValueError(f"activity segmenter: unknown parameter(s) {sorted(unknown)} (known: {', '.join(sorted(known))})")
        return cls(**{k: float(v) for k, v in (values or {}).items()})


@dataclass(frozen=True)
class Activity:
    """Per-frame signals of one pose: `seen` (a hand is visible) and `speed` (smoothed, shoulder widths / s)."""

    seen: np.ndarray
    speed: np.ndarray
    fps: float


def _moving_average(x: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or len(x) == 0:
        return x
    kernel = np.ones(window) / window
    return np.convolve(np.pad(x, (window // 2, window - 1 - window // 2), mode="edge"), kernel, mode="valid")


def activity(pose: Pose, smooth_s: float = 0.1) -> Activity:
    """Hand visibility and hand speed per frame of person 0."""
    fps = float(pose.body.fps) if pose.body.fps and pose.body.fps > 0 else 30.0
    a = holistic_arrays(pose)
    centre, scale = shoulder_frame(a)
    speeds, seen = [], np.zeros(a.frames, bool)
    for hand in (a.left, a.right):
        ok = np.isfinite(hand[..., :2]).all(-1)  # [T, 21]
        visible = ok.sum(-1) >= 11  # most points seen: a real detection, not a stray point
        xy = np.where(ok[..., None], hand[..., :2], 0.0).sum(1) / np.maximum(ok.sum(-1), 1)[:, None]
        pos = np.where(visible[:, None], (xy - centre) / scale, np.nan)
        step = np.zeros(a.frames)
        if a.frames > 1:
            moved = np.linalg.norm(np.diff(pos, axis=0), axis=-1) * fps
            step[1:] = np.where(np.isfinite(moved), moved, 0.0)
        speeds.append(step)
        seen |= visible
    speed = np.max(speeds, axis=0) if a.frames else np.zeros(0)
    speed = _moving_average(np.where(seen, speed, 0.0), max(1, round(smooth_s * fps)))
    return Activity(seen=seen, speed=np.where(seen, speed, 0.0), fps=fps)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open ranges of the True runs of a bool array."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def _hysteresis(act: Activity, high: float, low: float) -> np.ndarray:
    above = act.seen & (act.speed > low)
    out = np.zeros_like(above)
    for s, e in _runs(above):
        if (act.speed[s:e] > high).any():
            out[s:e] = True
    return out


def _bridge(ranges: list[tuple[int, int]], act: Activity, hold: int, gap: int) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in ranges:
        if merged:
            ps, pe = merged[-1]
            between = act.seen[pe:s]
            if (between.all() and s - pe <= hold) or s - pe <= gap:
                merged[-1] = (ps, e)
                continue
        merged.append((s, e))
    return merged


def _split(s: int, e: int, speed: np.ndarray, shortest: int, longest: int) -> list[tuple[int, int]]:
    if longest <= 0 or e - s <= longest or e - s < 2 * shortest:
        return [(s, e)]
    inner = speed[s + shortest : e - shortest + 1]
    # Cut in the middle of the slowest stretch (a hold), so both sides keep their share of it.
    low = inner <= inner.min() + 1e-6
    first = int(np.argmax(low))
    last = first + (int(np.argmin(low[first:])) if not low[first:].all() else len(low) - first) - 1
    cut = s + shortest + (first + last) // 2
    return _split(s, cut, speed, shortest, longest) + _split(cut, e, speed, shortest, longest)


def _pad(ranges: list[tuple[int, int]], pad: int, frames: int) -> list[tuple[int, int]]:
    if pad <= 0:
        return ranges
    out = []
    for i, (s, e) in enumerate(ranges):
        lo = ranges[i - 1][1] if i else 0
        hi = ranges[i + 1][0] if i + 1 < len(ranges) else frames
        # Padding may not cross the midpoint of the rest between two segments.
        out.append((max(s - pad, (lo + s + 1) // 2 if i else 0), min(e + pad, (e + hi) // 2 if i + 1 < len(ranges) else frames)))
    return out


def activity_ranges(act: Activity, params: ActivityParams) -> list[tuple[int, int]]:
    """Half-open signing ranges of one pose's activity signals."""
    frames = lambda seconds: max(1, round(seconds * act.fps))  # noqa: E731
    ranges = _bridge(_runs(_hysteresis(act, params.high, params.low)), act, frames(params.hold_s), frames(params.gap_s))
    ranges = [r for r in ranges if r[1] - r[0] >= frames(params.min_s)]
    ranges = [piece for s, e in ranges for piece in _split(s, e, act.speed, frames(params.min_s), round(params.max_s * act.fps))]
    return _pad(ranges, round(params.pad_s * act.fps), len(act.seen))


def range_confidence(act: Activity, start: int, end: int, params: ActivityParams) -> float:
    """How clearly a range is signing: mean of speed / high, capped at 1 per frame."""
    return float(np.minimum(act.speed[start:end] / params.high, 1.0).mean()) if end > start else 0.0


# Trimming keeps exactly the signing: no padding, and one run is never split.
TRIM_PARAMS = ActivityParams(pad_s=0.0, max_s=0.0)


def trim_range(pose: Pose, params: ActivityParams | None = None) -> tuple[int, int] | None:
    """Half-open [first, last + 1) frames of signing in an isolated clip (from the first activity run's start to
    the last one's end), or None when no signing activity is found."""
    params = params or TRIM_PARAMS
    act = activity(pose, params.smooth_s)
    ranges = activity_ranges(act, params)
    return (ranges[0][0], ranges[-1][1]) if ranges else None
