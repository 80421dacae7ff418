"""Tell a bad video apart from a good one before (and while) spending pose-estimation time on it.

A failure is a `VideoFailure(reason, detail)`: `reason` is a stable code for the index and reports,
`detail` says what was seen, for a human.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
from simple_video_utils.metadata import video_metadata_from_container

from signsearch.errors import UserError

MISSING = "missing"  # the path does not exist
UNREADABLE = "unreadable"  # empty, not a video, or a container FFmpeg cannot open
NO_FRAMES = "no_frames"  # opens, but no video frame decodes and the container promises none
TRUNCATED = "truncated"  # decodes fewer frames than the container declares (file cut short)
NO_PERSON = "no_person"  # MediaPipe found no body, face or hand in any frame
ERROR = "error"  # anything unexpected, so one odd file never stops a shard

DEFAULT_FRAME_TOLERANCE = 0.9


class VideoFailure(UserError):
    """A video that cannot give a usable pose; `reason` is one of the codes above."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class VideoInfo:
    """What the container says, in the units `video_to_pose` writes into the .pose header."""

    width: int
    height: int
    fps: float
    declared_frames: int | None  # from the container header; None when it does not say
    packets: int = 0  # video packets with data (demuxed, not decoded): about the frames that will decode


def open_container(path: str | Path) -> av.container.InputContainer:
    """Open `path` as a video, turning every way it can fail into a `VideoFailure`."""
    path = Path(path)
    if not path.exists():
        raise VideoFailure(MISSING, f"{path} does not exist")
    size = path.stat().st_size
    if size == 0:
        raise VideoFailure(UNREADABLE, "empty file (0 bytes)")
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, ValueError) as err:
        raise VideoFailure(UNREADABLE, f"not a readable video ({size} bytes): {err}") from err
    if not container.streams.video:
        container.close()
        raise VideoFailure(UNREADABLE, "the file holds no video stream")
    # Decode in this thread only: a shard already runs one process per core.
    container.streams.video[0].thread_type = "NONE"
    return container


def probe(container: av.container.InputContainer, frame_tolerance: float = DEFAULT_FRAME_TOLERANCE) -> VideoInfo:
    """Read the header and demux (no decoding) to catch a file cut short before any frame is posed.

    Demuxing is cheap next to pose estimation; a video whose packets run out early is truncated.
    Leaves the container rewound to the start.
    """
    try:
        meta = video_metadata_from_container(container)
        stream = container.streams.video[0]
        declared = stream.frames or None
        if declared is None and meta.duration and meta.fps:
            declared = round(meta.duration * meta.fps)
        packets = _count_packets(container)
    except (av.FFmpegError, OSError, RuntimeError) as err:
        raise VideoFailure(UNREADABLE, f"cannot read the video header: {err}") from err
    if declared and packets < frame_tolerance * declared:
        raise VideoFailure(TRUNCATED, f"container declares {declared} frames but holds data for only {packets}")
    if meta.width <= 0 or meta.height <= 0:
        raise VideoFailure(UNREADABLE, f"invalid frame size {meta.width}x{meta.height}")
    return VideoInfo(width=meta.width, height=meta.height, fps=meta.fps, declared_frames=declared, packets=packets)


def check_decoded(decoded: int, info: VideoInfo, frame_tolerance: float = DEFAULT_FRAME_TOLERANCE) -> None:
    """After decoding: fail a video that yielded no frames or clearly fewer than it declares."""
    declared = info.declared_frames
    if declared and decoded < frame_tolerance * declared:
        raise VideoFailure(TRUNCATED, f"container declares {declared} frames but only {decoded} decode")
    if decoded == 0:
        raise VideoFailure(NO_FRAMES, "no video frame decodes")


def check_posed(decoded: int, person_seen: bool, info: VideoInfo,
                frame_tolerance: float = DEFAULT_FRAME_TOLERANCE) -> None:
    """After posing a whole video: `check_decoded`, then fail one where no frame showed a body, face or hand."""
    check_decoded(decoded, info, frame_tolerance)
    if not person_seen:
        raise VideoFailure(NO_PERSON, f"no body, face or hand detected in any of {decoded} frames")


def _count_packets(container: av.container.InputContainer) -> int:
    count = 0
    try:
        for packet in container.demux(video=0):
            count += bool(packet.size)
    except av.FFmpegError:
        pass  # the data ends early: what was read is all there is
    finally:
        container.seek(0)
    return count
