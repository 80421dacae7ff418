"""DAG scale: `snakemake -n` on a synthetic ASL-Citizen-sized dataset (83,000 videos as empty files).

Prints the DAG build time, peak memory (max RSS of the snakemake process tree) and the planned job counts;
targets: under 60 s and under 4 GB, and about 83,000 / shard_size pose jobs (not 83,000).

    .venv/bin/python bench/bench_dag.py [--videos 83000] [--shard-size 200] [--profile profiles/slurm]
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def make_dataset(root: Path, videos: int, glosses: int = 2700, signers: int = 52) -> Path:
    """Empty video files plus an ASL-Citizen-like metadata table (the dry run never opens the videos)."""
    vids = root / "videos"
    vids.mkdir(parents=True)
    lines = ["video_id,path,gloss,signer,split"]
    for i in range(videos):
        name = f"{i:06d}-G{i % glosses:04d}.mp4"
        (vids / name).touch()
        split = "test" if i % 10 == 0 else "train"
        lines.append(f"{i:06d}-G{i % glosses:04d},videos/{name},G{i % glosses:04d},P{i % signers:02d},{split}")
    (root / "metadata.csv").write_text("\n".join(lines) + "\n")
    return root


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=83_000, help="number of videos (default 83000, ASL Citizen's size)")
    ap.add_argument("--shard-size", type=int, default=200, help="videos per shard (default 200)")
    ap.add_argument("--profile", help="also pass --profile (e.g. profiles/slurm) to plan for the cluster")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="signsearch-dag-") as tmp:
        tmp = Path(tmp)
        data = make_dataset(tmp / "data", args.videos)
        config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
        config["datasets"] = {"big": {"kind": "folder", "path": str(data), "metadata": "metadata.csv"}}
        config["shard_size"] = args.shard_size
        config["database"]["load"] = False
        (tmp / "config.yaml").write_text(yaml.safe_dump(config))
        work = tmp / "work"
        work.mkdir()
        for entry in ("Snakefile", "rules", "scripts", "envs", "report", "profiles", "config"):
            os.symlink(REPO / entry, work / entry)
        cmd = [sys.executable, "-m", "snakemake", "-n", "--quiet", "rules", "--configfile", str(tmp / "config.yaml")]
        if args.profile:
            cmd += ["--profile", str(REPO / args.profile)]
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n")
        return 1
    counts = collections.Counter()
    for line in (proc.stdout + proc.stderr).splitlines():
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if m and m.group(1) not in ("total", "job", "count"):
            counts[m.group(1)] = int(m.group(2))
    expected = -(-args.videos // args.shard_size)
    print(f"videos: {args.videos:,}  shard size: {args.shard_size}  profile: {args.profile or 'default'}")
    print(f"DAG build (snakemake -n): {seconds:6.1f} s   (target < 60 s)   -> {'OK' if seconds < 60 else 'MISSED'}")
    print(f"peak memory:              {peak_mb:6.0f} MB  (target < 4096 MB) -> {'OK' if peak_mb < 4096 else 'MISSED'}")
    print(f"pose jobs planned:        {counts.get('estimate_poses', 0):6d}     (expected {expected} = videos / shard size)")
    for rule, n in sorted(counts.items()):
        print(f"  {rule:20s} {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
