"""Poses that carry no usable signing, written the way pose-format writes them (shared by the issue-14 tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy import ma
from pose_format import Pose
from pose_format.numpy import NumPyPoseBody
from pose_format.pose_header import PoseHeader, PoseHeaderComponent, PoseHeaderDimensions

from signsearch.datasets import synthetic


def good_pose(frames: int | None = None) -> Pose:
    """A synthetic MediaPipe Holistic pose (hands, body, face), optionally repeated to `frames` frames."""
    pose = synthetic.build_pose(0, 0, 0, 0)
    if frames is None:
        return pose
    reps = -(-frames // len(pose.body.data))
    data = ma.concatenate([pose.body.data] * reps)[:frames]
    conf = np.concatenate([pose.body.confidence] * reps)[:frames]
    return Pose(pose.header, NumPyPoseBody(fps=pose.body.fps, data=data, confidence=conf))


def all_nan_pose() -> Pose:
    pose = good_pose()
    data = ma.masked_array(np.full(pose.body.data.shape, np.nan, np.float32), mask=False)
    return Pose(pose.header, NumPyPoseBody(fps=pose.body.fps, data=data, confidence=pose.body.confidence))


def zero_frame_pose() -> Pose:
    pose = good_pose()
    shape = (0,) + pose.body.data.shape[1:]
    body = NumPyPoseBody(fps=pose.body.fps, data=ma.zeros(shape, np.float32), confidence=np.zeros(shape[:-1], np.float32))
    return Pose(pose.header, body)


def seven_point_pose(frames: int = 20) -> Pose:
    """An OpenPose-like 7-point body, no hands (not MediaPipe Holistic)."""
    points = ["NOSE", "NECK", "RSHOULDER", "RELBOW", "RWRIST", "LSHOULDER", "LELBOW"]
    comp = PoseHeaderComponent("BODY_7", points, [(0, 1)], [(255, 0, 0)], "XYC")
    header = PoseHeader(0.2, PoseHeaderDimensions(640, 480, 1), [comp])
    rng = np.random.default_rng(0)
    data = ma.masked_array(rng.uniform(100, 400, (frames, 1, 7, 2)).astype(np.float32), mask=False)
    return Pose(header, NumPyPoseBody(fps=25, data=data, confidence=np.ones((frames, 1, 7), np.float32)))


def handless_pose() -> Pose:
    """Holistic components, but no hand is ever detected (body only)."""
    pose = good_pose()
    slices, start = {}, 0
    for comp in pose.header.components:
        slices[comp.name] = slice(start, start + len(comp.points))
        start += len(comp.points)
    conf = np.array(pose.body.confidence)
    for name in ("LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS"):
        conf[:, :, slices[name]] = 0
    return Pose(pose.header, NumPyPoseBody(fps=pose.body.fps, data=pose.body.data, confidence=conf))


def write(pose: Pose, path: Path) -> Path:
    with path.open("wb") as fh:
        pose.write(fh)
    return path


def faceless_pose() -> Pose:
    """Body and hands as MediaPipe gives them, but no face component: not the Holistic layout SignCLIP reads."""
    pose = good_pose()
    keep, start, comps = [], 0, []
    for comp in pose.header.components:
        if comp.name != "FACE_LANDMARKS":
            keep += range(start, start + len(comp.points))
            comps.append(comp)
        start += len(comp.points)
    header = PoseHeader(pose.header.version, pose.header.dimensions, comps)
    body = NumPyPoseBody(fps=pose.body.fps, data=pose.body.data[:, :, keep], confidence=pose.body.confidence[:, :, keep])
    return Pose(header, body)
