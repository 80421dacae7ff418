"""Front end: a holistic pose -> a `Clip` in the pose-baseline's body frame -> per-frame feature rows.

The normalisation is the pose-baseline's (`signsearch.embed.baseline` / `embed.pose_arrays`): body frame from the
shoulders, trim to the frames with a hand, dominant-hand mirroring into slot 1, missing hand frames interpolated,
hand shapes relative to the wrist in hand sizes minus the canonical hand. Augmentation (`train.augment`) works on
the `Clip`, between normalisation and features, so rotations and dropped hand frames happen in the body frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pose_format import Pose

from signsearch.embed.baseline import REST, hand_shape, hand_span, left_is_dominant, mirror_hands
from signsearch.embed.pose_arrays import WRIST, HolisticArrays, holistic_arrays, interpolate_missing, resample, shoulder_frame

BODY_POINTS = 7  # left/right shoulder, left/right elbow, left/right body-pose wrist, nose
_BODY_MIRROR = [1, 0, 3, 2, 5, 4, 6]
_BODY_WRIST = 4  # body row of the slot-0 wrist; slot 1 is the next row
HAND_FEATURES = 2 + 21 * 3 + 1  # wrist x, y; wrist-relative hand shape; seen flag
FEATURES = 2 * HAND_FEATURES + 2 * BODY_POINTS


@dataclass(frozen=True)
class Clip:
    """A pose in the body frame (x, y in shoulder widths from the mid-shoulder point), NaN where missing.

    hands: [2, T, 21, 3], slot 1 = dominant hand (mirrored so it is the image-right one); body: [T, 7, 2].
    """

    hands: np.ndarray
    body: np.ndarray

    @property
    def frames(self) -> int:
        return self.body.shape[0]


def read_pose(path: str | Path) -> Pose:
    return Pose.read(Path(path).read_bytes())


def normalise(a: HolisticArrays) -> Clip:
    """Body frame, trim and dominant-hand mirroring, as in `PoseBaselineEmbedder.embed_arrays`."""
    if a.frames == 0:
        return Clip(np.full((2, 0, 21, 3), np.nan, np.float32), np.full((0, BODY_POINTS, 2), np.nan, np.float32))
    centre, scale = shoulder_frame(a)
    hands = np.stack([a.left, a.right])
    hands = np.concatenate([(hands[..., :2] - centre) / scale, hands[..., 2:] / scale], axis=-1)
    body = np.concatenate([a.shoulders, a.elbows, a.wrists, a.nose[:, None]], axis=1)
    body = (body - centre) / scale
    present = np.isfinite(hands[..., WRIST, :2]).all(-1)
    keep = hand_span(present)
    hands, body, present = hands[:, keep], body[keep], present[:, keep]
    if left_is_dominant(hands, present):
        hands = mirror_hands(hands)
        body = body[:, _BODY_MIRROR] * np.array([-1.0, 1.0], np.float32)
    return Clip(np.ascontiguousarray(hands, np.float32), np.ascontiguousarray(body, np.float32))


def clip_from_pose(pose: Pose) -> Clip:
    return normalise(holistic_arrays(pose))


def frame_features(clip: Clip, length: int) -> np.ndarray:
    """float32 [length, FEATURES]: per hand slot wrist (2), shape (63), seen (1); then the body points (14).

    Resampled over the clip's whole duration (speed-free, like the baseline's trajectories). An empty clip gives
    zeros.
    """
    if clip.frames == 0:
        return np.zeros((length, FEATURES), np.float32)
    parts = []
    for h in range(2):
        pts = clip.hands[h]
        ok = np.isfinite(pts[:, WRIST, :2]).all(-1)
        if ok.any():
            wrist, shape = hand_shape(pts, ok, h)
        else:
            shape = np.zeros((clip.frames, 21, 3), np.float32)
            wrist = _filled(clip.body[:, _BODY_WRIST + h], REST[h])
        parts += [wrist, shape.reshape(clip.frames, -1), ok[:, None].astype(np.float32)]
    body = np.stack([_filled(clip.body[:, p], np.zeros(2, np.float32)) for p in range(BODY_POINTS)], axis=1)
    parts.append(body.reshape(clip.frames, -1))
    rows = np.concatenate(parts, axis=1).astype(np.float32)
    return np.nan_to_num(resample(rows, length), nan=0.0, posinf=0.0, neginf=0.0)


def _filled(xy: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """[T, 2] with missing frames interpolated; a point never seen takes `fallback` throughout."""
    ok = np.isfinite(xy).all(-1)
    if not ok.any():
        return np.repeat(fallback[None].astype(np.float32), len(xy), 0)
    return interpolate_missing(np.nan_to_num(xy), ok)
