"""Browser-playable previews: any video PyAV decodes -> a small H.264/MP4 (or VP9/WebM) file.

Why: many source videos are MPEG-4 Part 2 (`mp4v`, what OpenCV and webcams write), which Chromium refuses
(DEMUXER_ERROR_NO_SUPPORTED_STREAMS). A preview is what the web app plays instead.

- Format: the suffix of the target chooses it: `.mp4` = H.264 (libx264, yuv420p, `+faststart` so playback starts
  before the file is in), `.webm` = VP9 (libvpx-vp9). `PREVIEW_SUFFIX` is `.mp4` when this PyAV build ships
  libx264 (the PyPI wheels do), else `.webm`.
- Seeking: segments play with media fragments (`#t=start,end`, see `fragments.py`) and the scrub bar seeks; a
  browser decodes from the keyframe before the target, so a keyframe every `GOP_SECONDS` bounds the work per seek
  (and the error of players that snap to keyframes) to half a second. Against 1 s it costs ~15 % in size.
- Time: frames keep their source timestamps (shifted to start at 0), so a time in the preview is the same time in
  the source and in its pose.
- Picture: display orientation (the container's rotation applied, as the pose stage reads frames), square pixels,
  at most `max_height` rows, even dimensions. Silent: sign language needs no sound, and a muted video may play on
  hover without a click.
- Cost: one thread each for decoding and encoding; a shard job already runs one process per core.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from signsearch.atomic import atomic_path
from signsearch.errors import UserError

GOP_SECONDS = 0.5
DEFAULT_CRF = {"h264": 28, "vp9": 40}  # fine at card size: ~40 kB (h264) / ~90 kB (vp9) per second at 480x360
PREVIEW_SUFFIX = ".mp4" if "libx264" in av.codecs_available else ".webm"

# suffix -> (codec name in files, encoder, container format, muxer options)
_FORMATS = {
    ".mp4": ("h264", "libx264", "mp4", {"movflags": "+faststart"}),
    ".webm": ("vp9", "libvpx-vp9", "webm", {}),
}


@dataclass(frozen=True)
class PreviewInfo:
    path: Path
    codec: str  # "h264" or "vp9"
    width: int
    height: int
    frames: int
    seconds: float  # first frame to the end of the last one
    bytes: int


def make_preview(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    max_height: int = 360,
    fps: float | None = None,
    crf: int | None = None,
) -> PreviewInfo:
    """Transcode `src` to the browser-playable preview `dst` (written atomically; format from its suffix).

    `fps` caps the frame rate by dropping frames (None keeps every frame); `crf` is the encoder's quality
    (lower = better and larger; default `DEFAULT_CRF`). A missing, empty or undecodable `src` raises `UserError`
    naming it, and `dst` is left as it was.
    """
    src, dst = Path(src), Path(dst)
    if dst.suffix not in _FORMATS:
        raise ValueError(f"preview target must end in {' or '.join(_FORMATS)}: {dst}")
    codec, encoder, container_format, muxer_options = _FORMATS[dst.suffix]
    if not src.is_file():
        raise UserError(f"{src}: no such video file")
    if src.stat().st_size == 0:
        raise UserError(f"{src}: empty file (0 bytes), not a video")
    try:
        inp = av.open(str(src))
    except (av.FFmpegError, UnicodeDecodeError) as err:
        raise UserError(f"{src}: not a readable video: {err}") from err
    with inp, atomic_path(dst) as tmp:
        if not inp.streams.video:
            raise UserError(f"{src}: holds no video stream")
        stream = inp.streams.video[0]
        stream.thread_type = "NONE"
        rate = _rate(stream, fps)
        time_base = stream.time_base or 1 / rate
        frames = _thinned(_timestamped(inp, stream, src, rate, time_base), fps, time_base)
        first = next(frames, None)
        if first is None:
            raise UserError(f"{src}: no video frame decodes")
        graph, width, height = _picture_graph(first[0], stream.sample_aspect_ratio, time_base, max_height)
        with av.open(str(tmp), "w", format=container_format, options=muxer_options) as out:
            enc = out.add_stream(encoder, rate=rate, options=_encoder_options(codec, crf))
            enc.width, enc.height, enc.pix_fmt = width, height, "yuv420p"
            enc.codec_context.time_base = time_base
            enc.codec_context.gop_size = max(1, round(float(rate) * GOP_SECONDS))
            count = 0
            for frame, pts in _prepend(first, frames):
                graph.push(frame)
                for picture in _pull(graph):
                    picture.pts, picture.time_base = pts, time_base
                    picture.pict_type = av.video.frame.PictureType.NONE  # else the source's I-frames force keyframes
                    for packet in enc.encode(picture):
                        out.mux(packet)
                count += 1
            for packet in enc.encode():
                out.mux(packet)
        seconds = float(pts * time_base + 1 / rate)  # the last frame lasts one frame period
        size = tmp.stat().st_size
    return PreviewInfo(dst, codec, width, height, count, round(seconds, 4), size)


def describe_preview(path: str | os.PathLike[str]) -> PreviewInfo:
    """The facts of a preview made before (read from its header; raises av.FFmpegError when unreadable)."""
    path = Path(path)
    with av.open(str(path)) as inp:
        stream = inp.streams.video[0]
        seconds = float(inp.duration / av.time_base) if inp.duration else 0.0
        codec = "h264" if stream.codec_context.name == "h264" else stream.codec_context.name
        return PreviewInfo(path, codec, stream.width, stream.height, stream.frames, round(seconds, 4),
                           path.stat().st_size)


Timed = tuple[av.VideoFrame, int]  # a frame and its timestamp in the stream's time base


def _timestamped(inp: av.container.InputContainer, stream: av.VideoStream, src: Path, rate: Fraction,
                 time_base: Fraction) -> Iterator[Timed]:
    """Decoded frames with timestamps from 0, strictly increasing (muxers require it); a frame without one
    (some AVI) comes one frame period after the previous. A decoding error becomes a UserError naming `src`."""
    step = max(1, round(1 / (rate * time_base)))
    start, last, index = None, -step, 0
    try:
        for frame in inp.decode(stream):
            if frame.pts is None:
                pts = last + step
            else:
                start = frame.pts if start is None else start
                pts = frame.pts - start
            last = max(pts, last + 1)
            index += 1
            yield frame, last
    except (av.FFmpegError, UnicodeDecodeError) as err:
        raise UserError(f"{src}: cannot decode frame {index}: {err}") from err


def _thinned(frames: Iterator[Timed], fps: float | None, time_base: Fraction) -> Iterator[Timed]:
    """Keep the first frame of every 1/fps slot (all frames when `fps` is None)."""
    last_slot = None
    for frame, pts in frames:
        slot = math.floor(float(pts * time_base) * fps + 1e-6) if fps else None
        if fps is None or slot != last_slot:
            last_slot = slot
            yield frame, pts


def _prepend(first: Timed, rest: Iterator[Timed]) -> Iterator[Timed]:
    yield first
    yield from rest


def _rate(stream: av.VideoStream, fps: float | None) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or Fraction(30)
    return min(rate, Fraction(fps).limit_denominator(1001)) if fps else rate


def _picture_graph(first: av.VideoFrame, sar: Fraction | None, time_base: Fraction,
                   max_height: int) -> tuple[av.filter.Graph, int, int]:
    """A filter graph rotating to display orientation and scaling to square pixels, even sizes, yuv420p."""
    rotation = first.rotation % 360 if first.rotation % 90 == 0 else 0
    width, height = first.width * float(sar or 1), first.height
    if rotation in (90, 270):
        width, height = height, width
    out_h = max(2, int(min(max_height, height)) // 2 * 2)
    out_w = max(2, round(width * out_h / height / 2) * 2)

    graph = av.filter.Graph()
    chain = [graph.add_buffer(width=first.width, height=first.height, format=first.format.name,
                              time_base=time_base)]
    if rotation == 180:
        chain += [graph.add("hflip"), graph.add("vflip")]
    elif rotation:
        chain.append(graph.add("transpose", "cclock" if rotation == 90 else "clock"))
    chain += [graph.add("scale", f"{out_w}:{out_h}:flags=bicubic"), graph.add("setsar", "1"),
              graph.add("format", "yuv420p"), graph.add("buffersink")]
    graph.link_nodes(*chain).configure()
    return graph, out_w, out_h


def _pull(graph: av.filter.Graph) -> Iterator[av.VideoFrame]:
    while True:
        try:
            yield graph.pull()
        except (av.BlockingIOError, av.EOFError):
            return


def _encoder_options(codec: str, crf: int | None) -> dict[str, str]:
    quality = str(DEFAULT_CRF[codec] if crf is None else crf)
    if codec == "h264":
        return {"preset": "veryfast", "crf": quality, "threads": "1"}
    # Constant quality needs b=0; realtime/cpu-used 8 is ~7x faster than "good" for ~25 % more bytes.
    return {"crf": quality, "b": "0", "deadline": "realtime", "cpu-used": "8", "threads": "1"}
