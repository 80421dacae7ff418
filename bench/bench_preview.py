"""What browser-playable previews add to a run: preview transcoding against pose estimation, on the same clips.

Both run in one process on one core, as a shard job does per core: make_preview (one decoding and one encoding
thread) on every clip, then decode + MediaPipe Holistic (bench_pose.bare_rate, after a warm-up) on the same clips.
Prints source seconds per wall second, frames/s, CPU ms per frame, preview and source sizes, and the ratio
pose time / preview time. The machine may be shared: CPU seconds (unaffected by other load) are printed beside.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from signsearch.media.preview import PREVIEW_SUFFIX, make_preview


def preview_run(clips: list[Path], out: Path, **settings) -> dict:
    frames = seconds = size = 0.0
    wall, cpu = time.perf_counter(), time.process_time()
    for i, clip in enumerate(clips):
        info = make_preview(clip, out / f"{i}{PREVIEW_SUFFIX}", **settings)
        frames, seconds, size = frames + info.frames, seconds + info.seconds, size + info.bytes
    return {"frames": int(frames), "seconds": seconds, "bytes": int(size),
            "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    testdata = os.environ.get("SIGNSEARCH_TESTDATA")
    default = Path(testdata) / "videos" / "croatian" / "videos" if testdata else None
    parser.add_argument("--videos", type=Path, default=default,
                        help="folder searched recursively for *.mp4 (default: the Croatian clips of $SIGNSEARCH_TESTDATA)")
    parser.add_argument("--limit", type=int, help="use only the first N clips")
    parser.add_argument("--max-height", type=int, default=360)
    parser.add_argument("--crf", type=int, help="encoder quality (default: the preview module's)")
    parser.add_argument("--no-pose", action="store_true", help="skip the pose side (needs mediapipe; minutes on a shared machine: or use --limit)")
    args = parser.parse_args()
    if args.videos is None:
        parser.error("give --videos or set SIGNSEARCH_TESTDATA")
    clips = sorted(args.videos.rglob("*.mp4"))[: args.limit]
    if not clips:
        parser.error(f"no *.mp4 under {args.videos}")
    source_bytes = sum(c.stat().st_size for c in clips)
    print(f"{len(clips)} clips under {args.videos} ({source_bytes / 1e6:.1f} MB); previews as {PREVIEW_SUFFIX}; "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench_preview.") as tmp:
        make_preview(clips[0], Path(tmp) / f"warm{PREVIEW_SUFFIX}")  # codec libraries loaded, caches warm
        p = preview_run(clips, Path(tmp), max_height=args.max_height, crf=args.crf)
    print(f"\n{'stage':<34} {'wall s':>7} {'src s / wall s':>15} {'frames/s':>9} {'CPU ms/frame':>13}")
    print(f"{'preview (make_preview, 1 thread)':<34} {p['wall']:>7.2f} {p['seconds'] / p['wall']:>15.1f} "
          f"{p['frames'] / p['wall']:>9.1f} {p['cpu'] / p['frames'] * 1000:>13.1f}")
    if not args.no_pose:
        from bench_pose import bare_rate  # bench/ is on sys.path when this file is run as a script

        frames, wall, cpu = bare_rate(clips)
        print(f"{'pose (decode + Holistic)':<34} {wall:>7.2f} {p['seconds'] / wall:>15.1f} {frames / wall:>9.1f} "
              f"{cpu / frames * 1000:>13.1f}")
        print(f"\npose / preview: {wall / p['wall']:.1f}x wall, {cpu / p['cpu']:.1f}x CPU "
              f"(previews add {p['cpu'] / cpu:.0%} to the pose stage's CPU time)")
    print(f"\n{p['frames']} frames, {p['seconds']:.1f} s of video; previews {p['bytes'] / 1e6:.2f} MB "
          f"= {p['bytes'] / source_bytes:.0%} of the sources, {p['bytes'] / p['seconds'] / 1000:.0f} kB per second")
    print(f"preview of a 3 s clip at this rate: {3 * p['wall'] / p['seconds']:.2f} s wall")


if __name__ == "__main__":
    main()
