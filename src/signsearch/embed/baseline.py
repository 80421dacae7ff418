"""pose-baseline: a deterministic, weight-free embedder of MediaPipe Holistic poses (numpy only).

Pipeline for one pose (person 0; every point offset comes from the header, so 468- and 478-point faces and
files without some components work):

1. **Body frame.** x, y are centred on the mid-shoulder point and divided by the shoulder width (medians over
   the frames where both shoulders are seen; without shoulders: the hands' centre and spread). Hand z (MediaPipe
   relative depth) is divided by the same width.
2. **Trim.** Leading and trailing frames without any hand are cut (signing happens while hands are visible).
3. **Dominant-hand mirroring.** The more active hand (fraction of frames seen + wrist path length) is put in
   the "dominant" slot; when that is the image-left hand, the pose is mirrored (x -> -x, hands swapped), so
   left- and right-handed signers, and mirrored / unmirrored webcams, give comparable vectors.
4. **Missing hands.** Frames where a hand is missing are filled by linear interpolation in time (constant at
   the ends). A hand never seen takes the trajectory of the body-pose wrist (or a rest point below the
   shoulder) and a zero hand shape.
5. **Blocks** (each block is flattened, multiplied by weight / sqrt(its size), the blocks are concatenated and
   the result L2-normalised; the non-dominant hand's entries are further multiplied by `nondominant`):

   * ``traj``: each wrist's trajectory, resampled to ``length`` samples, minus its temporal mean (the movement).
   * ``location``: each wrist's temporal mean position (where the sign is made, relative to the body).
   * ``shape``: each hand's 21 points relative to its wrist, divided by the hand size (median wrist -> middle
     MCP distance), x, y and z, minus a fixed canonical hand (``CANONICAL_HAND``), resampled to
     ``shape_length`` samples (hand shape + orientation over time).
   * ``shape_mean``: the same hand shape averaged over all frames (timing-free hand shape).

Measured on realsigns-a (485 real MediaPipe Holistic sequences, 12 signs, 25 signers; cosine all-against-all;
"xs" = cross-signer, hits by the query's own signer excluded; chance P@1 ~0.14; naive reference from its README:
P@1 0.74 overall, 0.54 xs). Effect of each choice, each row changing one thing of the final configuration:

=================================================  ========  ========  ========  ========
configuration                                      P@1 all   mAP all   P@1 xs    mAP xs
=================================================  ========  ========  ========  ========
final (defaults)                                   0.849     0.548     0.726     0.511
wrist trajectories only (no trim/mirror/shapes)    0.559     0.261     0.384     0.231
traj + location blocks only (no hand shape)        0.557     0.300     0.381     0.272
shape + shape_mean blocks only (no trajectories)   0.835     0.538     0.693     0.502
without shape_mean                                 0.845     0.543     0.722     0.506
without the canonical-hand subtraction             0.849     0.520     0.711     0.483
hand shape in 2-D (no z)                           0.833     0.544     0.701     0.508
nondominant = 1.0 (both hands weigh the same)      0.819     0.490     0.682     0.455
nondominant = 0.0 (dominant hand only)             0.849     0.549     0.724     0.511
no dominant-hand mirroring                         0.810     0.434     0.676     0.401
no trim                                            0.858     0.543     0.718     0.506
trajectory not centred, no location block          0.856     0.545     0.707     0.505
=================================================  ========  ========  ========  ========

Hand shape carries most of the signal on these isolated, mostly one-handed signs; trajectories add ~0.03 xs
P@1; mirroring and the non-dominant down-weighting mostly help mAP. ``nondominant`` stays at 0.2 rather than 0
so two-handed signs keep their second hand.

Tried and dropped (no gain or worse, so not implemented any more): wrist velocities (-0.01 to -0.03 P@1),
presence curves of the hands, elbow trajectories, all-21-point trajectories instead of the wrist (+-0.005),
pairwise fingertip distances instead of wrist-relative points (-0.03 xs P@1), length 8/32 or shape_length 4/16
(+-0.005). The weights were chosen on realsigns-a itself (a small grid; the two halves of its signers agree
within ~0.03), so expect somewhat lower numbers on unseen material. ``CANONICAL_HAND`` was NOT fitted on
realsigns-a: it is the mean normalised hand of other real MediaPipe files (the shared `poses/` test folder).

Embedding 485 poses of 30 frames takes ~0.5 s on one core. A pose with no frame embeds to the zero vector.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from pose_format import Pose

from signsearch.embed.pose_arrays import (
    MIDDLE_MCP,
    WRIST,
    HolisticArrays,
    holistic_arrays,
    interpolate_missing,
    resample,
    shoulder_frame,
)

FEATURE_VERSION = "pose-baseline/1"

DEFAULT_OPTIONS: dict[str, Any] = {
    "length": 16,  # time samples of the wrist trajectories
    "shape_length": 8,  # time samples of the hand shapes
    "trim": True,  # cut leading/trailing frames without any hand
    "mirror": True,  # mirror so that the more active hand is always the dominant (right-hand) slot
    "traj_center": True,  # split trajectories into movement (traj) and mean position (location)
    "shape_dims": 3,  # 3: hand shape in x, y, z; 2: x, y only
    "canonical_hand": True,  # subtract CANONICAL_HAND from hand shapes
    "nondominant": 0.2,  # weight of the non-dominant hand in every block
    "weights": {"traj": 0.7, "location": 0.35, "shape": 1.0, "shape_mean": 0.5},
}

# Mean right hand (x, y relative to the wrist, in hand sizes; image coordinates, y down) of the real MediaPipe
# files in the shared `poses/` test folder (not realsigns-a). z is 0 on average.
CANONICAL_HAND = np.array(
    [[0.0, 0.0], [0.22, -0.28], [0.44, -0.57], [0.62, -0.73], [0.75, -0.83], [0.42, -0.78], [0.74, -0.92],
     [0.90, -0.96], [1.02, -0.99], [0.38, -0.68], [0.74, -0.82], [0.92, -0.85], [1.04, -0.88], [0.35, -0.54],
     [0.67, -0.68], [0.84, -0.71], [0.94, -0.75], [0.32, -0.37], [0.56, -0.49], [0.68, -0.53], [0.76, -0.57]],
    np.float32,
)  # fmt: skip
# Pose body-wrist rest points (image-left, image-right slot) for a hand never seen, in shoulder widths.
REST = np.array([[-0.6, 1.5], [0.6, 1.5]], np.float32)
BLOCKS = ("traj", "location", "shape", "shape_mean")


def _merge(options: dict[str, Any] | None) -> dict[str, Any]:
    merged = json.loads(json.dumps(DEFAULT_OPTIONS))
    for key, value in (options or {}).items():
        if key not in merged:
            raise ValueError(f"pose-baseline: unknown option '{key}' (known: {', '.join(sorted(merged))})")
        if key == "weights":
            unknown = set(value) - set(BLOCKS)
            if unknown:
                raise ValueError(f"pose-baseline: unknown weight(s) {sorted(unknown)} (known: {', '.join(BLOCKS)})")
            merged["weights"].update(value)
        else:
            merged[key] = value
    if merged["shape_dims"] not in (2, 3):
        raise ValueError("pose-baseline: shape_dims must be 2 or 3")
    if int(merged["length"]) < 2 or int(merged["shape_length"]) < 1:
        raise ValueError("pose-baseline: length must be >= 2 and shape_length >= 1")
    if not any(float(w) > 0 for w in merged["weights"].values()):
        raise ValueError("pose-baseline: at least one weight must be > 0")
    return merged


class PoseBaselineEmbedder:
    """Hand trajectory + hand shape features of a holistic pose; see the module docstring."""

    def __init__(self, name: str = "pose-baseline", options: dict[str, Any] | None = None):
        self.name = name
        self.options = _merge(options)
        digest = hashlib.sha256(json.dumps(self.options, sort_keys=True).encode()).hexdigest()[:12]
        self.fingerprint = f"{FEATURE_VERSION}:{digest}"
        self._blocks = [b for b in BLOCKS if float(self.options["weights"].get(b, 0)) > 0]
        L, S, sd = int(self.options["length"]), int(self.options["shape_length"]), self.options["shape_dims"]
        sizes = {"traj": 2 * L * 2, "location": 2 * 2, "shape": 2 * S * 21 * sd, "shape_mean": 2 * 21 * sd}
        self.dim = sum(sizes[b] for b in self._blocks)

    def embed_poses(self, poses: Sequence[Pose]) -> np.ndarray:
        out = np.zeros((len(poses), self.dim), np.float32)
        for i, pose in enumerate(poses):
            out[i] = self.embed_arrays(holistic_arrays(pose))
        return out

    def embed_arrays(self, a: HolisticArrays) -> np.ndarray:
        """The vector of one pose already turned into arrays (`pose_arrays.holistic_arrays`)."""
        o = self.options
        L, S, sd = int(o["length"]), int(o["shape_length"]), o["shape_dims"]
        if a.frames == 0:
            return np.zeros(self.dim, np.float32)
        centre, scale = shoulder_frame(a)
        hands = np.stack([a.left, a.right])  # [2, T, 21, 3]: image-left, image-right hand
        hands = np.concatenate([(hands[..., :2] - centre) / scale, hands[..., 2:] / scale], axis=-1)
        pose_wrists = ((a.wrists - centre) / scale).transpose(1, 0, 2)  # [2, T, 2]
        present = np.isfinite(hands[..., WRIST, :2]).all(-1)  # [2, T]

        if o["trim"]:
            keep = hand_span(present)
            hands, pose_wrists, present = hands[:, keep], pose_wrists[:, keep], present[:, keep]

        if o["mirror"] and left_is_dominant(hands, present):
            hands = mirror_hands(hands)
            pose_wrists = pose_wrists[::-1] * np.array([-1.0, 1.0], np.float32)
            present = present[::-1]

        wrists, shapes = [], []
        for h in range(2):
            pts, ok = hands[h], present[h]
            if ok.any():
                wrist, shape = hand_shape(pts, ok, h, canonical=o["canonical_hand"])
                shape = shape[..., :sd]
            else:
                pw = pose_wrists[h]
                pok = np.isfinite(pw).all(-1)
                wrist = interpolate_missing(np.nan_to_num(pw), pok) if pok.any() else np.repeat(REST[h][None], len(pw), 0)
                shape = np.zeros((len(pw), 21, sd), np.float32)
            wrists.append(resample(wrist, L))
            shapes.append(shape)

        traj = np.stack(wrists)  # [2, L, 2]
        location = traj.mean(1)
        blocks = {
            "traj": traj - location[:, None] if o["traj_center"] else traj,
            "location": location,
            "shape": np.stack([resample(s, S) for s in shapes]),
            "shape_mean": np.stack([s.mean(0) for s in shapes]),
        }
        hand_weight = np.array([float(o["nondominant"]), 1.0], np.float32)  # slot 1 = dominant
        parts = []
        for b in self._blocks:
            v = blocks[b].astype(np.float32) * hand_weight.reshape((2,) + (1,) * (blocks[b].ndim - 1))
            parts.append(v.ravel() * (float(o["weights"][b]) / np.sqrt(v.size)))
        vec = np.nan_to_num(np.concatenate(parts), nan=0.0, posinf=0.0, neginf=0.0)
        n = float(np.linalg.norm(vec))
        return (vec / n if n > 0 else vec).astype(np.float32)


def hand_span(present: np.ndarray) -> slice:
    """The frames from the first to the last one with either hand ([2, T] presence); all frames if none."""
    seen = np.flatnonzero(present.any(0))
    return slice(seen[0], seen[-1] + 1) if len(seen) else slice(None)


def left_is_dominant(hands: np.ndarray, present: np.ndarray) -> bool:
    """Whether the image-left hand (slot 0) does more than the image-right one, so the pair should be mirrored."""
    return _activity(hands[0], present[0]) > _activity(hands[1], present[1])


def mirror_hands(hands: np.ndarray) -> np.ndarray:
    """Swap the two hand slots and mirror x ([2, T, 21, 3] in the body frame)."""
    return hands[::-1] * np.array([-1.0, 1.0, 1.0], np.float32)


def hand_shape(pts: np.ndarray, ok: np.ndarray, slot: int, *, canonical: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """One hand slot's wrist track [T, 2] and wrist-relative shape in hand sizes [T, 21, 3], gaps interpolated."""
    pts = interpolate_missing(np.nan_to_num(pts), ok)
    size = float(np.median(np.linalg.norm(pts[ok, MIDDLE_MCP, :2] - pts[ok, WRIST, :2], axis=-1)))
    shape = (pts - pts[:, WRIST : WRIST + 1]) / max(size, 1e-3)
    if canonical:
        # slot 0 holds a left hand (x mirrored w.r.t. the canonical right hand)
        shape[..., :2] -= CANONICAL_HAND * np.array([-1.0 if slot == 0 else 1.0, 1.0], np.float32)
    return pts[:, WRIST, :2], shape


def _activity(pts: np.ndarray, ok: np.ndarray) -> float:
    """How much a hand does: fraction of frames seen plus wrist path length (shoulder widths) over those frames."""
    if not ok.any():
        return -1.0
    w = pts[ok, WRIST, :2]
    return float(ok.mean() + np.linalg.norm(np.diff(w, axis=0), axis=-1).sum())
