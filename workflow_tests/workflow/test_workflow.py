"""The workflow itself: the demo end to end, lint, and incremental reruns counted job by job."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from signsearch import manifest
from signsearch.datasets import synthetic
from workflow_utils import REPO, demo_config, job_counts, make_workdir, snakemake, stop_database

pytestmark = pytest.mark.slow


def test_lint_reports_nothing() -> None:
    proc = snakemake(REPO, "--lint", check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, text
    assert "Lints for rule" not in text and "Lints for snakefile" not in text, text


def _pose_dataset(root: Path, rows: list[dict]) -> None:
    """A `poses` dataset: synthetic .pose files plus a metadata table (the sharding logic is the same as for videos)."""
    root.mkdir(parents=True, exist_ok=True)
    lines = ["video_id,path,gloss,signer,split"]
    for row in rows:
        out = root / f"{row['video_id']}.pose"
        if not out.exists():
            synthetic.generate_one(row, out)
        lines.append(f"{row['video_id']},{out.name},{row['gloss']},{row['signer']},{row['split']}")
    (root / "metadata.csv").write_text("\n".join(lines) + "\n")


def _config(data: Path) -> dict:
    config = demo_config()
    config["datasets"] = {"inc": {"kind": "poses", "path": str(data), "metadata": "metadata.csv", "shard_size": 10}}
    config["database"]["data_dir"] = "results/database/pgdata"
    config["evaluate"]["subsets"] = {"full": {"kind": "all"}, "test": {"kind": "split", "split": "test"}}
    return config


def _mtimes(paths: list[Path]) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in paths}


def test_adding_and_removing_videos_reruns_only_what_they_need(tmp_path: Path) -> None:
    all_rows = synthetic.rows_for(glosses=10, signers=4, takes=2, seed=3)
    first = [r for r in all_rows if r["take"] == 0]  # 40 videos
    added = [r for r in all_rows if r["take"] == 1][:5]
    data = tmp_path / "data"
    _pose_dataset(data, first)
    work = make_workdir(tmp_path / "work", _config(data))
    try:
        run1 = job_counts(snakemake(work))
        assert run1["import_poses"] == 4 and run1["embed"] == 4, run1
        old_outputs = sorted((work / "results/inc").glob("poses/*.parquet")) + sorted(
            (work / "results/inc/embeddings").rglob("*.npy")
        )
        before = _mtimes(old_outputs)

        _pose_dataset(data, first + added)
        plan = job_counts(snakemake(work, "-n"))
        run2 = job_counts(snakemake(work))
        assert plan == run2
        # only the new shard is posed and embedded; the aggregates rerun
        assert run2["import_poses"] == 1 and run2["embed"] == 1, run2
        assert run2["manifest"] == 1 and run2["load_database"] == 1 and run2["grid"] == 1, run2
        assert _mtimes(old_outputs) == before, "outputs of existing shards were rewritten"
        receipt = json.loads((work / "results/inc/db/pose-baseline.json").read_text())
        assert receipt["rows"] == 45 and receipt["inserted"] == 5 and receipt["unchanged"] == 40, receipt
        assert receipt["sent"] == 5, receipt  # only the new rows went to the database

        # removal: the row and the file go; the next run drops the video from the manifest, database and results
        gone = first[7]["video_id"]
        (data / f"{gone}.pose").unlink()
        _pose_dataset(data, [r for r in first + added if r["video_id"] != gone])
        run3 = job_counts(snakemake(work))
        assert run3["import_poses"] == 1 and run3["embed"] == 1, run3
        receipt = json.loads((work / "results/inc/db/pose-baseline.json").read_text())
        assert receipt["rows"] == 44 and receipt["deleted"] == 1 and receipt["sent"] == 0, receipt
        vids = manifest.read(work / "results/inc/manifests/pose-baseline.parquet").column("video_id")
        assert gone not in vids and len(vids) == 44
        neighbours = pd.read_parquet(work / "results/eval/inc/pose-baseline/full/neighbours.parquet")
        assert gone not in set(neighbours.iloc[:, 0]) | set(neighbours.iloc[:, 2])
        from signsearch.db import query, server

        with server.connect(server.resolve_url(work / "results/database/pgdata", start=False)) as conn:
            with pytest.raises(Exception, match="unknown video|not found|no video"):
                query.get_embedding(conn, "inc", "pose-baseline", gone)
        assert job_counts(snakemake(work, "-n")) == {}, "a rerun with nothing new must plan nothing"
    finally:
        stop_database(work, "results/database/pgdata")


def test_demo_end_to_end(demo_run: Path) -> None:
    work = demo_run
    snakemake(work, "--report", "results/report/report.html")
    grid = pd.read_csv(work / "results/report/demo/grid.tsv", sep="\t")
    assert set(grid["subset"]) == {"20x5", "400x10", "test", "full"}
    for figure in ("grid_heatmap.png", "metric_bars.png", "top_confusions.png"):
        assert (work / "results/report/demo" / figure).stat().st_size > 1000
    report = (work / "results/report/report.html").read_text(errors="replace")
    assert len(report) > 10_000 and "grid_heatmap.png" in report and "skipped.tsv" in report
    assert (work / "results/report/demo/skipped.tsv").read_text() == "dataset\tmodel\tsubset\treason\n"  # none
    failures = pd.read_csv(work / "results/demo/failures.tsv", sep="\t")
    assert list(failures.columns) == ["video", "reason", "detail"] and failures.empty
    assert json.loads((work / "results/demo/dataset.json").read_text())["synthetic"] is True


def test_broken_videos_are_recorded_and_the_run_goes_on(tmp_path: Path, testdata: Path) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    good = sorted((testdata / "videos" / "croatian" / "videos").rglob("*.mp4"))[:3]
    for clip in good:
        (videos / f"{clip.parent.name}-{clip.name}").write_bytes(clip.read_bytes())
    (videos / "empty.mp4").write_bytes(b"")
    (videos / "notes.mp4").write_text("this is a text file, not a video\n")
    config = demo_config()
    config["datasets"] = {"clips": {"kind": "folder", "path": str(videos)}}
    config["evaluate"]["subsets"] = {}
    config["database"]["load"] = False
    work = make_workdir(tmp_path / "work", config)
    proc = snakemake(work)
    failures = pd.read_csv(work / "results/clips/failures.tsv", sep="\t").set_index("video")
    assert sorted(failures.index) == ["empty", "notes"]
    assert set(failures["reason"]) == {"unreadable"}
    assert "5 videos, 3 posed, 2 failed" in proc.stdout + proc.stderr
    assert len(manifest.read(work / "results/clips/manifests/pose-baseline.parquet").column("video_id")) == 3
