"""Segmentation throughput on one core, side by side with pose estimation on the same videos.

For every clip: MediaPipe Holistic (signsearch.pose.estimate.HolisticEstimator, model loaded once, as the pose
stage runs it) gives the pose and its frames/s; then each segmentation method runs on that pose with
torch.set_num_threads(1): `activity` (numpy only), `model` and `combined` (the TorchScript tagger, loaded once
beforehand). The clips are also run once concatenated (whole long sequences are what the tagger gets in the
workflow). Prints frames/s and the cost of segmentation as a share of pose estimation (target < 5%).

    .venv/bin/python bench/bench_segment.py [--videos DIR] [--model PATH] [--limit N]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from tqdm import tqdm

from signsearch.segment.concat import concat_poses
from signsearch.segment.segmenter import METHODS, segment_pose
from signsearch.segment.tagger import SignTagger


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = Path(os.environ.get("SIGNSEARCH_TESTDATA", "../shared/testdata"))
    parser.add_argument("--videos", type=Path, default=data / "videos" / "croatian" / "videos",
                        help="folder searched recursively for *.mp4 (default: the shared Croatian videos)")
    parser.add_argument("--model", type=Path, default=data.parent / "models" / "sign-segmentation" / "model.pth",
                        help="the sign segmentation model.pth")
    parser.add_argument("--limit", type=int, help="use only the first N clips")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from signsearch.pose.estimate import HolisticEstimator

    clips = sorted(args.videos.rglob("*.mp4"))[: args.limit or None]
    if not clips:
        parser.error(f"no *.mp4 under {args.videos}")
    tagger = SignTagger(args.model, threads=1)
    poses, pose_seconds = [], 0.0
    with HolisticEstimator() as estimator:
        estimator.estimate(clips[0])  # warm-up: the first inferences are slower
        for clip in tqdm(clips, desc="pose estimation"):
            start = time.perf_counter()
            poses.append(estimator.estimate(clip))
            pose_seconds += time.perf_counter() - start
    frames = sum(len(p.body.data) for p in poses)
    pose_fps = frames / pose_seconds
    long_pose, _ = concat_poses(poses, [str(c) for c in clips])
    print(f"{len(clips)} clips, {frames} frames; load average {os.getloadavg()[0]:.2f}")
    print(f"\n{'stage (one core)':<44} {'frames/s':>10} {'share of pose estimation':>26}")
    print(f"{'pose estimation (MediaPipe Holistic)':<44} {pose_fps:>10.1f} {'':>26}")
    for method in METHODS:
        for label, batch in (("per clip", poses), ("one long sequence", [long_pose])):
            start = time.perf_counter()
            for pose in batch:
                segment_pose(pose, method, tagger=tagger)
            fps = frames / (time.perf_counter() - start)
            print(f"{f'segmentation {method}, {label}':<44} {fps:>10.1f} {pose_fps / fps:>25.2%}")


if __name__ == "__main__":
    main()
