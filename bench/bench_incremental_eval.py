"""Incremental evaluation cells (issue 15), side by side in one run:

  (a) an evaluation cell (`signsearch.evaluate.cell.run_cell`: all, cross_signer, dictionary; every file written)
      of N clustered videos from scratch, which also writes the cell's cache;
  (b) the same cell after --added videos (random ids, so they land anywhere in the subset's order), updated
      from that cache;
  (c) the grown cell from scratch (the reference (b) must equal: every file and the per-query state).

Vectors: --glosses centres, a per-signer offset and noise (ASL Citizen-like: 52 signers, train/val/test splits).
CPU time is reported beside wall time (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from signsearch import manifest
from signsearch.embed.spec import model_spec
from signsearch.evaluate.cell import run_cell
from signsearch.evaluate.subsets import Subset, write_subset
from signsearch.layout import CELL_FILES, files_in


def make_videos(n: int, dim: int, glosses: int, signers: int, spread: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g, s = rng.integers(0, glosses, n), rng.integers(0, signers, n)
    x = spread * rng.standard_normal((glosses, dim), dtype=np.float32)[g]
    x += 0.1 * rng.standard_normal((signers, dim), dtype=np.float32)[s] + 0.8 * rng.standard_normal((n, dim), dtype=np.float32)
    return pd.DataFrame({
        "video_id": [f"v{int(i):07d}" for i in rng.choice(10_000_000, n, replace=False)],
        "gloss": [f"G{j}" for j in g], "signer": [f"s{j}" for j in s],
        "split": rng.choice(["train", "val", "test"], n, p=[0.48, 0.12, 0.40]),
        "vector": list(x),
    })


def run(tmp: Path, name: str, videos: pd.DataFrame, cache: Path) -> tuple[float, float, dict[str, Path]]:
    """(wall s, CPU s, files) of one cell job on `videos`; manifest and subset written beforehand (not timed)."""
    n = len(videos)
    cols = {c: videos[c].tolist() for c in ("video_id", "gloss", "signer", "split")}
    cols |= {"dataset": ["d"] * n, "pose_path": ["p"] * n, "frames": [1] * n}
    manifest.write(manifest.build(cols, np.stack(videos["vector"].to_list()), "pose-baseline", "fp"), tmp / f"{name}.parquet")
    videos[["video_id", "split"]].to_parquet(tmp / f"{name}-registry.parquet")
    write_subset(Subset(name="full", video_ids=tuple(sorted(videos["video_id"])), seed=0, spec={"kind": "all"}),
                 tmp / f"{name}.tsv")
    outputs = files_in(tmp / name, CELL_FILES)
    outputs["metrics"].parent.mkdir(parents=True)
    wall, cpu = time.perf_counter(), time.process_time()
    run_cell(manifest_path=tmp / f"{name}.parquet", subset_path=tmp / f"{name}.tsv",
             registry_path=tmp / f"{name}-registry.parquet", outputs=outputs,
             spec=model_spec("pose-baseline", {"kind": "pose-baseline"}), dataset="d",
             settings={"k": 10, "metric": "l2", "backend": "memory"}, data_dir="unused", cache_path=cache)
    return time.perf_counter() - wall, time.process_time() - cpu, outputs | {"cache": cache}


def same(a: dict[str, Path], b: dict[str, Path]) -> bool:
    files = all(a[r].read_bytes() == b[r].read_bytes() for r in ("metrics", "table", "confusions", "per_gloss"))
    files &= pq.read_table(a["neighbours"]).equals(pq.read_table(b["neighbours"]))
    with np.load(a["cache"]) as za, np.load(b["cache"]) as zb:
        state = sorted(za.files) == sorted(zb.files) and all(np.array_equal(za[f], zb[f]) for f in za.files)
    return files and state


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--added", type=int, default=100)
    ap.add_argument("--dim", type=int, default=1202)
    ap.add_argument("--glosses", type=int, default=650)
    ap.add_argument("--signers", type=int, default=52)
    ap.add_argument("--spread", type=float, default=0.2, help="gloss centres' scale (noise 0.8): sets P@1")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    videos = make_videos(args.n + args.added, args.dim, args.glosses, args.signers, args.spread, args.seed)
    base = videos.iloc[: args.n]
    with tempfile.TemporaryDirectory(prefix="bench_incr_", dir="/tmp") as d:
        tmp = Path(d)
        cache = tmp / "cache.npz"
        full_w, full_c, _ = run(tmp, "base", base, cache)
        incr_w, incr_c, incr = run(tmp, "incremental", videos, cache)
        grown_w, grown_c, grown = run(tmp, "scratch", videos, tmp / "scratch-cache.npz")
        equal = same(incr, grown)
        p_at_1 = json.loads(grown["metrics"].read_text())["variants"]["all"]["metrics"]["p_at_1"]
        cache_mb = cache.stat().st_size / 1e6
    print(f"cell of {args.n} x {args.dim} ({args.glosses} glosses, {args.signers} signers), +{args.added} videos, "
          f"k=10, l2 (P@1 {p_at_1:.3f}); cache {cache_mb:.1f} MB")
    print(f"{'run':<34}{'wall s':>9}{'CPU s':>9}")
    print(f"{'(a) from scratch, N':<34}{full_w:>9.1f}{full_c:>9.1f}")
    print(f"{'(b) incremental, N + added':<34}{incr_w:>9.1f}{incr_c:>9.1f}")
    print(f"{'(c) from scratch, N + added':<34}{grown_w:>9.1f}{grown_c:>9.1f}")
    print(f"incremental / from scratch (b / c): wall {incr_w / grown_w:.1%}, CPU {incr_c / grown_c:.1%}")
    print(f"outputs and per-query state of (b) equal (c): {equal}")
    assert equal, "the incremental cell differs from the from-scratch cell"


if __name__ == "__main__":
    main()
