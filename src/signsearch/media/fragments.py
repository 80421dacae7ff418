"""Segment addresses: a sign inside a longer video is played by seeking, never by cutting a file per segment.

Browsers take W3C media fragments (`video.mp4#t=1.2,2.5`: start there, pause at the end); player.js reads the
same range from data-start/data-end to loop it. Seeking lands on the exact frame because browsers decode forward
from the keyframe before the target, and previews have one every `preview.GOP_SECONDS`, so that stays cheap.
"""

from __future__ import annotations

import math


def frames_to_seconds(start_frame: int, end_frame: int, fps: float) -> tuple[float, float]:
    """The time range of frames [start_frame, end_frame) (as segmenters and .pose files count them) at `fps`."""
    if fps <= 0 or start_frame < 0 or end_frame <= start_frame:
        raise ValueError(f"invalid frame range [{start_frame}, {end_frame}) at {fps} fps")
    return start_frame / fps, end_frame / fps


def media_fragment(url: str, start: float | None = None, end: float | None = None) -> str:
    """`url` with a `#t=start,end` media fragment (seconds, millisecond precision); `url` itself without a range.

    Replaces a fragment `url` already has. Raises ValueError for a negative or empty range.
    """
    base = url.split("#", 1)[0]
    if start is None and end is None:
        return base
    start = 0.0 if start is None else start
    if not math.isfinite(start) or start < 0 or (end is not None and not (math.isfinite(end) and end > start)):
        raise ValueError(f"invalid segment range start={start}, end={end}")
    fragment = _seconds(start) if end is None else f"{_seconds(start)},{_seconds(end)}"
    return f"{base}#t={fragment}"


def _seconds(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") or "0"


def time_range_label(start: float, end: float) -> str:
    """A segment's place in its video as a card shows it: "00:12.4–00:13.1" (minutes:seconds, tenths)."""
    return f"{_clock(start)}–{_clock(end)}"


def _clock(seconds: float) -> str:
    tenths = round(seconds * 10)
    return f"{tenths // 600:02d}:{tenths % 600 / 10:04.1f}"
