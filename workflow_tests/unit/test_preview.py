"""Browser-playable previews (signsearch.media): transcoding, failures, the shard table and segment addresses.

Real clips come from $SIGNSEARCH_TESTDATA (the Croatian webcam clips are mp4v, FOOTBALL.mp4 is H.264); the tests
on a video generated here need nothing outside and never skip. Playback in Chromium: ../web/test_preview_playback.py.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pyarrow.parquet as pq
import pytest

from signsearch.datasets.ids import file_stem
from signsearch.errors import UserError
from signsearch.media.fragments import frames_to_seconds, media_fragment
from signsearch.media.preview import GOP_SECONDS, PREVIEW_SUFFIX, make_preview
from signsearch.media.shard import INDEX_SCHEMA, make_previews, process_shard


def mp4v_clip(path: Path, frames: int = 45, fps: int = 30, size: tuple[int, int] = (322, 242), rotation: int = 0) -> Path:
    """An mp4v clip like OpenCV writes (odd-by-2 size on purpose: the preview must come out even)."""
    width, height = size
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if rotation:
            stream.set_display_rotation(rotation)  # as phones tag portrait videos
        for i in range(frames):
            img = np.zeros((height, width, 3), dtype=np.uint8)
            img[:, (i * 5) % width:(i * 5) % width + 20] = (255, 200, 0)  # a moving bar
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def decoded(path: Path) -> dict:
    """What a player would see: codec, size, frames, duration (first frame to end of the last), keyframe times."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        times = [float(f.pts * f.time_base) for f in c.decode(stream)]
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        keys = sorted(float(p.pts * stream.time_base) for p in c.demux(stream) if p.is_keyframe and p.pts is not None)
        return {"codec": stream.codec_context.name, "width": stream.width, "height": stream.height,
                "pix_fmt": stream.codec_context.pix_fmt, "frames": len(times), "rate": rate,
                "seconds": times[-1] - times[0] + 1 / float(rate), "start": times[0], "keys": keys}


def assert_faithful(src: Path, info, out: Path, max_height: int = 360) -> dict:
    source, preview = decoded(src), decoded(out)
    assert preview["codec"] == info.codec == ("h264" if PREVIEW_SUFFIX == ".mp4" else "vp9")
    assert preview["pix_fmt"] == "yuv420p"
    assert (preview["width"], preview["height"]) == (info.width, info.height)
    assert info.width % 2 == 0 and info.height % 2 == 0 and info.height <= max_height
    assert preview["frames"] == info.frames == source["frames"]
    frame = 1 / float(source["rate"])
    assert abs(preview["seconds"] - source["seconds"]) <= frame and abs(info.seconds - source["seconds"]) <= frame
    assert preview["start"] == 0
    assert info.bytes == out.stat().st_size
    gaps = np.diff(preview["keys"] + [preview["seconds"]])
    assert gaps.max() <= GOP_SECONDS + frame, preview["keys"]  # seeking to any segment start stays cheap
    return preview


# -- a generated clip: always runs ---------------------------------------------------------------------------------
def test_generated_mp4v_clip_becomes_a_small_even_sized_preview(tmp_path: Path) -> None:
    src = mp4v_clip(tmp_path / "clip.mp4")
    assert decoded(src)["codec"] == "mpeg4"
    out = tmp_path / "out" / f"clip{PREVIEW_SUFFIX}"
    info = make_preview(src, out)
    assert info.path == out and (info.width, info.height) == (322, 242)
    assert_faithful(src, info, out)
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # atomic: no temporary file left


def test_h264_and_vp9_by_suffix_with_scaling_and_fps_cap(tmp_path: Path) -> None:
    src = mp4v_clip(tmp_path / "clip.mp4", frames=60, size=(640, 480))
    h264 = make_preview(src, tmp_path / "a.mp4", max_height=240, fps=15)
    assert (h264.codec, h264.width, h264.height, h264.frames) == ("h264", 320, 240, 30)
    assert abs(h264.seconds - 2.0) < 1e-6 and decoded(tmp_path / "a.mp4")["frames"] == 30
    with open(tmp_path / "a.mp4", "rb") as fh:  # +faststart: the index (moov) comes before the media data
        head = fh.read(4096)
    assert head.find(b"moov") != -1 and (head.find(b"mdat") == -1 or head.find(b"moov") < head.find(b"mdat"))
    vp9 = make_preview(src, tmp_path / "a.webm", max_height=240)
    assert (vp9.codec, vp9.width, vp9.height, vp9.frames) == ("vp9", 320, 240, 60)
    assert decoded(tmp_path / "a.webm")["codec"] == "vp9"
    with pytest.raises(ValueError, match="must end in"):
        make_preview(src, tmp_path / "a.avi")


def test_a_rotated_phone_video_is_upright_as_the_pose_stage_reads_it(tmp_path: Path) -> None:
    from simple_video_utils.frames import read_frames_exact

    src = mp4v_clip(tmp_path / "phone.mp4", frames=10, size=(320, 240), rotation=90)
    info = make_preview(src, tmp_path / f"p{PREVIEW_SUFFIX}")
    assert (info.width, info.height) == (240, 320)
    upright = next(iter(read_frames_exact(str(src))))  # what MediaPipe gets
    with av.open(str(info.path)) as c:
        first = next(c.decode(video=0)).to_ndarray(format="rgb24")
    assert first.shape == upright.shape and np.abs(first.astype(int) - upright).mean() < 3


@pytest.mark.parametrize("kind", ["text", "empty", "truncated", "missing"])
def test_bad_input_is_a_user_error_naming_the_file_and_leaves_no_output(tmp_path: Path, kind: str) -> None:
    src = tmp_path / f"bad-{kind}.mp4"
    if kind == "text":
        src.write_text("this is not a video\n")
    elif kind == "empty":
        src.write_bytes(b"")
    elif kind == "truncated":
        whole = mp4v_clip(tmp_path / "whole.mp4").read_bytes()
        src.write_bytes(whole[: len(whole) // 3])  # the mp4 index (moov) is at the end: this one has none
    out = tmp_path / "out" / "x.mp4"
    with pytest.raises(UserError, match=str(src)):
        make_preview(src, out)
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_a_shard_records_bad_videos_and_goes_on(tmp_path: Path) -> None:
    good = mp4v_clip(tmp_path / "good.mp4")
    (tmp_path / "text.mp4").write_text("not a video")
    (tmp_path / "empty.mp4").write_bytes(b"")
    table = tmp_path / "s00000.tsv"
    table.write_text("video_id\tpath\tpose_path\n"
                     f"a/text\t{tmp_path / 'text.mp4'}\tx.pose\n"
                     f"a/good\t{good}\ty.pose\n"
                     f"empty\t{tmp_path / 'empty.mp4'}\tz.pose\n")
    summary = process_shard(table, tmp_path / "previews" / "s00000", tmp_path / "previews" / "s00000.parquet")
    assert (summary["videos"], summary["ok"], summary["failed"]) == (3, 1, 2)
    index = pq.read_table(tmp_path / "previews" / "s00000.parquet")
    assert index.schema.equals(INDEX_SCHEMA)
    rows = {r["video_id"]: r for r in index.to_pylist()}
    assert [r["status"] for r in index.to_pylist()] == ["failed", "ok", "failed"]
    assert "text.mp4" in rows["a/text"]["detail"] and "0 bytes" in rows["empty"]["detail"]
    assert rows["a/text"]["preview_path"] is None and rows["a/text"]["bytes"] is None
    ok = rows["a/good"]
    assert Path(ok["preview_path"]).name == f"{file_stem('a/good')}{PREVIEW_SUFFIX}"  # named as the poses are
    assert Path(ok["preview_path"]).stat().st_size == ok["bytes"] == summary["bytes"]
    assert (ok["frames"], ok["codec"]) == (45, "h264" if PREVIEW_SUFFIX == ".mp4" else "vp9")


def test_segment_addresses() -> None:
    assert media_fragment("/media/preview?id=a", 0.5, 1.0) == "/media/preview?id=a#t=0.5,1"
    assert media_fragment("/v.mp4#t=3", 1.2346) == "/v.mp4#t=1.235"
    assert media_fragment("/v.mp4#t=3") == "/v.mp4"
    assert media_fragment("/v.mp4", None, 2.0) == "/v.mp4#t=0,2"
    for start, end in ((-1, 2), (2, 2), (2, 1), (float("nan"), None)):
        with pytest.raises(ValueError):
            media_fragment("/v.mp4", start, end)
    assert frames_to_seconds(15, 45, 30.0) == (0.5, 1.5)
    with pytest.raises(ValueError):
        frames_to_seconds(10, 10, 30.0)


# -- real clips ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def croatian(testdata: Path) -> list[Path]:
    clips = sorted((testdata / "videos" / "croatian" / "videos").glob("*/*.mp4"))
    if not clips:
        pytest.skip("the Croatian clips are absent from the test material")
    return clips


def test_real_mp4v_croatian_clip(croatian: list[Path], tmp_path: Path) -> None:
    src = croatian[0]
    assert decoded(src)["codec"] == "mpeg4"  # what Chromium refuses
    out = tmp_path / f"p{PREVIEW_SUFFIX}"
    info = make_preview(src, out)
    assert (info.width, info.height) == (480, 360)
    assert_faithful(src, info, out)
    assert info.bytes < 0.4 * src.stat().st_size and info.bytes / info.seconds < 150_000  # small: < 150 kB/s


def test_real_h264_football(testdata: Path, tmp_path: Path) -> None:
    src = testdata / "videos" / "FOOTBALL.mp4"
    if not src.is_file():
        pytest.skip("FOOTBALL.mp4 is absent from the test material")
    out = tmp_path / f"f{PREVIEW_SUFFIX}"
    info = make_preview(src, out, max_height=240)
    assert (info.width, info.height) == (426, 240)  # 640x360 scaled, width rounded to even
    assert_faithful(src, info, out, max_height=240)
    assert info.bytes < 100_000


def test_real_shard_with_a_broken_file_between_real_clips(croatian: list[Path], tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_text("not a video")
    records = [{"video_id": "hr-0", "path": str(croatian[0])}, {"video_id": "broken", "path": str(broken)},
               {"video_id": "hr-1", "path": str(croatian[1])}]
    rows = make_previews(records, tmp_path / "previews")
    assert [r["status"] for r in rows] == ["ok", "failed", "ok"]
    assert str(broken) in rows[1]["detail"]
    assert all(r["width"] == 480 and r["height"] == 360 for r in rows if r["status"] == "ok")


def test_time_base_is_the_source_one_so_times_match(croatian: list[Path], tmp_path: Path) -> None:
    """Frame k of the preview is shown at the same time as frame k of the source (segments and poses line up)."""
    src = croatian[0]
    out = tmp_path / f"p{PREVIEW_SUFFIX}"
    make_preview(src, out)
    def times(path: Path) -> list[Fraction]:
        with av.open(str(path)) as c:
            return [f.pts * f.time_base for f in c.decode(video=0)]
    a, b = times(src), times(out)
    assert [t - a[0] for t in a] == b
