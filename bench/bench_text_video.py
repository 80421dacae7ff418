"""Text-video metrics at ASL Citizen's test size: time and peak memory of `text_video_metrics`.

Synthetic unit vectors: `--videos` videos (default 32,941, ASL Citizen's test split) of `--glosses` glosses
(default 2,731), dimension `--dim` (default 768, SignCLIP), each video = its gloss's text vector + noise.
Peak memory is tracemalloc's peak (numpy reports its buffers to it) during the call.
`--baseline FILE` also measures the function of another copy of text_video.py in the same run and checks that
both give identical metrics (before/after numbers of a change).

    nice -n 19 .venv/bin/python bench/bench_text_video.py [--videos 32941 --glosses 2731] [--baseline old.py]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from signsearch.evaluate import text_video  # noqa: E402


def data(videos: int, glosses: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    texts = rng.normal(size=(glosses, dim)).astype(np.float32)
    texts /= np.linalg.norm(texts, axis=1, keepdims=True)
    truth = np.arange(videos) % glosses
    vids = texts[truth] + rng.normal(scale=0.15, size=(videos, dim)).astype(np.float32)
    vids /= np.linalg.norm(vids, axis=1, keepdims=True)
    names = [f"G{i:04d}" for i in range(glosses)]
    return vids, np.array([names[t] for t in truth], dtype=object), texts, names


def measure(fn, *args) -> tuple[dict, float, float]:
    tracemalloc.start()
    start = time.perf_counter()
    out = fn(*args)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, seconds, peak / 1e9


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=32_941)
    ap.add_argument("--glosses", type=int, default=2_731)
    ap.add_argument("--dim", type=int, default=768)
    ap.add_argument("--baseline", type=Path, help="another text_video.py to measure in the same run")
    args = ap.parse_args()
    inputs = data(args.videos, args.glosses, args.dim)
    print(f"{args.videos} videos x {args.glosses} glosses, dim {args.dim}; sims matrix alone "
          f"{args.videos * args.glosses * 8 / 1e9:.2f} GB (float64)")
    runs = [("current", text_video.text_video_metrics)]
    if args.baseline:
        spec = importlib.util.spec_from_file_location("text_video_baseline", args.baseline)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        runs.insert(0, (f"baseline {args.baseline.name}", mod.text_video_metrics))
    results = {}
    for name, fn in runs:
        out, seconds, peak = measure(fn, *inputs)
        results[name] = out
        print(f"{name:<32} {seconds:7.1f} s   peak {peak:5.2f} GB   v2t R@1 {out['v2t_r_at_1']:.4f}  t2v P@10 {out['t2v_p_at_10']:.4f}")
    if len(results) == 2:
        a, b = results.values()
        same = a.keys() == b.keys() and all((a[k] == b[k]) or (a[k] != a[k] and b[k] != b[k]) for k in a)
        print(f"identical metrics: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
