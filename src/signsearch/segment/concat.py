"""Long material with known sign boundaries, built from isolated clips (the continuous-search protocol).

`concat_videos` writes one real video from real clips (decoded and re-encoded with PyAV, so it then goes
through the normal video -> pose path); `concat_poses` joins their `.pose` files directly, the quick way to
measure a segmenter. Both return the true boundaries, half-open frame ranges like `result.Segment`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from pose_format import Pose
from pose_format.numpy import NumPyPoseBody


@dataclass(frozen=True)
class TrueSegment:
    label: str  # the gloss of the clip
    source: str  # the clip it came from
    start_frame: int  # inclusive
    end_frame: int  # exclusive
    start_s: float
    end_s: float


def _boundaries(labels: Sequence[str], sources: Sequence[str], lengths: Sequence[int], fps: float) -> list[TrueSegment]:
    out, start = [], 0
    for label, source, n in zip(labels, sources, lengths, strict=True):
        out.append(TrueSegment(label, source, start, start + n, start / fps, (start + n) / fps))
        start += n
    return out


def concat_poses(poses: Sequence[Pose], labels: Sequence[str], sources: Sequence[str] | None = None) -> tuple[Pose, list[TrueSegment]]:
    """Join poses with identical point layouts back to back (fps of the first) and return the true boundaries."""
    if not poses:
        raise ValueError("concat_poses: no poses")
    layout = [(c.name, len(c.points)) for c in poses[0].header.components]
    for i, p in enumerate(poses[1:], 1):
        if [(c.name, len(c.points)) for c in p.header.components] != layout:
            raise ValueError(f"concat_poses: pose {i} has a different point layout from pose 0")
    fps = float(poses[0].body.fps)
    data = np.ma.concatenate([p.body.data for p in poses], axis=0)
    confidence = np.concatenate([np.asarray(p.body.confidence) for p in poses], axis=0)
    joined = Pose(poses[0].header, NumPyPoseBody(fps=fps, data=data, confidence=confidence))
    names = list(sources) if sources is not None else [str(i) for i in range(len(poses))]
    return joined, _boundaries(labels, names, [len(p.body.data) for p in poses], fps)


def concat_videos(clips: Sequence[str | Path], labels: Sequence[str], out: str | Path, fps: float | None = None,
                  codec: str = "libx264") -> list[TrueSegment]:
    """Decode every frame of `clips` in order and encode them as one video at `out` (size and, unless given, frame
    rate of the first clip; every decoded frame kept, so the boundaries are exact in frames)."""
    if not clips:
        raise ValueError("concat_videos: no clips")
    with av.open(str(clips[0])) as first:
        stream = first.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        rate = Fraction(fps).limit_denominator(1001) if fps else (stream.average_rate or Fraction(30))
    lengths = []
    with av.open(str(out), "w") as container:
        video = container.add_stream(codec, rate=rate)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        if codec == "libx264":
            video.options = {"crf": "18", "preset": "veryfast"}  # near-lossless: poses should match the clips'
        index = 0
        for clip in clips:
            n = 0
            with av.open(str(clip)) as source:
                for frame in source.decode(video=0):
                    frame = frame.reformat(width=width, height=height, format="yuv420p")
                    frame.pts, frame.time_base = index, Fraction(1) / rate
                    container.mux(video.encode(frame))
                    index += 1
                    n += 1
            lengths.append(n)
        container.mux(video.encode(None))
    return _boundaries(labels, [str(c) for c in clips], lengths, float(rate))
