"""Pose-stage throughput, side by side on the same clips:

  (a) one `video_to_pose --format mediapipe` process per video, run one after another (the original way);
  (b) signsearch.pose.shard.process_shard with one worker process per core;
  (c) the ideal: cores x the bare single-process rate (decode + holistic.process in one warm process,
      model start excluded).

One MediaPipe process already keeps more than one core busy (its graph runs calculators in parallel), so
(c) as defined can exceed what the cores can do; the table also shows the CPU-bound ideal
cores / (CPU seconds per frame of the bare loop), the honest ceiling for (b), and (d): as many bare loops
as cores running side by side on the clips (no file writing, no checks), what "batch processes" reach here.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from signsearch.pose.shard import process_shard


def clips_in(folder: Path, limit: int | None) -> list[Path]:
    clips = sorted(folder.rglob("*.mp4"))
    return clips[:limit] if limit else clips


def bare_rate(clips: list[Path]) -> tuple[int, float, float]:
    """(frames, wall seconds, CPU seconds) of decode + Holistic in this process, after a warm-up."""
    import mediapipe as mp
    from simple_video_utils.frames import read_frames_exact

    holistic = mp.solutions.holistic.Holistic(static_image_mode=False, model_complexity=1)
    for frame in read_frames_exact(str(clips[0])):  # warm-up: first inferences are slower
        holistic.process(frame)
    frames = 0
    wall, cpu = time.perf_counter(), time.process_time()
    for clip in clips:
        holistic.reset()
        for frame in read_frames_exact(str(clip), thread_type="NONE"):
            holistic.process(frame)
            frames += 1
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    holistic.close()
    return frames, wall, cpu


def parallel_bare_rate(clips: list[Path], processes: int) -> tuple[int, float]:
    """(frames, wall seconds) of `processes` bare loops side by side, each on every processes-th clip."""
    procs = [subprocess.Popen([sys.executable, __file__, "--bare-part", f"{i}/{processes}", "--videos", str(clips[0].parent)]
                              + [str(c) for c in clips], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
             for i in range(processes)]
    results = [json.loads(p.communicate()[0]) for p in procs]
    return sum(r["frames"] for r in results), max(r["wall"] for r in results)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cli_per_video(clips: list[Path], out: Path) -> float:
    """Wall seconds for one `video_to_pose` process per clip, sequentially."""
    exe = shutil.which("video_to_pose", path=str(Path(sys.executable).parent)) or shutil.which("video_to_pose")
    if exe is None:
        sys.exit("video_to_pose not found (pose-format's CLI)")
    out.mkdir(parents=True)
    start = time.perf_counter()
    for i, clip in enumerate(clips):
        subprocess.run([exe, "--format", "mediapipe", "-i", str(clip), "-o", str(out / f"{i}.pose")],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def shard_run(clips: list[Path], out: Path, workers: int) -> dict:
    out.mkdir(parents=True)
    table = out / "shard.tsv"
    pd.DataFrame({"video_id": [str(c) for c in clips], "path": [str(c) for c in clips],
                  "pose_path": [str(out / f"{i}.pose") for i in range(len(clips))]}).to_csv(
        table, sep="\t", index=False, lineterminator="\n")
    return process_shard(table, out / "index.parquet", workers=workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_videos = Path(os.environ["SIGNSEARCH_TESTDATA"]) / "videos" if "SIGNSEARCH_TESTDATA" in os.environ else None
    parser.add_argument("--videos", type=Path, default=default_videos,
                        help="folder searched recursively for *.mp4 (default: $SIGNSEARCH_TESTDATA/videos)")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1,
                        help="cores for (b) and (c) (default: all); (b) runs one worker process per core, as the workflow does")
    parser.add_argument("--limit", type=int, help="use only the first N clips (quick runs)")
    parser.add_argument("--skip-cli", action="store_true", help="skip (a), the slow one-process-per-video run")
    parser.add_argument("--bare-part", help=argparse.SUPPRESS)  # internal: one of the side-by-side bare loops
    parser.add_argument("clips", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_part:
        part, parts = map(int, args.bare_part.split("/"))
        frames, wall, _ = bare_rate(args.clips[part::parts])
        print(json.dumps({"frames": frames, "wall": wall}))
        return
    if args.videos is None:
        parser.error("give --videos or set SIGNSEARCH_TESTDATA")
    clips = clips_in(args.videos, args.limit)
    if not clips:
        parser.error(f"no *.mp4 under {args.videos}")
    cores = args.cores
    workers = cores
    print(f"{len(clips)} clips under {args.videos}; {cores} cores, {workers} pose workers; load average {os.getloadavg()[0]:.2f}",
          flush=True)

    # The machine may be shared: load averages and CPU seconds per frame (unaffected by other load) are
    # printed beside the wall-clock rates.
    loads = {"c": os.getloadavg()[0]}
    frames, bare_wall, bare_cpu = bare_rate(clips)
    bare_fps = frames / bare_wall
    ideal = cores * bare_fps
    cpu_ideal = cores * frames / bare_cpu

    loads["d"] = os.getloadavg()[0]
    side_frames, side_wall = parallel_bare_rate(clips, cores)

    with tempfile.TemporaryDirectory(prefix="bench_pose.") as tmp:
        loads["a"], cpu = os.getloadavg()[0], children_cpu()
        cli_wall = None if args.skip_cli else cli_per_video(clips, Path(tmp) / "cli")
        cli_cpu = children_cpu() - cpu
        loads["b"], cpu, own = os.getloadavg()[0], children_cpu(), time.process_time()
        summary = shard_run(clips, Path(tmp) / "shard", workers)
        shard_cpu = children_cpu() - cpu + time.process_time() - own
        identical = None if cli_wall is None else sum(
            (Path(tmp) / "cli" / f"{i}.pose").read_bytes() == (Path(tmp) / "shard" / f"{i}.pose").read_bytes()
            for i in range(len(clips)))
    shard_fps = summary["frames"] / summary["seconds"]
    if summary["frames"] != frames:
        print(f"warning: the shard posed {summary['frames']} frames, the bare loop decoded {frames}")

    rows = []
    if cli_wall is not None:
        rows.append(("(a) video_to_pose, one process per video", cli_wall, frames / cli_wall, cli_cpu, loads["a"]))
    rows.append((f"(b) process_shard, {cores} cores ({workers} workers)", summary["seconds"], shard_fps, shard_cpu, loads["b"]))
    rows.append((f"(c) ideal: {cores} x bare single process ({bare_fps:.1f} fps)", frames / ideal, ideal,
                 bare_cpu, loads["c"]))
    rows.append((f"    CPU-bound ideal: {cores} / CPU s per frame", frames / cpu_ideal, cpu_ideal, bare_cpu, None))
    rows.append((f"(d) {cores} bare loops side by side (no I/O, no checks)", side_wall, side_frames / side_wall, None, loads["d"]))
    print(f"\n{'method':<58} {'seconds':>8} {'frames/s':>9} {'CPU ms/frame':>13} {'load before':>12}")
    for name, seconds, fps, cpu_s, load in rows:
        load_text = "" if load is None else f"{load:.2f}"
        cpu_text = "" if cpu_s is None else f"{cpu_s / frames * 1000:.1f}"
        print(f"{name:<58} {seconds:>8.1f} {fps:>9.1f} {cpu_text:>13} {load_text:>12}")
    print(f"\nframes: {frames}; one bare MediaPipe process used {bare_cpu / bare_wall:.2f} cores")
    if cli_wall is not None:
        print(f"b/a = {shard_fps / (frames / cli_wall):.2f}x   (target >= 2x)")
        print(f"identical .pose files (a) vs (b): {identical}/{len(clips)}")
        print(f"CPU per frame a/b = {cli_cpu / shard_cpu:.2f}x")
    print(f"b/c = {shard_fps / ideal:.0%}   (target >= 90%)")
    print(f"b/CPU-bound ideal = {shard_fps / cpu_ideal:.0%}")
    print(f"d/c = {side_frames / side_wall / ideal:.0%}   (bare loops side by side against the same ideal)")
    print(f"b/d = {shard_fps / (side_frames / side_wall):.0%}   (the pose stage against bare loops side by side)")


if __name__ == "__main__":
    main()
