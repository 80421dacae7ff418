"""MediaPipe Holistic pose -> the (T, 609) float32 features SignCLIP was trained on (`demo_sign.preprocess_pose`).

Steps (spec section 2), in numpy, for person 0:

1. Select 203 points by name, in this order: 33 body, 128 face-contour points (so 468- and 478-point faces give
   the same features), 21 left-hand, 21 right-hand. World landmarks and confidences are dropped; z is kept.
2. Shoulder normalisation as pose-format's `Pose.normalize` does it through numpy.ma: ONE centre per file (mean
   shoulder midpoint over frames where both shoulders are detected, per axis, finite values only) and ONE scale
   (1 / mean 3-D shoulder distance). Points with confidence 0 keep their stored value (0 in practice). Without
   any frame with both shoulders the normalisation is skipped, raw pixels go through (as in the original).
3. Leg points (knees, ankles, heels, feet) are zeroed, NaN -> 0, then flattened as point-major, xyz innermost.

The fps is ignored (no resampling), as in the original.
"""

from __future__ import annotations

import logging

import numpy as np
from pose_format import Pose

log = logging.getLogger(__name__)

BODY, FACE, LEFT_HAND, RIGHT_HAND = "POSE_LANDMARKS", "FACE_LANDMARKS", "LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS"
# Sorted union of MediaPipe's FACEMESH_CONTOURS (demo_sign.py 30-39).
FACE_CONTOUR = (
    0, 7, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63, 65, 66, 67, 70, 78, 80, 81, 82, 84, 87,
    88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133, 136, 144, 145, 146, 148, 149, 150, 152, 153, 154, 155, 157,
    158, 159, 160, 161, 162, 163, 172, 173, 176, 178, 181, 185, 191, 234, 246, 249, 251, 263, 267, 269, 270, 276,
    282, 283, 284, 285, 288, 291, 293, 295, 296, 297, 300, 308, 310, 311, 312, 314, 317, 318, 321, 323, 324, 332,
    334, 336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379, 380, 381, 382, 384, 385, 386, 387, 388, 389,
    390, 397, 398, 400, 402, 405, 409, 415, 454, 466,
)  # fmt: skip
LEGS = tuple(f"{side}_{part}" for part in ("KNEE", "ANKLE", "HEEL", "FOOT_INDEX") for side in ("LEFT", "RIGHT"))
POINTS = 33 + len(FACE_CONTOUR) + 21 + 21  # 203


def point_indices(header) -> tuple[np.ndarray, list[str]]:
    """Flat indices of the 203 points in the pose's point axis, and their `COMPONENT/point` names."""
    offsets, start = {}, 0
    for comp in header.components:
        offsets[comp.name] = (start, list(comp.points))
        start += len(comp.points)
    wanted = [(BODY, None), (FACE, [str(i) for i in FACE_CONTOUR]), (LEFT_HAND, None), (RIGHT_HAND, None)]
    indices, names = [], []
    for component, points in wanted:
        if component not in offsets:
            raise ValueError(f"pose has no {component} component (SignCLIP needs MediaPipe Holistic poses)")
        first, available = offsets[component]
        for point in points or available:
            if point not in available:
                raise ValueError(f"pose component {component} has no point {point!r}")
            indices.append(first + available.index(point))
            names.append(f"{component}/{point}")
    if len(indices) != POINTS:
        raise ValueError(f"expected {POINTS} holistic points, the pose header gives {len(indices)}")
    return np.asarray(indices), names


def pose_features(pose: Pose) -> np.ndarray:
    """(T, 609) float32 model input for person 0 of `pose` (all frames, no truncation)."""
    data = np.ma.getdata(pose.body.data)
    confidence = np.asarray(pose.body.confidence)
    if data.ndim != 4 or data.shape[0] == 0 or data.shape[1] == 0:
        raise ValueError(f"pose has no frames (body shape {data.shape}); SignCLIP cannot embed it")
    if data.shape[-1] < 3:
        raise ValueError(f"pose has {data.shape[-1]}-D points; SignCLIP needs x, y, z")
    indices, names = point_indices(pose.header)
    xyz = data[:, 0][:, indices, :3].astype(np.float32)
    valid = confidence[:, 0][:, indices] != 0
    xyz = normalise(xyz, valid, names.index(f"{BODY}/RIGHT_SHOULDER"), names.index(f"{BODY}/LEFT_SHOULDER"))
    xyz[:, [names.index(f"{BODY}/{leg}") for leg in LEGS]] = 0
    xyz = np.nan_to_num(xyz)
    return xyz.reshape(len(xyz), -1)


def normalise(xyz: np.ndarray, valid: np.ndarray, right: int, left: int) -> np.ndarray:
    """numpy.ma semantics of `Pose.normalize(p1=right shoulder, p2=left shoulder)` on (T, N, 3) with (T, N) valid."""
    both = valid[:, right] & valid[:, left]
    if not both.any():
        log.warning("pose has no frame with both shoulders: SignCLIP features stay in raw pixel coordinates")
        return xyz
    with np.errstate(invalid="ignore", over="ignore"):
        mid = (xyz[:, right] + xyz[:, left]) / 2
        counted = both[:, None] & np.isfinite(mid)
        centre = np.where(counted, mid, 0).sum(0, dtype=np.float64) / np.maximum(counted.sum(0), 1)
        squared = (xyz[:, right] - xyz[:, left]) ** 2
        finite = both[:, None] & np.isfinite(squared)
        distance = np.sqrt(np.where(finite, squared, 0).sum(1, dtype=np.float64))[finite.any(1)]
        scale = np.float32(1 / distance.mean())
        moved = (xyz - centre.astype(np.float32)) * scale
    # An axis with no finite midpoint has a masked centre in numpy.ma: it is left unchanged.
    transform = valid[..., None] & counted.any(0)
    return np.where(transform, moved, xyz).astype(np.float32)
