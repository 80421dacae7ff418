"""Signer-disjoint cross-validation of the trainable pose encoder against pose-baseline on realsigns-a, plus a
gloss-disjoint split, and CPU training / embedding throughput.

Folds: the 25 signers are dealt into `--folds` groups of about equal clip counts (largest signer first, to the
group with fewest clips). Fold f tests on group f, validates (early stopping) on group f+1 and trains on the rest,
so training and validation signers never appear in the test fold. Both models are scored on exactly the same
test clips: all against all within the test fold, cross-signer (the query's own signer's clips excluded),
cosine, with the project's metric code (`evaluate/metrics.py`).

Gloss-disjoint: the glosses are dealt alternately (by frequency) into halves A and B; train on A (validation:
one signer group's A clips), test on all B clips, and the other way round. No bar, reported as measured.

  python bench/crossval_train.py                         # CPU, 1 thread
  python bench/crossval_train.py --device cuda --threads 0  # on a GPU
  python bench/crossval_train.py --set loss=triplet --set width=128
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import tempfile
import time
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from signsearch.embed.baseline import PoseBaselineEmbedder
from signsearch.train import checkpoint
from signsearch.train.embedder import TrainedEmbedder
from signsearch.train.features import clip_from_pose, read_pose
from signsearch.train.loop import LabelledClips, TrainConfig, embed_clips, train
from signsearch.train.validation import cross_signer_scores


def load_realsigns(root: Path, out: Path) -> pd.DataFrame:
    """Convert every npz to .pose with the folder's own converter (into `out`, never the repository)."""
    spec = importlib.util.spec_from_file_location("realsigns_npz_to_pose", root / "npz_to_pose.py")
    converter = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(converter)
    meta = pd.read_csv(root / "metadata.csv")
    paths = []
    for row in meta.itertuples():
        path = out / f"{row.sample_id}.pose"
        converter.convert(str(root / row.path), str(path))
        paths.append(path)
    return meta.assign(pose_path=paths)[["sample_id", "gloss", "signer", "pose_path"]]


def signer_folds(meta: pd.DataFrame, folds: int) -> list[list[str]]:
    counts = meta.groupby("signer").size().sort_values(ascending=False, kind="stable")
    groups: list[list[str]] = [[] for _ in range(folds)]
    sizes = [0] * folds
    for signer, n in counts.items():
        g = int(np.argmin(sizes))
        groups[g].append(str(signer))
        sizes[g] += int(n)
    return groups


def subset(meta: pd.DataFrame, clips: list, rows: np.ndarray) -> LabelledClips:
    return LabelledClips([clips[i] for i in rows], list(meta.gloss.iloc[rows]), list(meta.signer.iloc[rows]))


def run_split(meta, clips, base, train_rows, val_rows, test_rows, cfg, progress) -> tuple[dict[str, float], object]:
    outcome = train(subset(meta, clips, train_rows), subset(meta, clips, val_rows), cfg, progress=progress)
    test = subset(meta, clips, test_rows)
    start = time.perf_counter()
    vectors = embed_clips(outcome.model, test.clips, cfg.device)
    embed_seconds = time.perf_counter() - start
    ours = cross_signer_scores(vectors, test.glosses, test.signers)
    theirs = cross_signer_scores(base[test_rows], test.glosses, test.signers)
    train_rate = np.mean([r["clips_per_s"] for r in outcome.history])
    return {
        "test_clips": len(test_rows), "train_clips": len(train_rows), "best_epoch": outcome.best_epoch,
        "epochs_run": len(outcome.history), "val_map_at_10": (outcome.validation or {}).get("map_at_10"),
        "trained_p_at_1": ours["p_at_1"], "baseline_p_at_1": theirs["p_at_1"],
        "trained_map_at_10": ours["map_at_10"], "baseline_map_at_10": theirs["map_at_10"],
        "train_clips_per_s": float(train_rate), "embed_model_clips_per_s": len(test_rows) / embed_seconds,
    }, outcome.model  # fmt: skip


def parse_overrides(items: list[str]) -> dict:
    types = {f.name for f in fields(TrainConfig)}
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        if key not in types:
            raise SystemExit(f"--set: unknown hyper-parameter {key!r} (known: {', '.join(sorted(types))})")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value  # a bare string such as loss=triplet
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--testdata", type=Path, default=Path(os.environ.get("SIGNSEARCH_TESTDATA", "../shared/testdata")))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--only-folds", type=int, nargs="*", help="run just these fold numbers (quick experiments)")
    ap.add_argument("--no-gloss-disjoint", action="store_true")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override a TrainConfig field")
    ap.add_argument("--progress", action="store_true", help="tqdm bar and one line per epoch")
    ap.add_argument("--out", type=Path, help="also write the per-fold table here (TSV)")
    args = ap.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = replace(TrainConfig(seed=args.seed, device=args.device), **parse_overrides(args.set))
    with tempfile.TemporaryDirectory() as tmp:
        meta = load_realsigns(args.testdata / "realsigns-a", Path(tmp))
        poses = [read_pose(p) for p in meta.pose_path]
    start = time.perf_counter()
    base = PoseBaselineEmbedder().embed_poses(poses)
    base_rate = len(poses) / (time.perf_counter() - start)
    start = time.perf_counter()
    clips = [clip_from_pose(p) for p in poses]
    front_rate = len(poses) / (time.perf_counter() - start)
    print(f"config: {json.dumps(cfg.to_dict(), default=str)}")

    groups = signer_folds(meta, args.folds)
    group_of = {s: g for g, members in enumerate(groups) for s in members}
    fold = meta.signer.map(group_of).to_numpy()
    rows = []
    wall = time.perf_counter()
    for f in args.only_folds if args.only_folds is not None else range(args.folds):
        v = (f + 1) % args.folds
        split = [np.flatnonzero(~np.isin(fold, [f, v])), np.flatnonzero(fold == v), np.flatnonzero(fold == f)]
        result, model = run_split(meta, clips, base, *split, cfg, args.progress)
        rows.append({"split": f"signer fold {f}", **result})
        print(_line(rows[-1]), flush=True)
    table = pd.DataFrame(rows)
    mean = table.select_dtypes("number").mean()
    print(_line({"split": "MEAN signer folds", **mean.to_dict()}))
    cv_seconds = time.perf_counter() - wall

    if not args.no_gloss_disjoint:
        order = meta.gloss.value_counts().index.tolist()
        halves = [set(order[0::2]), set(order[1::2])]
        gd = []
        for h in range(2):
            seen = meta.gloss.isin(halves[h]).to_numpy()
            val = seen & (fold == 0)
            result, _ = run_split(
                meta, clips, base, np.flatnonzero(seen & ~val), np.flatnonzero(val), np.flatnonzero(~seen), cfg,
                args.progress,
            )
            gd.append({"split": f"gloss-disjoint {'AB'[h]}->{'BA'[h]}", **result})
            print(_line(gd[-1]), flush=True)
        gmean = pd.DataFrame(gd).select_dtypes("number").mean()
        print(_line({"split": "MEAN gloss-disjoint", **gmean.to_dict()}))
        table = pd.concat([table, pd.DataFrame(gd)])

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint.save(Path(tmp) / "checkpoint.pt", model, {})
        embedder = TrainedEmbedder("bench", Path(tmp) / "checkpoint.pt", device=args.device)
    start = time.perf_counter()
    embedder.embed_poses(poses)
    served_rate = len(poses) / (time.perf_counter() - start)
    print(
        f"\nthroughput ({args.device}, {torch.get_num_threads()} torch thread(s)): training {mean['train_clips_per_s']:.0f} clips/s "
        f"(augmentation + features + forward/backward); embedding: front end {front_rate:.0f} clips/s, "
        f"features + encoder {mean['embed_model_clips_per_s']:.0f} clips/s (batched); TrainedEmbedder.embed_poses "
        f"(one pose per forward pass, from Pose objects) {served_rate:.0f} clips/s; pose-baseline {base_rate:.0f} clips/s"
    )
    print(f"signer-fold CV wall time: {cv_seconds:.0f} s")
    print("GPU: python bench/crossval_train.py --device cuda --threads 0")
    if args.out:
        table.to_csv(args.out, sep="\t", index=False)


def _line(r: dict) -> str:
    return (
        f"{r['split']:<22} test {r['test_clips']:5.0f}  trained P@1 {r['trained_p_at_1']:.3f} mAP@10 "
        f"{r['trained_map_at_10']:.3f} | baseline P@1 {r['baseline_p_at_1']:.3f} mAP@10 {r['baseline_map_at_10']:.3f}"
        f" | d mAP {r['trained_map_at_10'] - r['baseline_map_at_10']:+.3f} d P@1 "
        f"{r['trained_p_at_1'] - r['baseline_p_at_1']:+.3f} | best epoch {r['best_epoch']:.0f}/{r['epochs_run']:.0f}"
    )


if __name__ == "__main__":
    main()
