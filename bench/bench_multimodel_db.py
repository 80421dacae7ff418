"""Five models' embeddings of one dataset in ONE database: load time, HNSW build time, database size, and per model
top-10 query latency (p50/p95 through the index) and recall@10 against exact search.

Models as in config/asl_citizen.yaml: four SignCLIP-like spaces (768-d, metric l2) and pose-baseline (cosine, its
real dimension). Vectors are SYNTHETIC but structured like real embeddings (bench_db.structured: one cluster per
gloss in a low-rank subspace plus noise; each model its own centres and subspace), so recall is meaningful;
queries are fresh draws from the same clusters. Loads go through `db.load.load_manifest` (COPY + merge + HNSW
build in one transaction), queries through `db.query.knn`; the HNSW build alone is timed by a REINDEX.

    nice -n 19 .venv/bin/python bench/bench_multimodel_db.py [--videos 83399] [--queries 200] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bench_db import structured  # noqa: E402

from signsearch import manifest  # noqa: E402
from signsearch.db import load, query, schema, server  # noqa: E402
from signsearch.embed.baseline import PoseBaselineEmbedder  # noqa: E402
from signsearch.evaluate.retrieval import topk_exact  # noqa: E402

SIGNCLIP = ["signclip-spreadthesign", "signclip-asl-signs", "signclip-asl-citizen", "signclip-asl"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=83_399, help="videos per model (default 83399, ASL Citizen)")
    ap.add_argument("--glosses", type=int, default=2_731, help="clusters (default 2731)")
    ap.add_argument("--rank", type=int, default=64, help="rank of each model's subspace (default 64)")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--data-dir", type=Path, help="server data directory (default: fresh, under /tmp, removed)")
    ap.add_argument("--json", type=Path, help="also write the numbers here")
    args = ap.parse_args()

    baseline_dim = PoseBaselineEmbedder().dim
    models = [(m, 768, "l2") for m in SIGNCLIP] + [("pose-baseline", baseline_dim, "cosine")]
    tmp = Path(tempfile.mkdtemp(prefix="signsearch-multimodel-"))
    data_dir = args.data_dir or tmp / "pgdata"
    url = server.start(data_dir)
    ids = [f"aslc-{i:06d}" for i in range(args.videos)]
    out: dict = {"videos": args.videos, "glosses": args.glosses, "models": {}}
    print(f"{len(models)} models x {args.videos:,} videos ({args.glosses} clusters, rank {args.rank}) -> {data_dir}")
    try:
        data = {}
        for seed, (name, dim, metric) in enumerate(models):
            rng = np.random.default_rng(100 + seed)
            vectors, labels, centres, basis = structured(rng, args.videos, dim, args.glosses, args.rank)
            queries = structured(rng, args.queries, dim, args.glosses, args.rank, centres, basis)[0]
            data[name] = (vectors, queries, metric)
            rows = {"video_id": ids, "dataset": ["aslc"] * args.videos, "gloss": [f"G{c:04d}" for c in labels],
                    "signer": [f"signer-{i % 52:02d}" for i in range(args.videos)], "split": ["train"] * args.videos,
                    "pose_path": [f"{v}.pose" for v in ids], "frames": [75] * args.videos}
            path = tmp / f"{name}.parquet"
            manifest.write(manifest.build(rows, vectors, name, f"bench-{name}"), path)
            receipt = load.load_manifest(url, path, dataset={"name": "aslc", "kind": "poses", "root": None, "metadata": {}},
                                         model={"name": name, "metric": metric}, receipt_path=tmp / f"{name}.json")
            path.unlink()
            with server.connect(url) as conn:
                target = query.resolve(conn, "aslc", name)
                index = schema.index_name(target.dataset_id, target.model_id)
                start = time.perf_counter()
                with conn.transaction():
                    conn.execute(f"SET LOCAL maintenance_work_mem = '{schema.hnsw_build_memory(args.videos, dim) >> 20}MB'")
                    conn.execute(f"REINDEX INDEX {index}")
                build = time.perf_counter() - start
                index_bytes = conn.execute("SELECT pg_relation_size(%s::regclass)", (index,)).fetchone()[0]
            out["models"][name] = {"dim": dim, "metric": metric, "load_s": receipt["seconds"], "hnsw_build_s": build,
                                   "index_mb": index_bytes / 1e6}
            print(f"{name:<24} dim {dim:>4} {metric:<6} load_manifest {receipt['seconds']:6.1f} s "
                  f"(COPY+merge+HNSW)  HNSW build alone {build:6.1f} s  index {index_bytes / 1e6:6.1f} MB")

        with server.connect(url) as conn:
            db_bytes = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
            table_bytes = conn.execute("SELECT pg_total_relation_size('embedding')").fetchone()[0]
            out |= {"db_mb": db_bytes / 1e6, "embedding_table_mb": table_bytes / 1e6}
            print(f"database {db_bytes / 1e6:.0f} MB (embedding table with its indexes {table_bytes / 1e6:.0f} MB); "
                  f"data dir {sum(f.stat().st_size for f in Path(data_dir).rglob('*') if f.is_file()) / 1e6:.0f} MB")
            for name, (vectors, queries, metric) in data.items():
                kw = {"dataset": "aslc", "model": name, "k": args.k}
                query.knn(conn, vector=queries[0], **kw)  # warm
                lat, found = [], []
                for q in queries:
                    start = time.perf_counter()
                    found.append([r["video_id"] for r in query.knn(conn, vector=q, **kw)])
                    lat.append((time.perf_counter() - start) * 1000)
                truth, _ = topk_exact(queries, vectors, args.k, metric)
                recall = float(np.mean([len(set(f) & {ids[i] for i in t}) / args.k for f, t in zip(found, truth)]))
                start = time.perf_counter()
                exact = [[r["video_id"] for r in query.knn(conn, vector=q, exact=True, **kw)] for q in queries[:3]]
                exact_ms = (time.perf_counter() - start) * 1000 / 3
                agree = sum(e == [ids[i] for i in t] for e, t in zip(exact, truth[:3]))
                p50, p95 = np.percentile(lat, [50, 95])
                out["models"][name] |= {"p50_ms": p50, "p95_ms": p95, "recall_at_10": recall, "exact_ms": exact_ms}
                print(f"{name:<24} HNSW top-{args.k}: p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  recall@{args.k} {recall:.3f}  "
                      f"| exact scan {exact_ms:6.0f} ms/query (= numpy on {agree}/3)")
        if args.json:
            args.json.write_text(json.dumps(out, indent=1))
    finally:
        if not args.data_dir:
            server.remove(data_dir)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
