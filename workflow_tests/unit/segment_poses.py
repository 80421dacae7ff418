"""Synthetic holistic poses for the segmentation tests: fixed shoulders, a right hand that appears and moves."""

from __future__ import annotations

import numpy as np
import numpy.ma as ma
from pose_format import Pose
from pose_format.numpy import NumPyPoseBody
from pose_format.pose_header import PoseHeader, PoseHeaderDimensions
from pose_format.utils.holistic import holistic_components

POINTS = 576  # body 33, face 468, hands 21 + 21, world 33
RIGHT_HAND = slice(522, 543)
LEFT_SHOULDER, RIGHT_SHOULDER = 11, 12


def make_pose(frames: int, signs: list[tuple[int, int]] = (), fps: float = 30.0, hands: bool = True) -> Pose:
    """`frames` frames; in each half-open range of `signs` the right hand is visible and moves fast (2 shoulder
    widths / s); elsewhere no hand is seen."""
    data = np.zeros((frames, 1, POINTS, 3), np.float32)
    conf = np.zeros((frames, 1, POINTS), np.float32)
    data[:, 0, LEFT_SHOULDER, :2] = (300, 200)
    data[:, 0, RIGHT_SHOULDER, :2] = (200, 200)
    conf[:, 0, [LEFT_SHOULDER, RIGHT_SHOULDER]] = 1
    offsets = np.random.default_rng(0).normal(0, 5, (21, 2))
    for start, end in signs if hands else ():
        t = np.arange(start, end) / fps
        centre = np.stack([250 + 50 * np.sin(2 * np.pi * t), 300 + 30 * np.cos(2 * np.pi * t)], -1)
        data[start:end, 0, RIGHT_HAND, :2] = centre[:, None] + offsets
        conf[start:end, 0, RIGHT_HAND] = 1
    header = PoseHeader(version=0.2, dimensions=PoseHeaderDimensions(width=640, height=480, depth=0),
                        components=holistic_components("XYZC"))
    mask = np.repeat((conf == 0)[..., None], 3, axis=-1)
    return Pose(header, NumPyPoseBody(fps=fps, data=ma.masked_array(data, mask=mask), confidence=conf))
