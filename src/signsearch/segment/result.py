"""What a segmenter returns: sign segments of one pose, or none and the reason why.

Frame ranges are half-open: `start_frame` is the first frame of the sign, `end_frame` one past its last frame
(so `end_frame - start_frame` is the length and back-to-back segments share a boundary). Seconds are
`frame / fps` of the same boundaries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Segment:
    index: int  # 0-based position in the video, in time order
    start_frame: int  # inclusive
    end_frame: int  # exclusive
    start_s: float
    end_s: float
    confidence: float  # in [0, 1]; see the segmenter that made it

    @property
    def frames(self) -> int:
        return self.end_frame - self.start_frame


@dataclass(frozen=True)
class SegmentationResult:
    segments: list[Segment] = field(default_factory=list)
    reason: str | None = None  # why there are no segments (bad input), None otherwise
    frames: int = 0
    fps: float = 0.0


def make_segments(ranges: Sequence[tuple[int, int]], confidences: Sequence[float], fps: float) -> list[Segment]:
    """Segments from half-open frame ranges in time order, numbered from 0."""
    rate = fps if fps > 0 else 1.0
    return [
        Segment(i, int(s), int(e), s / rate, e / rate, float(min(max(c, 0.0), 1.0)))
        for i, ((s, e), c) in enumerate(zip(ranges, confidences, strict=True))
    ]
