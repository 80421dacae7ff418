"""MediaPipe Holistic on a video, with the same .pose content as pose-format's `video_to_pose --format mediapipe`.

`video_to_pose` pays ~1.7 s of import and model start per video; `HolisticEstimator` loads the model once
and resets its graph between videos, so each video's pose equals what a fresh model gives (proved by
workflow_tests/test_pose.py). pose-format's own reuse trick (one blank frame between videos) is not
enough: smoothing state survives it and world landmarks drift by several units.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import av
import mediapipe as mp
import numpy as np
from pose_format import Pose
from pose_format.numpy.pose_body import NumPyPoseBody
from pose_format.pose_header import PoseHeader, PoseHeaderDimensions
from pose_format.utils.holistic import FACE_POINTS_NUM, body_points, component_points, holistic_components
from simple_video_utils.frames import read_frames_exact

from signsearch.pose.probe import (
    DEFAULT_FRAME_TOLERANCE,
    TRUNCATED,
    UNREADABLE,
    VideoFailure,
    VideoInfo,
    check_posed,
    open_container,
    probe,
)

REFINED_FACE_EXTRA_POINTS = 10  # iris landmarks added by refine_face_landmarks


class HolisticEstimator:
    """One MediaPipe Holistic model for many videos; use as a context manager or call `close()`."""

    def __init__(
        self,
        *,
        model_complexity: int = 1,
        refine_face_landmarks: bool = False,
        frame_tolerance: float = DEFAULT_FRAME_TOLERANCE,
    ) -> None:
        self.frame_tolerance = frame_tolerance
        self._extra_face = REFINED_FACE_EXTRA_POINTS if refine_face_landmarks else 0
        # The settings video_to_pose runs with: its config plus static_image_mode=False, others default.
        self._holistic = mp.solutions.holistic.Holistic(
            static_image_mode=False,
            model_complexity=model_complexity,
            refine_face_landmarks=refine_face_landmarks,
        )

    def __enter__(self) -> HolisticEstimator:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._holistic.close()

    def estimate(self, video: str | Path) -> Pose:
        """Pose every frame of `video`; raise `VideoFailure` for a video that cannot give a usable pose."""
        pose, info = self._estimate_range(video, 0, None)
        check_posed(int(pose.body.data.shape[0]), bool(pose.body.confidence.any()), info, self.frame_tolerance)
        return pose

    def estimate_part(self, video: str | Path, start: int, stop: int | None) -> Pose:
        """Pose frames [start, stop) of `video` (stop None: to its end), tracking from `start` as from a first
        frame. The checks of a whole video (frames decoded, a person seen) are left to whoever joins the parts
        (`signsearch.pose.parts`)."""
        return self._estimate_range(video, start, stop)[0]

    def _estimate_range(self, video: str | Path, start: int, stop: int | None) -> tuple[Pose, VideoInfo]:
        container = open_container(video)
        try:
            info = probe(container, self.frame_tolerance)
            return self._estimate_frames(container, info, start, stop), info
        finally:
            container.close()

    def _estimate_frames(
        self, container: av.container.InputContainer, info: VideoInfo, start: int, stop: int | None
    ) -> Pose:
        # A fresh graph run drops the landmark smoothing and tracking left by the previous video;
        # it costs ~3 ms against ~1.7 s for a new process.
        self._holistic.reset()
        datas: list[np.ndarray] = []
        confs: list[np.ndarray] = []
        decoded = 0
        # Frames before `start` are decoded and dropped, not sought: a seek may land on other frames.
        frames = read_frames_exact(container, thread_type="NONE")
        while stop is None or decoded < stop:
            try:
                frame = next(frames)
            except StopIteration:
                break
            except RuntimeError as err:  # simple_video_utils wraps every decoding error this way
                cause = err.__cause__ or err
                reason = TRUNCATED if decoded else UNREADABLE
                raise VideoFailure(reason, f"decoding failed after {decoded} frames: {cause}") from err
            decoded += 1
            if decoded <= start:
                continue
            results = self._holistic.process(frame)
            data, conf = self._frame_arrays(results, info.width, info.height)
            datas.append(data)
            confs.append(conf)

        header = PoseHeader(
            version=0.2,
            dimensions=PoseHeaderDimensions(width=info.width, height=info.height, depth=0),
            components=holistic_components("XYZC", self._extra_face),
        )
        points = sum(len(c.points) for c in header.components)
        body = NumPyPoseBody(
            fps=info.fps,
            data=np.expand_dims(np.stack(datas), axis=1) if datas else np.zeros((0, 1, points, 3), np.float32),
            confidence=np.expand_dims(np.stack(confs), axis=1) if confs else np.zeros((0, 1, points), np.float32),
        )
        return Pose(header, body)

    def _frame_arrays(self, results: object, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        # Same points, order and scaling as pose_format.utils.holistic.load_holistic (576 / 586 points).
        parts = [
            body_points(results.pose_landmarks, width, height, 33),
            component_points(results.face_landmarks, width, height, FACE_POINTS_NUM(self._extra_face)),
            component_points(results.left_hand_landmarks, width, height, 21),
            component_points(results.right_hand_landmarks, width, height, 21),
            body_points(results.pose_world_landmarks, width, height, 33),
        ]
        return np.concatenate([d for d, _ in parts]), np.concatenate([c for _, c in parts])


def pose_video(
    video: str | Path,
    *,
    model_complexity: int = 1,
    refine_face_landmarks: bool = False,
    frame_tolerance: float = DEFAULT_FRAME_TOLERANCE,
) -> Pose:
    """Pose one video with a model of its own (e.g. a search query); raises `VideoFailure`."""
    with HolisticEstimator(
        model_complexity=model_complexity,
        refine_face_landmarks=refine_face_landmarks,
        frame_tolerance=frame_tolerance,
    ) as estimator:
        return estimator.estimate(video)
