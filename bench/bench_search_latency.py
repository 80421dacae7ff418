"""Search latency as the web app answers it: `search.prepare` (read and embed the uploaded file) + `search.answer`
(top-k through the HNSW index, or exact), against a workflow's database, e.g. a bench_scale.py run.

Uploads are `.pose` files of the dataset (their own video is in the database, so the first hit is itself), plus
optionally one video file (`--video`), which is posed with MediaPipe first, as an uploaded clip is.

    nice -n 19 .venv/bin/python bench/bench_search_latency.py --workdir /work/scale/run_10000 [--video clip.mp4]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from signsearch import search  # noqa: E402
from signsearch.db import server  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, required=True, help="a workflow work dir (config/config.yaml, results/)")
    ap.add_argument("--dataset", default="aslc")
    ap.add_argument("--model", default="pose-baseline")
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--video", type=Path, help="also time one uploaded video (MediaPipe + embed + search)")
    args = ap.parse_args()
    os.chdir(args.workdir)
    config = yaml.safe_load(Path("config/config.yaml").read_text())
    reg = pd.read_parquet(f"results/{args.dataset}/registry.parquet")
    files = reg["pose_path"].sample(args.queries, random_state=0).tolist()
    with server.session(config["database"]["data_dir"]) as url, server.connect(url) as conn:
        rows = conn.execute("SELECT count(*) FROM embedding").fetchone()[0]
        kw = {"dataset": args.dataset, "model": args.model, "k": 10}
        search.nearest_videos(conn, config, video=files[0], **kw)  # load the embedder, warm the cache
        for exact in (False, True):
            prep, ans, self_first = [], [], 0
            for f in files:
                t0 = time.perf_counter()
                q = search.prepare(config, video=f, exact=exact, **kw)
                t1 = time.perf_counter()
                hits = search.answer(conn, q)
                t2 = time.perf_counter()
                prep.append((t1 - t0) * 1000)
                ans.append((t2 - t1) * 1000)
                self_first += hits[0]["pose_path"] == f
            total = np.add(prep, ans)
            print(f"{'exact scan' if exact else 'HNSW':<10} over {rows:,} vectors, {len(files)} .pose uploads: "
                  f"read+embed p50 {np.median(prep):.1f} ms, search p50 {np.median(ans):.1f} / p95 "
                  f"{np.percentile(ans, 95):.1f} ms, total p50 {np.median(total):.1f} / p95 {np.percentile(total, 95):.1f} ms; "
                  f"upload's own video first: {self_first}/{len(files)}")
        if args.video:
            t0 = time.perf_counter()
            q = search.prepare(config, video=args.video, **kw)
            t1 = time.perf_counter()
            search.answer(conn, q)
            t2 = time.perf_counter()
            print(f"video upload {args.video.name}: pose + embed {t1 - t0:.2f} s, search {1000 * (t2 - t1):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
