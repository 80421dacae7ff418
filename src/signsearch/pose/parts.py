"""Pose one video in contiguous parts at the same time, one warm worker process each, and join the parts.

The web app poses an uploaded query this way: on two cores a 3 s clip takes half the time of posing it in one
process. Each part after the first restarts MediaPipe's tracking at its first frame, as at a video's first frame,
so the joined pose differs from a sequential one only in the frames just after a cut (measured on the Croatian
clips: README, "Web app"). The joined pose has the sequential one's header, fps and frame count, and the same
checks of the whole video (frames decoded, a person seen) with the same messages.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from pose_format import Pose
from pose_format.numpy.pose_body import NumPyPoseBody

from signsearch.pose.probe import VideoFailure, check_posed, open_container, probe
from signsearch.pose.workers import Task, WarmWorkers


def cuts(frames: int, parts: int) -> list[tuple[int, int | None]]:
    """[start, stop) of `parts` near-equal contiguous ranges of `frames`; the last runs to the video's end
    (whatever number of frames actually decodes)."""
    parts = max(1, min(parts, frames))
    bounds = [round(frames * i / parts) for i in range(parts)]
    return [(start, stop) for start, stop in zip(bounds, bounds[1:] + [None])]


def pose_in_parts(video: str | Path, workers: WarmWorkers) -> Pose:
    """Pose `video` in `workers.size` parts at once; raise `VideoFailure` as `HolisticEstimator.estimate` does."""
    container = open_container(video)
    try:
        info = probe(container, workers.settings.frame_tolerance)
    finally:
        container.close()
    with tempfile.TemporaryDirectory(prefix="signsearch-parts-") as tmp:
        tasks = [Task(at, f"part{at}", str(video), str(Path(tmp) / f"part{at}.pose"), start, stop)
                 for at, (start, stop) in enumerate(cuts(info.declared_frames or info.packets, workers.size))]
        rows = workers.run(tasks)
        for row in rows:
            if row["status"] != "ok":
                raise VideoFailure(row["reason"], row["detail"])
        poses = [Pose.read(Path(task.pose_path).read_bytes()) for task in tasks]
    data = np.concatenate([np.asarray(p.body.data.data) for p in poses])
    confidence = np.concatenate([p.body.confidence for p in poses])
    check_posed(len(data), bool(confidence.any()), info, workers.settings.frame_tolerance)
    # The header as the first part wrote it; fps as probed here, not as the .pose file rounded it (float32).
    return Pose(poses[0].header, NumPyPoseBody(fps=info.fps, data=data, confidence=confidence))
