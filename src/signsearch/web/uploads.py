"""Checks on an uploaded query file before any pose estimation is spent on it.

A file is accepted only when its name ends in a video suffix (or ``.pose``), its first bytes look like that kind of
container, it decodes (a video stream with at least one frame, or a readable pose), and it is no longer than the
duration limit. Every refusal is an `UploadRefused` whose message is one line meant for the person uploading.
The size limit is enforced earlier, by Flask's ``MAX_CONTENT_LENGTH`` (see `app.py`), and again here;
`upload_limits` tells the page (and its script) the same limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signsearch.errors import UserError
from signsearch.search import VIDEO_SUFFIXES

POSE_SUFFIX = ".pose"
ACCEPTED_SUFFIXES = tuple(sorted(VIDEO_SUFFIXES)) + (POSE_SUFFIX,)

# Container families by their first bytes. MP4/MOV/M4V: an ISO-BMFF box type at offset 4. WebM/MKV: EBML magic.
# AVI: a RIFF header of form "AVI ".
_ISO_BOXES = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")
_FAMILY = {".mp4": "iso", ".m4v": "iso", ".mov": "iso", ".webm": "ebml", ".mkv": "ebml", ".avi": "riff"}
_FAMILY_NAME = {"iso": "MP4/MOV", "ebml": "WebM/Matroska", "riff": "AVI"}


class UploadRefused(UserError, ValueError):
    """The upload is not accepted; the message says why, in one line."""


@dataclass(frozen=True)
class CheckedUpload:
    path: Path
    kind: str  # "video" or "pose"
    duration: float | None  # seconds, when known
    size: int


def upload_limits(app_config: Mapping[str, Any]) -> dict[str, Any]:
    """The limits as the search page shows and checks them (`MAX_CONTENT_LENGTH`, `MAX_UPLOAD_SECONDS`)."""
    max_bytes = int(app_config["MAX_CONTENT_LENGTH"])
    return {
        "max_bytes": max_bytes - 64 * 1024 if max_bytes > 1024 * 1024 else max_bytes,  # room for the form
        "max_mb": max_bytes / (1024 * 1024),
        "max_seconds": float(app_config["MAX_UPLOAD_SECONDS"]),
        "accept": ",".join(ACCEPTED_SUFFIXES),
    }


def sniff(head: bytes) -> str | None:
    """The container family the first bytes announce ("iso", "ebml", "riff"), or None."""
    if len(head) >= 8 and head[4:8] in _ISO_BOXES:
        return "iso"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "ebml"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "riff"
    return None


def check_name(filename: str | None) -> str:
    """The lower-case suffix of an accepted file name; refuse anything else."""
    if not filename:
        raise UploadRefused("no file chosen: pick a video (or a .pose file) to search with")
    suffix = Path(filename).suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        raise UploadRefused(
            f"'{Path(filename).name}' is not an accepted file type (accepted: {', '.join(ACCEPTED_SUFFIXES)})"
        )
    return suffix


def check_file(path: str | Path, filename: str, *, max_bytes: int, max_seconds: float) -> CheckedUpload:
    """Check a saved upload (`filename` is the name the browser sent); return what was found or refuse."""
    path = Path(path)
    name = Path(filename).name
    suffix = check_name(filename)
    size = path.stat().st_size
    if size == 0:
        raise UploadRefused(f"'{name}' is empty (0 bytes)")
    if size > max_bytes:
        raise UploadRefused(f"'{name}' is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB")
    if suffix == POSE_SUFFIX:
        duration = _check_pose(path, name, max_seconds)
        return CheckedUpload(path, "pose", duration, size)
    with path.open("rb") as fh:
        head = fh.read(64)
    family = sniff(head)
    expected = _FAMILY[suffix]
    if family is None:
        raise UploadRefused(f"'{name}' is not a video: its content is not a {_FAMILY_NAME[expected]} file")
    if family != expected:
        raise UploadRefused(
            f"'{name}' is named {suffix} but its content is a {_FAMILY_NAME[family]} file; rename it or re-export it"
        )
    duration = _check_video(path, name, max_seconds)
    return CheckedUpload(path, "video", duration, size)


def _check_video(path: Path, name: str, max_seconds: float) -> float:
    import av

    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise UploadRefused(f"'{name}' cannot be decoded as a video ({exc.__class__.__name__})") from exc
    try:
        if not container.streams.video:
            raise UploadRefused(f"'{name}' holds no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "NONE"
        duration = _duration(container, stream)
        if duration is not None and duration > max_seconds:
            raise UploadRefused(f"'{name}' is {duration:.1f} s long; the limit is {max_seconds:g} s (trim it to the sign)")
        try:
            frame = next(container.decode(video=0), None)
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise UploadRefused(f"'{name}' cannot be decoded as a video ({exc.__class__.__name__})") from exc
        if frame is None:
            raise UploadRefused(f"'{name}' has no decodable video frame")
        if duration is None:  # the container does not say: measure it from the packets
            container.seek(0)
            last = 0.0
            for packet in container.demux(video=0):
                if packet.pts is not None and packet.time_base is not None:
                    last = max(last, float(packet.pts * packet.time_base))
                    if last > max_seconds:
                        raise UploadRefused(f"'{name}' is longer than the limit of {max_seconds:g} s")
            duration = last
        return duration
    finally:
        container.close()


def _duration(container, stream) -> float | None:  # noqa: ANN001 - PyAV objects
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    if stream.frames and stream.average_rate:
        return float(stream.frames / stream.average_rate)
    return None


def _check_pose(path: Path, name: str, max_seconds: float) -> float:
    from pose_format import Pose

    try:
        pose = Pose.read(path.read_bytes())
    except Exception as exc:  # pose-format raises assorted errors on foreign bytes
        raise UploadRefused(f"'{name}' is not a readable .pose file ({exc.__class__.__name__})") from exc
    frames = int(pose.body.data.shape[0])
    if frames == 0:
        raise UploadRefused(f"'{name}' holds no frames")
    fps = float(pose.body.fps or 0) or 25.0
    duration = frames / fps
    if duration > max_seconds:
        raise UploadRefused(f"'{name}' is {duration:.1f} s long; the limit is {max_seconds:g} s")
    return duration
