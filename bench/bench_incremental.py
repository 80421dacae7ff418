"""Incremental reruns (issue 15), old path vs new path measured in ONE run, on a throw-away tree and server.

1. Manifest rebuild after one shard changes, through `embed.shard.write_manifest` (the real code path) over N units
   of D dimensions in shards of 200: the old path reads one .npy per unit (indexes without the `vector` column, as
   every index was before; `write_manifest` still takes that path for them), the new path one vector block per shard
   index. Both manifests must be byte-identical. Best of 3 (page cache warm for both).
2. Reload after +100 rows, through `db.load.load_manifest`: two datasets loaded with the same N rows, then each
   reloaded with N + 100 rows: the old full re-send (`full=True`: every row COPYed and diffed in SQL) vs the new diff
   (only new / changed rows sent). Seconds, rows sent, WAL bytes, and bytes the server's processes wrote (the load's
   backend plus checkpointer, background writer and WAL writer, after a CHECKPOINT: what reached the data dir).
3. HNSW build memory: per-row graph bytes measured from pgvector's "no longer fits" notice vs what
   `schema.hnsw_build_memory` grants per row, and the grant for ASL Citizen (83,399 x 1,202).

    .venv/bin/python bench/bench_incremental.py [--rows 10000] [--dim 1202] [--keep]
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from signsearch import atomic, manifest
from signsearch.db import load, schema, server
from signsearch.embed.shard import INDEX_SCHEMA, npy_bytes, write_manifest
from signsearch.layout import Layout

SHARD = 200
MODEL = "pose-baseline"
WRITERS = ("checkpointer", "background writer", "walwriter")


def write_shard(layout: Layout, shard: str, ids: list[str], vectors: np.ndarray) -> tuple[Path, Path]:
    """What an embed job writes (one .npy per unit, the index with its vector block), plus the same index without
    the vector column (the old format)."""
    rows = []
    for vid, vec in zip(ids, vectors):
        npy = layout.embedding_vector("bench", MODEL, shard, vid)
        atomic.write_bytes(npy, npy_bytes(vec))
        rows.append({"video_id": vid, "npy_path": str(npy), "status": "ok", "detail": None, "frames": 81,
                     "dim": vectors.shape[1], "fingerprint": "bench", "vector": vec})
    new = layout.embedding_index("bench", MODEL, shard)
    pq.write_table(pa.Table.from_pylist(rows, schema=INDEX_SCHEMA), new)
    old = new.with_name(f"{shard}.old.parquet")
    pq.write_table(pq.read_table(new).drop_columns(["vector"]), old)
    return old, new


def timed(fn) -> tuple[float, float]:
    """(wall s, CPU s) of the best of 3 calls."""
    best = (float("inf"), float("inf"))
    for _ in range(3):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    return best


def bench_manifest(tmp: Path, rng: np.random.Generator, n: int, dim: int) -> dict[str, float]:
    layout = Layout(tmp / "results")
    ids = [f"video-{i:06d}" for i in range(n)]
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    registry = tmp / "registry.parquet"
    pq.write_table(pa.table({"video_id": ids, "gloss": [f"G{i % 2731}" for i in range(n)],
                             "signer": [f"S{i % 52}" for i in range(n)], "split": ["train"] * n,
                             "pose_path": [f"poses/{v}.pose" for v in ids]}), registry)
    shards = [(f"s{s:05d}", slice(at, at + SHARD)) for s, at in enumerate(range(0, n, SHARD))]
    written = {name: write_shard(layout, name, ids[part], vectors[part]) for name, part in shards}
    # one shard re-embedded (its vectors changed), then the manifest rebuilt
    name, part = shards[0]
    written[name] = write_shard(layout, name, ids[part], -vectors[part])
    old_out, new_out = tmp / "manifest.old.parquet", tmp / "manifest.new.parquet"
    old = timed(lambda: write_manifest(registry, [o for o, _ in written.values()], old_out, "bench", MODEL))
    new = timed(lambda: write_manifest(registry, [w for _, w in written.values()], new_out, "bench", MODEL))
    assert old_out.read_bytes() == new_out.read_bytes(), "the two paths wrote different manifests"
    print(f"\n1. manifest rebuild after one of {len(shards)} shards changed ({n:,} x {dim}), best of 3:")
    print(f"   old (one np.load per unit, {n:,} files)   {old[0]:7.2f} s wall  {old[1]:7.2f} s CPU")
    print(f"   new (one vector block per shard, {len(shards)} files) {new[0]:7.2f} s wall  {new[1]:7.2f} s CPU")
    print(f"   ratio old/new: {old[0] / new[0]:.1f}x wall, {old[1] / new[1]:.1f}x CPU; manifests byte-identical")
    return {"old_s": old[0], "new_s": new[0], "old_cpu": old[1], "new_cpu": new[1]}


def server_writes(postmaster: psutil.Process, backend_pid: int) -> int:
    """Bytes written so far by the load's backend and the server's long-lived writers."""
    total = 0
    for proc in postmaster.children():
        try:
            if proc.pid == backend_pid or any(w in " ".join(proc.cmdline()) for w in WRITERS):
                total += proc.io_counters().write_bytes
        except psutil.NoSuchProcess:
            pass
    return total


def measured_load(url: str, postmaster: psutil.Process, path: Path, dataset: str, receipt: Path,
                  full: bool) -> dict[str, float]:
    with server.connect(url) as conn:
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        conn.execute("CHECKPOINT")
        wal0 = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        bytes0 = server_writes(postmaster, pid)
        start = time.perf_counter()
        result = load.load_manifest(conn, path, dataset={"name": dataset, "kind": "poses"},
                                    model={"name": MODEL, "metric": "cosine"}, receipt_path=receipt, full=full)
        seconds = time.perf_counter() - start
        conn.execute("CHECKPOINT")
        wal = conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", (wal0,)).fetchone()[0]
        written = server_writes(postmaster, pid) - bytes0
    return {"s": seconds, "sent": result["sent"], "inserted": result["inserted"], "wal": float(wal),
            "written": float(written), "rebuilt": result["index"]["rebuilt"]}


def bench_reload(tmp: Path, rng: np.random.Generator, n: int, dim: int) -> dict[str, dict[str, float]]:
    data_dir = tmp / "pgdata"
    url = server.start(data_dir)
    postmaster = psutil.Process(int((data_dir / "postmaster.pid").read_text().split()[0]))
    vectors = rng.standard_normal((n + 100, dim)).astype(np.float32)
    out: dict[str, dict[str, float]] = {}
    try:
        for dataset, full in (("old", True), ("new", False)):
            paths = {}
            for rows in (n, n + 100):
                ids = [f"{dataset}-{i:06d}" for i in range(rows)]
                meta = {"video_id": ids, "dataset": [dataset] * rows, "gloss": [f"G{i % 2731}" for i in range(rows)],
                        "signer": [f"S{i % 52}" for i in range(rows)], "split": ["train"] * rows,
                        "pose_path": [f"poses/{v}.pose" for v in ids], "frames": [81] * rows}
                paths[rows] = tmp / f"{dataset}-{rows}.parquet"
                manifest.write(manifest.build(meta, vectors[:rows], MODEL, "bench"), paths[rows])
            first = measured_load(url, postmaster, paths[n], dataset, tmp / f"{dataset}-1.json", full)
            out[dataset] = measured_load(url, postmaster, paths[n + 100], dataset, tmp / f"{dataset}-2.json", full)
            out[dataset]["first_s"] = first["s"]
        calibrated = hnsw_bytes_per_row(url, dim)
    finally:
        server.stop(data_dir)
    old, new = out["old"], out["new"]
    print(f"\n2. reload after +100 rows ({n:,} -> {n + 100:,} x {dim}; first loads {old['first_s']:.1f} / "
          f"{new['first_s']:.1f} s with the HNSW build):")
    print(f"   {'':28} {'seconds':>8} {'rows sent':>10} {'WAL MB':>8} {'written MB':>11}  index")
    for label, r in (("old: full re-send", old), ("new: only what changed", new)):
        print(f"   {label:28} {r['s']:8.2f} {r['sent']:10,.0f} {r['wal'] / 1e6:8.1f} {r['written'] / 1e6:11.1f}  "
              f"{'rebuilt' if r['rebuilt'] else 'kept'}")
    print(f"   ratio old/new: {old['s'] / new['s']:.1f}x seconds, {old['sent'] / max(new['sent'], 1):.0f}x rows, "
          f"{old['wal'] / new['wal']:.1f}x WAL, {old['written'] / max(new['written'], 1):.1f}x written")
    per_row = 4 * dim + schema.HNSW_ROW_OVERHEAD
    print(f"\n3. HNSW build memory: pgvector used {calibrated:,.0f} bytes per {dim}-d row (spill notice at 16 MB); "
          f"hnsw_build_memory grants {per_row * 1.25:,.0f} ({per_row:,} + 25%); "
          f"83,399 x 1,202 -> {schema.hnsw_build_memory(83_399, 1202) >> 20} MB (was a fixed 512 MB), "
          f"{n:,} x {dim} -> {schema.hnsw_build_memory(n, dim) >> 20} MB")
    return out


def hnsw_bytes_per_row(url: str, dim: int) -> float:
    """Graph bytes per row, from the tuple count at which a 16 MB build of 4,000 random rows stops fitting (rolled
    back)."""
    notices: list[str] = []
    with server.connect(url) as conn:
        conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        with conn.transaction(force_rollback=True), conn.cursor() as cur:
            conn.execute(f"CREATE TEMP TABLE calibrate (v vector({dim}))")
            with cur.copy("COPY calibrate (v) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["vector"])
                for vec in np.random.default_rng(0).standard_normal((4000, dim)).astype(np.float32):
                    copy.write_row((vec,))
            conn.execute("SET LOCAL maintenance_work_mem = '16MB'")
            conn.execute("CREATE INDEX ON calibrate USING hnsw (v vector_cosine_ops)")
    found = [int(m.group(1)) for n in notices if (m := re.search(r"after (\d+) tuples", n))]
    assert found, f"the 16 MB build never spilled: {notices}"
    return (16 << 20) / found[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=1202)
    parser.add_argument("--keep", action="store_true", help="keep the temporary tree")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="signsearch-bench-incremental-"))
    print(f"{args.rows:,} x {args.dim} float32, tree and server under {tmp}")
    rng = np.random.default_rng(15)
    try:
        bench_manifest(tmp, rng, args.rows, args.dim)
        bench_reload(tmp, rng, args.rows, args.dim)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
