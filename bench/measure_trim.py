"""Idle trim's effect on the evaluation grid: the numbers behind docs/segmentation.md, "Idle trim".

Every clip is embedded twice, as it is and cut to `segment.activity.trim_range` (clips where no signing activity
is found stay whole), and each version goes through the grid's own cell (`evaluate.cell.evaluate_cell`: all and
cross-signer variants, list length 10, the grid's default metric l2), side by side:

* realsigns-a (485 real MediaPipe sequences, 12 signs, 25 signers; converted with its own npz_to_pose.py);
* the 27 Croatian clips (9 signs x 3 takes, one signer, real idle at both ends; cross-signer has no queries);
* models: pose-baseline (defaults; it already cuts leading/trailing frames without any hand), the same without that
  cut (option trim: false), and SignCLIP from the shared test checkpoint (`signclip/`: RANDOM weights, so its
  numbers show only that trimming runs through it, not what it does to a trained model).

It also prints the trim range of `poses/pose-eval_colin-3-HOUSE-needs-trim.refined.pose`.

    nice -n 10 .venv/bin/python bench/measure_trim.py [--testdata ../shared/testdata]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from pose_format import Pose
from pose_format.numpy import NumPyPoseBody

from signsearch import manifest
from signsearch.embed.factory import load_embedder
from signsearch.embed.spec import model_spec
from signsearch.evaluate.cell import evaluate_cell
from signsearch.segment.activity import trim_range

METRICS = ("p_at_1", "p_at_10", "map_at_10")


def cut(pose: Pose, span: tuple[int, int] | None) -> Pose:
    if span is None:
        return pose
    s, e = span
    body = NumPyPoseBody(fps=pose.body.fps, data=pose.body.data[s:e], confidence=pose.body.confidence[s:e])
    return Pose(pose.header, body)


def realsigns(root: Path) -> tuple[list[Pose], pd.DataFrame]:
    spec = importlib.util.spec_from_file_location("realsigns_npz_to_pose", root / "npz_to_pose.py")
    converter = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(converter)
    meta = pd.read_csv(root / "metadata.csv")
    poses = []
    with tempfile.TemporaryDirectory() as tmp:
        for row in meta.itertuples():
            out = Path(tmp) / f"{row.sample_id}.pose"
            converter.convert(str(root / row.path), str(out))
            poses.append(Pose.read(out.read_bytes()))
    return poses, pd.DataFrame({"video_id": meta["sample_id"], "gloss": meta["gloss"], "signer": meta["signer"]})


def croatian(root: Path) -> tuple[list[Pose], pd.DataFrame]:
    meta = pd.read_csv(root / "metadata.csv")
    poses = [Pose.read((root / p).read_bytes()) for p in meta["pose_path"]]
    return poses, pd.DataFrame({"video_id": meta["sample_id"], "gloss": meta["gloss"], "signer": meta["signer"]})


def grid_numbers(vectors: np.ndarray, meta: pd.DataFrame, model: str) -> dict[str, dict[str, float]]:
    n = len(meta)
    rows = {"video_id": list(meta["video_id"]), "dataset": ["bench"] * n, "gloss": list(meta["gloss"]),
            "signer": list(meta["signer"]), "split": [None] * n, "pose_path": ["-"] * n, "frames": [0] * n}
    m = manifest.Manifest(manifest.build(rows, vectors, model, "bench"))
    cell = evaluate_cell(m, list(meta["video_id"]), subset_name="all", k=10, metric="l2")
    return {variant: {**v["metrics"], **{f"{k}_chance": c for k, c in v["chance"].items()}}
            for variant, v in cell.metrics["variants"].items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--testdata", type=Path, default=Path(os.environ.get("SIGNSEARCH_TESTDATA", "../shared/testdata")))
    args = parser.parse_args()
    data = args.testdata

    house = Pose.read((data / "poses" / "pose-eval_colin-3-HOUSE-needs-trim.refined.pose").read_bytes())
    print(f"HOUSE needs-trim: {len(house.body.data)} frames, trim range {trim_range(house)} (half-open)")

    specs = {"pose-baseline": model_spec("pose-baseline", {"kind": "pose-baseline"}),
             "pose-baseline, own no-hand cut off": model_spec("pose-baseline-raw", {"kind": "pose-baseline", "options": {"trim": False}})}
    clip = data / "signclip"
    if (clip / "checkpoint" / "checkpoint_best.pt").is_file():
        specs["signclip-test (random weights)"] = model_spec("signclip-test", {
            "kind": "signclip", "checkpoint": str(clip / "checkpoint" / "checkpoint_best.pt"),
            "tokenizer": str(clip / "bert-tiny-cased")})
    embedders = {name: load_embedder(spec) for name, spec in specs.items()}

    lines = ["| material | model | variant | trim | P@1 | P@10 | mAP@10 | chance P@1 / P@10 / mAP@10 |", "|---|---|---|---|---|---|---|---|"]
    for material, (poses, meta) in {"realsigns-a": realsigns(data / "realsigns-a"),
                                    "croatian": croatian(data / "videos" / "croatian")}.items():
        start = time.perf_counter()
        spans = [trim_range(p) for p in poses]
        seconds = time.perf_counter() - start
        frames = np.array([len(p.body.data) for p in poses])
        kept = np.array([(e - s) if sp else n for sp, n in zip(spans, frames) for s, e in [sp or (0, n)]])
        untouched = sum(sp is None or sp == (0, n) for sp, n in zip(spans, frames))
        print(f"{material}: {len(poses)} clips, {frames.sum()} frames; trim keeps {kept.sum()} ({kept.sum() / frames.sum():.1%}); "
              f"{untouched} clips untouched ({sum(sp is None for sp in spans)} without activity); {seconds:.2f} s")
        trimmed = [cut(p, sp) for p, sp in zip(poses, spans)]
        for name, embedder in embedders.items():
            for trim, batch in (("off", poses), ("on", trimmed)):
                numbers = grid_numbers(embedder.embed_poses(batch), meta, name)
                for variant, v in numbers.items():
                    if np.isnan(v["p_at_1"]):
                        continue
                    lines.append(f"| {material} | {name} | {variant} | {trim} | " + " | ".join(f"{v[m]:.3f}" for m in METRICS)
                                 + " | " + " / ".join(f"{v[m + '_chance']:.3f}" for m in METRICS) + " |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
