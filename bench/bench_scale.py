"""ASL-Citizen scale, end to end: generate an ASL-Citizen-shaped `.pose` dataset, run the real workflow on it
with pose-baseline, add 100 videos and rerun; print per-stage wall, CPU, peak memory, files and bytes.

The dataset is SYNTHETIC (generated poses, body and hands only, no face: 75 points x 30-200 frames). Its shape
follows ASL Citizen (Desai et al. 2023): 83,399 videos, 2,731 glosses, 52 signers; splits by signer with the
paper's sizes: train 40,154 videos / 35 signers, val 10,304 / 6, test 32,941 / 11. With `--videos N` smaller,
the gloss count scales with it (about 30.5 videos per gloss, as ASL Citizen) unless `--glosses` is given.

    nice -n 19 .venv/bin/python bench/bench_scale.py --videos 2000 --out /work/scale
    nice -n 19 .venv/bin/python bench/bench_scale.py --sizes 2000,10000,30000 --out /work/scale   # + growth figure

Each size runs in <out>/run_<N>/ (workflow files linked from this repository, results/, benchmarks/, the
embedded database under <out>/run_<N>/pgdata). Per-job numbers come from the rules' `benchmark:` files
(Snakemake: wall s, cpu_time, max_rss); the plan stage (`snakemake -n`: config, registry sync, DAG) is timed
here. Results: <out>/scale_results.tsv, <out>/scale_results.json, <out>/scale_growth.png (several sizes).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import numpy.ma as ma
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from pose_format import Pose  # noqa: E402
from pose_format.numpy import NumPyPoseBody  # noqa: E402
from pose_format.pose_header import PoseHeader, PoseHeaderDimensions  # noqa: E402
from pose_format.utils.holistic import holistic_components  # noqa: E402

from signsearch.datasets import synthetic  # noqa: E402

ASL_CITIZEN = {"videos": 83_399, "glosses": 2_731, "signers": 52}
# (split, videos, signers) of ASL Citizen's official splits
SPLITS = [("train", 40_154, 35), ("val", 10_304, 6), ("test", 32_941, 11)]
KEEP = ["POSE_LANDMARKS", "LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS"]
DATASET = "aslc"
MODEL = "pose-baseline"
WORKFLOW_ENTRIES = ("Snakefile", "rules", "scripts", "envs", "report", "profiles")


# ---------------------------------------------------------------- dataset
def _header() -> tuple[PoseHeader, np.ndarray]:
    comps = holistic_components("XYZC")
    keep = [c for c in comps if c.name in KEEP]
    offsets, start = [], 0
    for c in comps:
        if c.name in KEEP:
            offsets.extend(range(start, start + len(c.points)))
        start += len(c.points)
    header = PoseHeader(version=0.2, dimensions=PoseHeaderDimensions(width=synthetic.WIDTH, height=synthetic.HEIGHT,
                        depth=synthetic.WIDTH), components=keep)
    return header, np.array(offsets)


def assignments(videos: int, glosses: int, seed: int) -> dict[str, np.ndarray]:
    """Gloss, signer, split and frame count of videos 0..videos-1; video i's values do not depend on `videos`
    (sequential draws of one stream), so a larger run extends a smaller one."""
    rng = np.random.default_rng([seed, 77])
    u = rng.random((videos, 5))
    shares = np.cumsum([v for _, v, _ in SPLITS]) / sum(v for _, v, _ in SPLITS)
    split = np.searchsorted(shares, u[:, 0], side="right").clip(0, len(SPLITS) - 1)
    first = np.cumsum([0] + [s for _, _, s in SPLITS])[:-1]
    sizes = np.array([s for _, _, s in SPLITS])
    signer = first[split] + np.floor(u[:, 1] * sizes[split]).astype(int)
    gloss = np.arange(videos) % glosses
    # ASL Citizen clips are ~1-6 s at 30 fps: log-normal around 75 frames, clipped to 30..200
    frames = np.clip(np.round(np.exp(np.log(75) + 0.4 * np.sqrt(2) * _erfinv(2 * u[:, 2] - 1))), 30, 200).astype(int)
    return {"gloss": gloss, "signer": signer, "split": split, "frames": frames, "u": u}


def _erfinv(x: np.ndarray) -> np.ndarray:
    # Winitzki's approximation (|error| < 2e-3): enough for a frame-count distribution, no scipy needed.
    a = 0.147
    ln = np.log(np.clip(1 - x * x, 1e-12, None))
    t = 2 / (np.pi * a) + ln / 2
    return np.sign(x) * np.sqrt(np.sqrt(t * t - ln / a) - t)


class Generator:
    """One template per gloss (synthetic.build_pose, body and hands), then per video a signer transform (scale,
    offset), a time resample to its frame count and landmark noise: vectorised numpy, ~1 ms per file."""

    def __init__(self, seed: int, signers: int):
        self.seed, self.signers = seed, signers
        self.header, self.points = _header()
        self.templates: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def template(self, g: int) -> tuple[np.ndarray, np.ndarray]:
        if g not in self.templates:
            pose = synthetic.build_pose(self.seed, g, g % self.signers, 0)
            data = np.asarray(pose.body.data.data[:, 0][:, self.points], np.float32)
            conf = np.asarray(pose.body.confidence[:, 0][:, self.points], np.float32)
            self.templates[g] = (data, conf)
        return self.templates[g]

    def pose_bytes(self, i: int, g: int, s: int, frames: int) -> bytes:
        data, conf = self.template(g)
        r = np.random.default_rng([self.seed, 9, i])
        sr = np.random.default_rng([self.seed, 10, s])  # the signer: size and place in the frame
        scale, dx, dy = sr.uniform(0.85, 1.15), sr.uniform(-40, 40), sr.uniform(-20, 20)
        idx = np.round(np.linspace(0, len(data) - 1, frames)).astype(int)
        d, c = data[idx].copy(), conf[idx].copy()
        centre = np.array([synthetic.WIDTH / 2, 300.0], np.float32)
        d[..., :2] = (d[..., :2] - centre) * scale + centre + np.array([dx, dy], np.float32)
        d += r.normal(0, 1.5, d.shape).astype(np.float32)
        d = np.where(c[..., None] > 0, d, 0.0).astype(np.float32)
        mask = np.repeat((c == 0)[:, None, :, None], 3, axis=-1)
        body = NumPyPoseBody(fps=synthetic.FPS, data=ma.masked_array(d[:, None], mask=mask), confidence=c[:, None])
        buf = io.BytesIO()
        Pose(self.header, body).write(buf)
        return buf.getvalue()


def make_dataset(root: Path, videos: int, glosses: int, seed: int = 0) -> dict[str, Any]:
    """Write root/poses/NNN/<id>.pose (only files that do not exist yet) and root/metadata.csv."""
    start = time.perf_counter()
    a = assignments(videos, glosses, seed)
    gen = Generator(seed, ASL_CITIZEN["signers"])
    root.mkdir(parents=True, exist_ok=True)
    written = bytes_ = 0
    rows = []
    for i in range(videos):
        vid = f"aslc-{i:06d}"
        rel = f"poses/{i // 1000:03d}/{vid}.pose"
        path = root / rel
        g, s = int(a["gloss"][i]), int(a["signer"][i])
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            blob = gen.pose_bytes(i, g, s, int(a["frames"][i]))
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_bytes(blob)
            os.replace(tmp, path)
            written += 1
            bytes_ += len(blob)
        rows.append((vid, rel, synthetic.gloss_name(g), f"signer-{s:02d}", SPLITS[int(a["split"][i])][0]))
    tmp = root / ".metadata.csv.tmp"
    with tmp.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["video_id", "path", "gloss", "signer", "split"])
        w.writerows(rows)
    os.replace(tmp, root / "metadata.csv")
    return {"videos": videos, "glosses": glosses, "files_written": written, "bytes_written": bytes_,
            "seconds": round(time.perf_counter() - start, 1), "frames_mean": float(a["frames"].mean())}


# ---------------------------------------------------------------- workflow
def write_config(work: Path, data: Path, glosses: int) -> None:
    (work / "config").mkdir(parents=True, exist_ok=True)
    for entry in WORKFLOW_ENTRIES:
        if not (work / entry).exists():
            os.symlink(REPO / entry, work / entry)
    names = [synthetic.gloss_name(g) for g in range(min(20, glosses))]
    (work / "config" / "glosses_20x5.txt").write_text("\n".join(names) + "\n")
    small = glosses < 500  # 400x10 draws from 500 candidate glosses
    config = {
        "datasets": {DATASET: {"kind": "poses", "path": str(data), "metadata": "metadata.csv", "shard_size": 200}},
        "shard_size": 200,
        "models": {MODEL: {"kind": "pose-baseline", "metric": "cosine", "batch_size": 256}},
        "database": {"data_dir": str(work / "pgdata"), "load": True},
        "evaluate": {
            "models": [MODEL], "k": 10, "metric": "l2", "backend": "memory", "scale_down": small,
            "subsets": {
                "20x5": {"kind": "gloss_list", "glosses_file": "config/glosses_20x5.txt", "per_gloss": 5, "seed": 0},
                "400x10": {"kind": "random", "candidates": 500, "glosses": 400, "per_gloss": 10, "seed": 0},
                "test": {"kind": "split", "split": "test"},
                "full": {"kind": "all"},
            },
        },
    }
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def snakemake(work: Path, *args: str, cores: int) -> dict[str, Any]:
    """Run snakemake in `work`; wall time and the largest max RSS of the process tree (via /usr/bin/time)."""
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"}
    env.pop("SIGNSEARCH_DB_URL", None)
    rss_file = work / ".maxrss"
    cmd = ["/usr/bin/time", "-f", "%M %U %S", "-o", str(rss_file), sys.executable, "-m", "snakemake",
           "--cores", str(cores), *args]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    (work / f".snakemake_{args[0].strip('-') if args else 'run'}.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"snakemake {' '.join(args)} failed in {work}:\n{proc.stderr[-5000:]}")
    rss_kb, user, system = rss_file.read_text().split()[-3:]
    return {"wall_s": wall, "main_rss_mb": int(rss_kb) / 1024, "main_cpu_s": float(user) + float(system)}


def stage_of(bench: Path, root: Path) -> str:
    parts = bench.relative_to(root).parts
    if parts[0] == "eval":
        return "make_subset" if parts[2] == "subsets" else f"evaluate:{bench.stem}"
    if parts[0] == "report":
        return "grid"
    kind = parts[1]
    return {"poses": "import_poses", "collect_poses.tsv": "collect_poses", "embeddings": "embed",
            "manifests": "manifest", "db": "load_database"}.get(kind, kind)


OUTPUTS = {  # stage -> result paths (relative to the work dir) it writes
    "import_poses": [f"results/{DATASET}/poses"],
    "collect_poses": [f"results/{DATASET}/poses.parquet", f"results/{DATASET}/failures.tsv"],
    "embed": [f"results/{DATASET}/embeddings"],
    "manifest": [f"results/{DATASET}/manifests"],
    "load_database": [f"results/{DATASET}/db", "pgdata"],
    "make_subset": [f"results/eval/{DATASET}/subsets"],
    "grid": [f"results/report/{DATASET}"],
}


def _files(work: Path, stage: str, since: float) -> tuple[int, int]:
    paths = OUTPUTS.get(stage) or ([f"results/eval/{DATASET}/{MODEL}/{stage.split(':')[1]}"] if ":" in stage else [])
    n = size = 0
    for rel in paths:
        p = work / rel
        for f in ([p] if p.is_file() else p.rglob("*") if p.is_dir() else []):
            if f.is_file() and f.stat().st_mtime >= since:
                n += 1
                size += f.stat().st_size
    return n, size


def job_table(work: Path, since: float) -> dict[str, dict[str, float]]:
    """Per stage: jobs, summed and largest wall, summed CPU, largest max RSS of the jobs that ran since `since`."""
    root = work / "benchmarks"
    stages: dict[str, dict[str, float]] = defaultdict(lambda: {"jobs": 0, "wall_s": 0.0, "max_job_wall_s": 0.0,
                                                               "cpu_s": 0.0, "max_rss_mb": 0.0})
    for bench in sorted(root.rglob("*.tsv")):
        if bench.stat().st_mtime < since:
            continue
        with bench.open() as fh:
            row = next(csv.DictReader(fh, delimiter="\t"))
        st = stages[stage_of(bench, root)]
        wall = float(row["s"])
        st["jobs"] += 1
        st["wall_s"] += wall
        st["max_job_wall_s"] = max(st["max_job_wall_s"], wall)
        st["cpu_s"] += float(row.get("cpu_time") or 0)
        rss = row.get("max_rss", "NA")
        st["max_rss_mb"] = max(st["max_rss_mb"], float(rss) if rss not in ("NA", "-", "") else 0.0)
    for name, st in stages.items():
        st["files"], st["bytes"] = _files(work, name, since)
    return dict(stages)


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def run_size(out: Path, videos: int, glosses: int, add: int, cores: int) -> dict[str, Any]:
    work = out / f"run_{videos}"
    data = work / "data"
    result: dict[str, Any] = {"videos": videos, "glosses": glosses, "added": add}
    result["generate"] = make_dataset(data, videos, glosses)
    write_config(work, data, glosses)
    since = time.time() - 1
    result["plan"] = snakemake(work, "-n", "--quiet", "rules", cores=cores)
    result["full"] = {**snakemake(work, cores=cores), "stages": job_table(work, since)}
    result["full"]["db_bytes"] = _du(work / "pgdata")
    result["full"]["dataset_bytes"] = _du(data / "poses")
    result["generate_added"] = make_dataset(data, videos + add, glosses)
    since = time.time() - 1
    result["rerun_plan"] = snakemake(work, "-n", "--quiet", "rules", cores=cores)
    result["rerun"] = {**snakemake(work, cores=cores), "stages": job_table(work, since)}
    result["rerun"]["db_bytes"] = _du(work / "pgdata")
    return result


# ---------------------------------------------------------------- report
def _mb(b: float) -> str:
    return f"{b / 1e6:.1f}"


def print_tables(r: dict[str, Any]) -> None:
    print(f"\n== {r['videos']} videos, {r['glosses']} glosses: generated in {r['generate']['seconds']} s "
          f"({r['generate']['files_written']} files, {_mb(r['generate']['bytes_written'])} MB; mean "
          f"{r['generate']['frames_mean']:.0f} frames)")
    full, rerun = r["full"]["stages"], r["rerun"]["stages"]
    print(f"plan (snakemake -n: registry sync + DAG): {r['plan']['wall_s']:.1f} s, max RSS {r['plan']['main_rss_mb']:.0f} MB")
    head = f"{'stage':<16}{'jobs':>6}{'wall s':>9}{'max job s':>10}{'CPU s':>9}{'peak MB':>9}{'files':>8}{'MB written':>11}"
    print(f"full run: {r['full']['wall_s']:.1f} s wall, snakemake tree max RSS {r['full']['main_rss_mb']:.0f} MB, "
          f"DB {_mb(r['full']['db_bytes'])} MB")
    print(head)
    for name, st in full.items():
        print(f"{name:<16}{st['jobs']:>6.0f}{st['wall_s']:>9.1f}{st['max_job_wall_s']:>10.1f}{st['cpu_s']:>9.1f}"
              f"{st['max_rss_mb']:>9.0f}{st['files']:>8}{_mb(st['bytes']):>11}")
    print(f"rerun after adding {r['added']} videos: {r['rerun']['wall_s']:.1f} s wall "
          f"({100 * r['rerun']['wall_s'] / r['full']['wall_s']:.0f}% of the full run), plan {r['rerun_plan']['wall_s']:.1f} s")
    print(f"{'stage':<16}{'jobs':>6}{'wall s':>9}{'full s':>9}{'% full':>8}{'CPU s':>9}{'peak MB':>9}{'files':>8}{'MB written':>11}")
    for name, st in rerun.items():
        f = full.get(name, {}).get("wall_s", 0.0)
        pct = f"{100 * st['wall_s'] / f:.0f}%" if f else "-"
        print(f"{name:<16}{st['jobs']:>6.0f}{st['wall_s']:>9.1f}{f:>9.1f}{pct:>8}{st['cpu_s']:>9.1f}"
              f"{st['max_rss_mb']:>9.0f}{st['files']:>8}{_mb(st['bytes']):>11}")


def write_results(out: Path, results: list[dict[str, Any]]) -> None:
    (out / "scale_results.json").write_text(json.dumps(results, indent=1))
    with (out / "scale_results.tsv").open("w") as fh:
        fh.write("videos\tphase\tstage\tjobs\twall_s\tmax_job_wall_s\tcpu_s\tmax_rss_mb\tfiles\tbytes\n")
        for r in results:
            for phase in ("full", "rerun"):
                p = r[phase]
                fh.write(f"{r['videos']}\t{phase}\ttotal\t\t{p['wall_s']:.2f}\t\t{p['main_cpu_s']:.2f}\t{p['main_rss_mb']:.0f}\t\t{p['db_bytes']}\n")
                for name, st in p["stages"].items():
                    fh.write(f"{r['videos']}\t{phase}\t{name}\t{st['jobs']:.0f}\t{st['wall_s']:.2f}\t{st['max_job_wall_s']:.2f}"
                             f"\t{st['cpu_s']:.2f}\t{st['max_rss_mb']:.0f}\t{st['files']}\t{st['bytes']}\n")
            fh.write(f"{r['videos']}\tfull\tplan\t\t{r['plan']['wall_s']:.2f}\t\t{r['plan']['main_cpu_s']:.2f}\t{r['plan']['main_rss_mb']:.0f}\t\t\n")


def growth_figure(out: Path, results: list[dict[str, Any]]) -> Path | None:
    if len(results) < 2:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["videos"] for r in results]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    stages = sorted({s for r in results for s in r["full"]["stages"]})
    for s in stages:
        # CPU time, not wall: on a shared machine wall time mostly measures the other processes
        ax1.plot(sizes, [r["full"]["stages"].get(s, {}).get("cpu_s", np.nan) for r in results], marker="o", label=s)
        ax2.plot(sizes, [r["full"]["stages"].get(s, {}).get("max_rss_mb", np.nan) for r in results], marker="o", label=s)
    ax1.plot(sizes, [sum(st["cpu_s"] for st in r["rerun"]["stages"].values()) for r in results], "k:", marker="^",
             label="rerun +100 videos, all jobs")
    for ax, ylabel in ((ax1, "summed job CPU time (s)"), (ax2, "peak memory of a job (MB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("videos")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
    ax1.legend(fontsize=7, ncol=2)
    fig.suptitle("signsearch, synthetic ASL-Citizen-shaped dataset, pose-baseline, 2 cores")
    fig.tight_layout()
    path = out / "scale_growth.png"
    fig.savefig(path, dpi=110)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=ASL_CITIZEN["videos"], help="videos (default 83399, ASL Citizen)")
    ap.add_argument("--sizes", help="comma-separated sizes to run one after the other (overrides --videos)")
    ap.add_argument("--glosses", type=int, help="glosses (default: 2731 scaled to the size, at least 20)")
    ap.add_argument("--add", type=int, default=100, help="videos added before the rerun (default 100)")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("/work/scale"), help="work directory (outside the repository)")
    ap.add_argument("--keep", action="store_true", help="keep an existing run_<N> directory (default: start afresh)")
    args = ap.parse_args()
    out = args.out.resolve()
    if out == REPO or REPO in out.parents:
        raise SystemExit("--out must be outside the repository")
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [args.videos]
    results = json.loads((out / "scale_results.json").read_text()) if (out / "scale_results.json").exists() else []
    for n in sizes:
        glosses = args.glosses or max(20, round(ASL_CITIZEN["glosses"] * n / ASL_CITIZEN["videos"]))
        work = out / f"run_{n}"
        if work.exists() and not args.keep:
            shutil.rmtree(work)
        r = run_size(out, n, glosses, args.add, args.cores)
        print_tables(r)
        results = [x for x in results if x["videos"] != n] + [r]
        results.sort(key=lambda x: x["videos"])
        write_results(out, results)
    fig = growth_figure(out, results)
    print(f"\nresults: {out / 'scale_results.tsv'}, {out / 'scale_results.json'}" + (f", figure {fig}" if fig else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
