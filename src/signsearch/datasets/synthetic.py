"""A small, clearly labelled SYNTHETIC sign dataset: generated MediaPipe-Holistic-like `.pose` files.

Nothing here is real signing. The files only exercise the pipeline (pose shards, embedding, search, evaluation)
on a machine without videos; retrieval numbers on them say nothing about real sign language.

What is generated (all from seeded `numpy.random.default_rng([seed, ...])` streams, so the same arguments give
byte-identical files, and one video's file does not depend on how many glosses/signers are generated):

* **Files**: standard holistic `.pose` (pose-format; components POSE_LANDMARKS 33, FACE_LANDMARKS 468,
  LEFT_HAND_LANDMARKS 21, RIGHT_HAND_LANDMARKS 21, POSE_WORLD_LANDMARKS 33 = 576 points, `XYZC`), 30 fps,
  640x480 pixels; confidence 0 (masked) marks a missing point.
* **Gloss** (pseudo-word ``SYN-...``): a smooth dominant-hand path through 3-4 control points around the body
  (face to belly), sometimes with a small repeated oscillation; a start and an end hand shape out of 12 finger-curl
  prototypes plus a palm rotation; a non-dominant hand that rests (one-handed), mirrors the dominant one, or
  holds a still base hand; a base duration of 24-40 frames. Glosses come in minimal pairs (2k and 2k+1 differ
  only in the path or only in the hand shapes), so they are not trivially separable: pose-baseline gets a
  cross-signer P@1 of about 0.8-0.95 on 8 glosses x 4 signers x 3 takes (chance 0.125), depending on the seed.
* **Signer** (``synthetic-signer-NN``): body size and position in the frame, hand size, speed, movement
  amplitude and offset, a personal bias of finger curls and palm rotation, how loosely hand shapes are formed,
  and left-handedness (then the other hand is dominant).
* **Take**: timing jitter, a few pixels of landmark noise, small path and finger noise, and with some
  probability a short burst of frames where the dominant hand is not detected. Before and after the sign the
  hands rise from / return to a rest position below the frame, where they are missing, as in real recordings.
* **Split**: the last ``max(1, signers // 4)`` signers are ``test``, the others ``train`` (one signer alone is
  ``train``), so a signer never straddles the split.

API: `rows_for` lists the rows without writing anything (the workflow needs the ids at parse time),
`generate_one` writes one row's file, `generate` writes them all.
Rows: video_id, gloss, signer, split, pose_path (file name relative to the output folder in `rows_for`, the
written path in `generate`), frames, plus seed, gloss_index, signer_index, take (what `generate_one` needs).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.ma as ma
from pose_format import Pose
from pose_format.numpy import NumPyPoseBody
from pose_format.pose_header import PoseHeader, PoseHeaderDimensions
from pose_format.utils.holistic import holistic_components

FPS = 30.0
WIDTH, HEIGHT = 640, 480
N_POSE, N_FACE, N_HAND = 33, 468, 21
N_POINTS = N_POSE + N_FACE + 2 * N_HAND + N_POSE  # 576
_FACE0, _LEFT0 = N_POSE, N_POSE + N_FACE
_RIGHT0, _WORLD0 = _LEFT0 + N_HAND, _LEFT0 + 2 * N_HAND

_SYLLABLES = ["ba", "ki", "lo", "mu", "ne", "po", "ra", "si", "tu", "ve", "zo", "da"]
# Finger curls (thumb, index, middle, ring, pinky); 0 = straight, 1 = fully bent.
HANDSHAPES = {
    "fist": [0.3, 1.0, 1.0, 1.0, 1.0],
    "flat": [0.6, 0.0, 0.0, 0.0, 0.0],
    "spread": [0.0, 0.0, 0.0, 0.0, 0.0],
    "point": [0.8, 0.0, 1.0, 1.0, 1.0],
    "v": [0.8, 0.0, 0.0, 1.0, 1.0],
    "y": [0.0, 1.0, 1.0, 1.0, 0.0],
    "horns": [0.0, 0.0, 1.0, 1.0, 0.0],
    "c": [0.4, 0.5, 0.5, 0.5, 0.5],
    "o": [0.6, 0.75, 0.75, 0.75, 0.75],
    "three": [0.0, 0.0, 0.0, 1.0, 1.0],
    "w": [0.8, 0.0, 0.0, 0.0, 1.0],
    "l": [0.0, 0.0, 1.0, 1.0, 1.0],
}
_SHAPES = np.array(list(HANDSHAPES.values()), np.float32)
_LAX = np.array([0.3, 0.25, 0.3, 0.35, 0.4], np.float32)

# Right hand, palm to the camera, fingers up; unit = wrist -> middle MCP; x toward the thumb, y down.
_BASES = np.array([[0.22, -0.22], [0.32, -0.93], [0.0, -1.0], [-0.25, -0.93], [-0.47, -0.8]], np.float32)
_SEGMENTS = np.array([[0.35, 0.3, 0.26], [0.45, 0.27, 0.22], [0.5, 0.3, 0.24], [0.46, 0.28, 0.22], [0.36, 0.22, 0.2]], np.float32)
_DIRECTIONS = np.radians([-50.0, -8.0, 0.0, 8.0, 18.0]).astype(np.float32)  # finger angle from "up", + = toward -x
_BEND = np.radians([60.0, 85.0, 60.0]).astype(np.float32)  # joint bend at full curl


def gloss_name(index: int) -> str:
    """Pseudo-word gloss, obviously synthetic: SYN-BAKI, SYN-LOMU, ..."""
    n = len(_SYLLABLES)
    a, b = index % n, (index // n + 5 * index + 1) % n
    name = f"SYN-{_SYLLABLES[a]}{_SYLLABLES[b]}".upper()
    return name if index < n * n else f"{name}{index}"


def _split(signer: int, signers: int) -> str:
    if signers < 2:
        return "train"
    return "test" if signer >= signers - max(1, signers // 4) else "train"


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, *keys])


def _gloss(seed: int, g: int) -> dict[str, Any]:
    # Glosses come in minimal pairs: 2k and 2k+1 share one family draw and differ in only the path or the
    # hand shapes, so some glosses are close to each other as in a real vocabulary.
    r = _rng(seed, 1, g // 2)
    n_ctrl = int(r.integers(3, 5))
    ctrl = np.stack([r.uniform(-0.3, 0.9, n_ctrl), r.uniform(-1.4, 0.9, n_ctrl)], axis=1)
    shapes = r.choice(len(_SHAPES), 2, replace=True)
    if g % 2:
        v = _rng(seed, 5, g)
        if v.random() < 0.5:
            ctrl = ctrl + v.normal(0, 0.35, ctrl.shape)
        else:
            shapes = v.choice(len(_SHAPES), 2, replace=True)
    return {
        "ctrl": ctrl.astype(np.float32),  # (X toward the dominant side, Y down) in shoulder widths
        "osc_amp": float(r.uniform(0.08, 0.2)) if r.random() < 0.4 else 0.0,
        "osc_freq": float(r.integers(2, 5)),
        "osc_dir": float(r.uniform(0, np.pi)),
        "shapes": shapes,
        "same_shape": bool(r.random() < 0.5),
        "phi": r.uniform(-0.6, 0.6, 2).astype(np.float32),  # palm rotation start/end (radians)
        "other": ["rest", "mirror", "base"][int(r.choice(3, p=[0.5, 0.3, 0.2]))],
        "base_shape": int(r.integers(len(_SHAPES))),
        "frames": int(r.integers(24, 41)),
    }


def _signer(seed: int, s: int) -> dict[str, Any]:
    r = _rng(seed, 2, s)
    sw = float(r.uniform(100, 150))
    return {
        "sw": sw,
        "cx": float(WIDTH / 2 + r.uniform(-50, 50)),
        "sy": float(r.uniform(250, 310)),
        "hand": sw * float(r.uniform(0.22, 0.28)),
        "speed": float(r.uniform(0.8, 1.25)),
        "amp": float(r.uniform(0.85, 1.15)),
        "offset": r.uniform(-0.25, 0.25, 2).astype(np.float32),
        "curl_bias": r.normal(0, 0.2, 5).astype(np.float32),
        "phi_bias": float(r.normal(0, 0.35)),
        "lax": float(r.uniform(0.0, 0.45)),  # how loosely hand shapes are formed
        "left_handed": bool(r.random() < 0.25),
        "pre": int(r.integers(6, 11)),
        "post": int(r.integers(6, 11)),
    }


def _timing(seed: int, g: int, s: int, t: int) -> tuple[int, int, int]:
    """(pre, core, post) frame counts of one take; cheap, so `rows_for` can report `frames`."""
    gl, si, r = _gloss(seed, g), _signer(seed, s), _rng(seed, 3, g, s, t)
    core = max(8, int(round(gl["frames"] * si["speed"] * r.uniform(0.9, 1.1))))
    pre = max(3, si["pre"] + int(r.integers(-2, 3)))
    post = max(3, si["post"] + int(r.integers(-2, 3)))
    return pre, core, post


def rows_for(glosses: int = 8, signers: int = 4, takes: int = 2, seed: int = 0) -> list[dict[str, Any]]:
    """The dataset's rows, without writing anything (same rows as `generate`, pose_path relative)."""
    rows = []
    for g in range(glosses):
        for s in range(signers):
            for t in range(takes):
                video_id = f"synthetic-g{g:02d}-s{s:02d}-t{t}"
                rows.append(
                    {
                        "video_id": video_id,
                        "gloss": gloss_name(g),
                        "signer": f"synthetic-signer-{s:02d}",
                        "split": _split(s, signers),
                        "pose_path": f"{video_id}.pose",
                        "frames": sum(_timing(seed, g, s, t)),
                        "seed": int(seed),
                        "gloss_index": g,
                        "signer_index": s,
                        "take": t,
                    }
                )
    return rows


def generate(out_dir: Path, *, glosses: int = 8, signers: int = 4, takes: int = 2, seed: int = 0) -> list[dict[str, Any]]:
    """Write every file under out_dir and return the rows (pose_path = the written path)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for row in rows_for(glosses, signers, takes, seed):
        path = out_dir / row["pose_path"]
        generate_one(row, path)
        rows.append({**row, "pose_path": str(path)})
    return rows


def generate_one(row: dict[str, Any], out_path: Path | str) -> Path:
    """Write the `.pose` file of one row of `rows_for` (atomically: a temporary file renamed into place)."""
    pose = build_pose(int(row["seed"]), int(row["gloss_index"]), int(row["signer_index"]), int(row["take"]))
    buf = io.BytesIO()
    pose.write(buf)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.tmp{os.getpid()}")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, out_path)
    return out_path


def _ease(u: np.ndarray) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(u, 0, 1))


def _path(points: np.ndarray, n: int) -> np.ndarray:
    """Smooth path [n, 2] through control points (eased piecewise-linear, stops at each point)."""
    u = np.linspace(0, len(points) - 1, n)
    i = np.minimum(np.floor(u).astype(int), len(points) - 2)
    f = _ease(u - i)[:, None]
    return points[i] * (1 - f) + points[i + 1] * f


def hand_points(curls: np.ndarray, phi: np.ndarray, size: float, mirror: bool) -> np.ndarray:
    """21 MediaPipe hand points [T, 21, 3] relative to the wrist (pixels) for curls [T, 5] and rotation [T]."""
    T = curls.shape[0]
    pts = np.zeros((T, 21, 3), np.float32)
    for f in range(5):
        base = np.broadcast_to(_BASES[f], (T, 2))
        direction = _DIRECTIONS[f] + (curls[:, f] * np.radians(40.0) if f == 0 else 0.0)  # thumb folds across
        d = np.stack([-np.sin(direction) * np.ones(T), -np.cos(direction) * np.ones(T)], axis=1)
        pos, depth, bend = base.copy(), np.zeros(T), np.zeros(T)
        pts[:, 1 + 4 * f, :2] = base
        for j in range(3):
            bend = bend + curls[:, f] * _BEND[j]
            seg = _SEGMENTS[f, j]
            pos = pos + d * (seg * np.cos(bend))[:, None]
            depth = depth - seg * np.sin(bend)
            pts[:, 2 + 4 * f + j, :2] = pos
            pts[:, 2 + 4 * f + j, 2] = depth
    c, s = np.cos(phi)[:, None], np.sin(phi)[:, None]
    x, y = pts[..., 0].copy(), pts[..., 1].copy()
    pts[..., 0], pts[..., 1] = c * x - s * y, s * x + c * y
    if mirror:
        pts[..., 0] *= -1
    return pts * size


def _elbow(shoulder: np.ndarray, wrist: np.ndarray, arm: float, outward: float) -> np.ndarray:
    """Elbow [T, 2] of a two-segment arm (each `arm` long) bent outward (outward = +1 image-right, -1 left)."""
    mid = (shoulder + wrist) / 2
    v = wrist - shoulder
    d = np.linalg.norm(v, axis=1, keepdims=True).clip(1e-3)
    h = np.sqrt(np.clip(arm**2 - (d / 2) ** 2, 0, None))
    perp = np.concatenate([v[:, 1:], -v[:, :1]], axis=1) / d
    perp = perp * np.where(perp[:, :1] * outward >= 0, 1.0, -1.0)
    return mid + perp * h


_FACE_LAYOUT = np.random.default_rng(468).uniform(-1, 1, (N_FACE, 3)).astype(np.float32)
_FACE_LAYOUT[:, :2] /= np.maximum(1.0, np.linalg.norm(_FACE_LAYOUT[:, :2], axis=1, keepdims=True))


def build_pose(seed: int, g: int, s: int, t: int) -> Pose:
    """The synthetic Pose of gloss g, signer s, take t (see the module docstring)."""
    gl, si, r = _gloss(seed, g), _signer(seed, s), _rng(seed, 4, g, s, t)
    pre, core, post = _timing(seed, g, s, t)
    T = pre + core + post
    sw, cx, sy = si["sw"], si["cx"], si["sy"]
    # Signer-space (X toward the dominant side, Y down, shoulder widths) -> image pixels. A right-handed signer
    # faces the camera, so the dominant (right) hand is on the image left.
    side = 1.0 if si["left_handed"] else -1.0

    def to_img(p: np.ndarray, other: bool = False) -> np.ndarray:
        sgn = -side if other else side
        return np.stack([cx + sgn * p[:, 0] * sw, sy + p[:, 1] * sw], axis=1)

    rest = np.array([0.75, 2.1], np.float32)
    ctrl = gl["ctrl"] * si["amp"] + si["offset"] + r.normal(0, 0.12, gl["ctrl"].shape)
    sign_path = _path(ctrl, core)
    if gl["osc_amp"]:
        w = np.sin(np.linspace(0, 2 * np.pi * gl["osc_freq"], core)) * gl["osc_amp"] * si["amp"]
        sign_path = sign_path + w[:, None] * np.array([np.cos(gl["osc_dir"]), np.sin(gl["osc_dir"])])
    ramp_in = _path(np.stack([rest, sign_path[0]]), pre)
    ramp_out = _path(np.stack([sign_path[-1], rest]), post)
    dom = np.concatenate([ramp_in, sign_path, ramp_out])

    # Non-dominant hand: rest, mirror of the dominant path, or a still base hand in front of the body.
    if gl["other"] == "mirror":
        other = dom.copy()
    elif gl["other"] == "base":
        base = np.array([0.1, 0.55], np.float32) + r.normal(0, 0.03, 2)
        other = np.concatenate([_path(np.stack([rest, base]), pre), np.repeat(base[None], core, 0), _path(np.stack([base, rest]), post)])
    else:
        other = np.repeat(rest[None], T, 0)

    # Hand shapes and palm rotation over time.
    u = np.concatenate([np.zeros(pre), np.linspace(0, 1, core), np.ones(post)])
    s0, s1 = _SHAPES[gl["shapes"][0]], _SHAPES[gl["shapes"][1 if not gl["same_shape"] else 0]]
    shape = s0[None] * (1 - _ease(u)[:, None]) + s1[None] * _ease(u)[:, None]
    into = np.concatenate([_ease(np.linspace(0, 1, pre)), np.ones(core), 1 - _ease(np.linspace(0, 1, post))])[:, None]
    shape = shape * (1 - si["lax"]) + _LAX[None] * si["lax"]
    curls = _LAX[None] * (1 - into) + shape * into + si["curl_bias"] + r.normal(0, 0.12, 5)
    curls = np.clip(curls, 0, 1).astype(np.float32)
    phi = (gl["phi"][0] * (1 - u) + gl["phi"][1] * u) * into[:, 0] + si["phi_bias"] + r.normal(0, 0.15)
    other_shape = _SHAPES[gl["base_shape"]] if gl["other"] == "base" else (shape if gl["other"] == "mirror" else _LAX)
    other_curls = np.clip(_LAX[None] * (1 - into) + np.broadcast_to(other_shape, (T, 5)) * into + si["curl_bias"], 0, 1)

    dom_img, other_img = to_img(dom), to_img(other, other=True)
    size = si["hand"]
    dom_hand = hand_points(curls, phi.astype(np.float32), size, mirror=side > 0)
    other_hand = hand_points(other_curls.astype(np.float32), (-phi).astype(np.float32), size, mirror=side < 0)
    dom_hand[..., :2] += dom_img[:, None]
    other_hand[..., :2] += other_img[:, None]
    # the signer's right hand is the dominant one unless left-handed
    right_hand, left_hand = (other_hand, dom_hand) if si["left_handed"] else (dom_hand, other_hand)
    right_img, left_img = (other_img, dom_img) if si["left_handed"] else (dom_img, other_img)

    data = np.zeros((T, N_POINTS, 3), np.float32)
    conf = np.zeros((T, N_POINTS), np.float32)
    # Body pose (pixels). Signer's right side = image left.
    sway = r.normal(0, 0.01, (1, 2)) * sw + np.cumsum(r.normal(0, 0.003, (T, 2)), axis=0) * sw
    r_sh = np.array([cx - sw / 2, sy]) + sway
    l_sh = np.array([cx + sw / 2, sy]) + sway
    head = np.array([cx, sy - 0.95 * sw]) + sway
    pose = np.zeros((T, N_POSE, 2), np.float32)
    vis = np.full((T, N_POSE), 0.99, np.float32)
    fw = 0.55 * sw
    offsets = {0: (0, 0.05), 1: (-0.12, -0.1), 2: (-0.18, -0.1), 3: (-0.24, -0.1), 4: (0.12, -0.1), 5: (0.18, -0.1),
               6: (0.24, -0.1), 7: (-0.42, -0.02), 8: (0.42, -0.02), 9: (-0.12, 0.3), 10: (0.12, 0.3)}  # fmt: skip
    for k, (ox, oy) in offsets.items():
        # MediaPipe "left" points (1-3, 7, 9) are the signer's left = image right
        sgn = -1.0 if k in (1, 2, 3, 7, 9) else 1.0
        pose[:, k] = head + np.array([sgn * -ox * fw if k else 0.0, oy * fw])
    pose[:, 11], pose[:, 12] = l_sh, r_sh
    arm = 0.75 * sw
    pose[:, 13] = _elbow(l_sh, left_img, arm, +1.0)
    pose[:, 14] = _elbow(r_sh, right_img, arm, -1.0)
    pose[:, 15], pose[:, 16] = left_hand[:, 0, :2], right_hand[:, 0, :2]
    for k, hp in ((17, 17), (19, 5), (21, 1)):
        pose[:, k], pose[:, k + 1] = left_hand[:, hp, :2], right_hand[:, hp, :2]
    hip_y = sy + 1.7 * sw
    pose[:, 23] = np.array([cx + 0.35 * sw, hip_y]) + sway
    pose[:, 24] = np.array([cx - 0.35 * sw, hip_y]) + sway
    for k in range(25, 33):
        leg = 1 if k % 2 else -1  # odd = left = image right
        pose[:, k] = np.array([cx + leg * 0.35 * sw, hip_y + (1.2 + 0.3 * ((k - 25) // 2)) * sw]) + sway
    out = (pose[..., 1] > HEIGHT) | (pose[..., 0] < 0) | (pose[..., 0] > WIDTH)
    vis = np.where(out, 0.1, vis)
    data[:, :N_POSE, :2] = pose
    data[:, :N_POSE, 2] = r.normal(0, 0.02, (T, N_POSE)) * sw
    conf[:, :N_POSE] = vis

    face = head[:, None, :] + _FACE_LAYOUT[None, :, :2] * np.array([0.5 * fw, 0.65 * fw])
    data[:, _FACE0:_LEFT0, :2] = face
    data[:, _FACE0:_LEFT0, 2] = _FACE_LAYOUT[None, :, 2] * 0.1 * fw
    conf[:, _FACE0:_LEFT0] = 1.0

    for start, hand in ((_LEFT0, left_hand), (_RIGHT0, right_hand)):
        data[:, start : start + N_HAND] = hand
        wrist = hand[:, 0, :2]
        seen = (wrist[:, 1] < HEIGHT - 5) & (wrist[:, 0] > 0) & (wrist[:, 0] < WIDTH)
        conf[:, start : start + N_HAND] = seen[:, None].astype(np.float32)
    if r.random() < 0.35:  # a short detection dropout of the dominant hand during the sign
        start = _RIGHT0 if not si["left_handed"] else _LEFT0
        a = pre + int(r.integers(0, max(1, core - 5)))
        conf[a : a + int(r.integers(2, 6)), start : start + N_HAND] = 0.0

    # World landmarks: the pose in metres around the hips' centre (shoulder width ~0.38 m).
    hips = (pose[:, 23] + pose[:, 24]) / 2
    data[:, _WORLD0:, :2] = (pose - hips[:, None]) / sw * 0.38
    data[:, _WORLD0:, 2] = data[:, :N_POSE, 2] / sw * 0.38
    conf[:, _WORLD0:] = vis

    data = data + r.normal(0, 1.0, data.shape).astype(np.float32) * np.array([1.0, 1.0, 0.5], np.float32) * (
        np.arange(N_POINTS) < _WORLD0
    )[None, :, None]
    data = np.where(conf[..., None] > 0, data, 0.0).astype(np.float32)
    header = PoseHeader(
        version=0.2, dimensions=PoseHeaderDimensions(width=WIDTH, height=HEIGHT, depth=WIDTH), components=holistic_components("XYZC")
    )
    mask = np.repeat((conf == 0)[:, None, :, None], 3, axis=-1)
    body = NumPyPoseBody(fps=FPS, data=ma.masked_array(data[:, None], mask=mask), confidence=conf[:, None])
    return Pose(header, body)
