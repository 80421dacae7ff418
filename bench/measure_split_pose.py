"""How much does posing a query in parts (the web app's `app.query_pose_workers`) change its pose and its search?

On the Croatian clips ($SIGNSEARCH_TESTDATA/videos/croatian: 9 signs x 3 takes, 41-60 frames, plus the 3.5 s
upload clip of bench_upload.py), each clip is posed in one piece (`pose_video`) and in 2 parts on warm workers
(`pose_in_parts`). Printed per clip: pixel differences of the landmarks detected in both (body points only where
MediaPipe's visibility >= 0.5 in both), before the cut and from 5 frames after it; frames where a hand is
detected in one pose and not the other; and for the pose-baseline model the cosine distance between the two
embeddings and whether the query's 5 nearest other clips (leave-one-out among the clips posed in one piece, the
database's poses) are the same in the same order.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from signsearch import config as ss_config
from signsearch.embed.spec import spec_of
from signsearch.pose.estimate import pose_video
from signsearch.pose.parts import cuts, pose_in_parts
from signsearch.pose.workers import Settings, WarmWorkers
from signsearch.search import cached_embedder

AWAY = 5  # frames after the cut before "away from the cut"
BODY, FACE, HANDS = slice(0, 33), slice(33, 501), slice(501, 543)  # MediaPipe Holistic (576 points) in .pose order


def _diffs(seq, split, cut: int) -> dict[str, float]:  # noqa: ANN001 - Pose
    a, b = np.asarray(seq.body.data.data)[:, 0, :, :2], np.asarray(split.body.data.data)[:, 0, :, :2]
    ca, cb = seq.body.confidence[:, 0], split.body.confidence[:, 0]
    both = (ca > 0) & (cb > 0)
    both[:, BODY] &= (ca[:, BODY] >= 0.5) & (cb[:, BODY] >= 0.5)
    diff = np.where(both[..., None], np.abs(a - b), np.nan).max(-1)  # px, per frame and point
    out: dict[str, float] = {"before_max": float(np.nanmax(diff[:cut], initial=0))}
    away = diff[cut + AWAY:]
    for name, part in (("body", BODY), ("face", FACE), ("hands", HANDS)):
        out[f"{name}_max"] = float(np.nanmax(away[:, part], initial=0))
        out[f"{name}_mean"] = float(np.nanmean(away[:, part])) if np.isfinite(away[:, part]).any() else 0.0
    hand_a = [(ca[:, h] > 0).any(1) for h in (slice(501, 522), slice(522, 543))]
    hand_b = [(cb[:, h] > 0).any(1) for h in (slice(501, 522), slice(522, 543))]
    out["hand_presence_differs"] = int(sum((x != y)[cut:].sum() for x, y in zip(hand_a, hand_b)))
    out["frames_after_cut"] = len(a) - cut
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", type=int, default=2)
    args = parser.parse_args()
    croatian = Path(os.environ.get("SIGNSEARCH_TESTDATA", "")) / "videos" / "croatian"
    if not croatian.is_dir():
        raise SystemExit("set SIGNSEARCH_TESTDATA to the shared test material (videos/croatian)")
    meta = pd.read_csv(croatian / "metadata.csv")
    clips = {row.sample_id: croatian / row.path for row in meta.itertuples()}
    glosses = dict(zip(meta["sample_id"], meta["gloss"]))
    spec = spec_of(ss_config.load(), "pose-baseline")  # run from the project folder: the base config
    embedder = cached_embedder(spec)
    workers = WarmWorkers(Settings(), args.parts)
    rows, seq_vecs, split_vecs = [], {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        from bench_upload import _clip

        clips["upload-clip"] = _clip(croatian.parents[1], Path(tmp) / "clip.mp4")
        try:
            for name, video in clips.items():
                seq, split = pose_video(video), pose_in_parts(video, workers)
                assert seq.body.data.shape == split.body.data.shape and seq.body.fps == split.body.fps
                cut = cuts(len(seq.body.data), args.parts)[-1][0]
                rows.append({"clip": name, "frames": len(seq.body.data), "cut": cut, **_diffs(seq, split, cut)})
                seq_vecs[name], split_vecs[name] = embedder.embed_poses([seq, split])
        finally:
            workers.close()
    table = pd.DataFrame(rows).set_index("clip")
    names = [n for n in table.index if n in glosses]
    base = np.stack([seq_vecs[n] for n in names])
    base /= np.linalg.norm(base, axis=1, keepdims=True)

    def top(vec: np.ndarray, avoid: str) -> list[str]:
        sims = base @ (vec / np.linalg.norm(vec))
        order = [names[i] for i in np.argsort(-sims, kind="stable") if names[i] != avoid]
        return order[:5]

    for name in table.index:
        a, b = seq_vecs[name], split_vecs[name]
        table.loc[name, "emb_cos_dist"] = 1 - float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
        t_seq, t_split = top(a, name), top(b, name)
        table.loc[name, "top5_same"] = t_seq == t_split
        table.loc[name, "top1_same"] = t_seq[0] == t_split[0]
        if name in glosses:
            table.loc[name, "top1_gloss_ok_seq"] = glosses[t_seq[0]] == glosses[name]
            table.loc[name, "top1_gloss_ok_split"] = glosses[t_split[0]] == glosses[name]
    pd.set_option("display.width", 250)
    print(table.round(3).to_string())
    clips_only = table.loc[names]
    nearest_other = np.median([1 - max(float(base[i] @ base[j]) for j in range(len(names)) if j != i)
                               for i in range(len(names))])
    print(f"\n{len(names)} clips, {args.parts} parts: frames before the cut the same in "
          f"{int((clips_only['before_max'] < 1e-3).sum())}/{len(names)} (max {table['before_max'].max():.1e} px: "
          f"float32 as in a .pose file); from {AWAY} frames after it: body max "
          f"{table['body_max'].max():.1f} px (mean of means {table['body_mean'].mean():.2f}), face max "
          f"{table['face_max'].max():.1f} ({table['face_mean'].mean():.2f}), hands max {table['hands_max'].max():.1f} "
          f"({table['hands_mean'].mean():.2f}); hand presence differs in {int(table['hand_presence_differs'].sum())} "
          f"of {2 * int(table['frames_after_cut'].sum())} hand-frames after the cut")
    print(f"embedding cosine distance split vs one piece: median {table['emb_cos_dist'].median():.4f}, "
          f"max {table['emb_cos_dist'].max():.4f} (median distance of a clip to its nearest other clip: "
          f"{nearest_other:.4f})")
    print(f"top-5 neighbours identical: {int(clips_only['top5_same'].sum())}/{len(names)}, top-1 identical: "
          f"{int(clips_only['top1_same'].sum())}/{len(names)}; top-1 right sign: one piece "
          f"{int(clips_only['top1_gloss_ok_seq'].sum())}, split {int(clips_only['top1_gloss_ok_split'].sum())}")


if __name__ == "__main__":
    main()
