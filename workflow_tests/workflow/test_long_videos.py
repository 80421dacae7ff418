"""Continuous signing end to end (issue 10): real long videos, built at test time from the shared Croatian clips,
go video -> poses -> segments (the default segmenter) -> embeddings -> database, and `signsearch search --video`
with a clip of another take answers with the right sign and its time in the long video."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from signsearch.segment import DEFAULT_METHOD
from signsearch.segment.concat import concat_videos
from signsearch.segment.quality import score_segments, timed_hit_at_k, timed_hit_chance
from workflow_utils import demo_config, make_workdir, snakemake, stop_database

pytestmark = pytest.mark.slow

# The order of docs/segmentation.md; takes 0000 and 0002 become long videos, take 0001 asks.
ORDER = ["crvena", "plavo", "zuta", "zelena", "bijelo", "crn", "smede", "narancasta", "ljubicasta"]
LONG_TAKES, QUERY_TAKE = ("0000", "0002"), "0001"


def _cli(work: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "signsearch.cli", *args], cwd=work, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def long_run(testdata: Path, tmp_path_factory: pytest.TempPathFactory):
    croatian = testdata / "videos" / "croatian"
    model = testdata.parent / "models" / "sign-segmentation" / "model.pth"
    if not (croatian / "metadata.csv").is_file():
        pytest.skip(f"Croatian clips absent: {croatian}")
    if not model.is_file():
        pytest.skip(f"segmentation model absent: {model}")
    clips = pd.read_csv(croatian / "metadata.csv").set_index("sample_id")
    folder = tmp_path_factory.mktemp("long-videos")
    truth = {}
    for take in LONG_TAKES:
        paths = [croatian / clips.loc[f"hr-{gloss}-{take}", "path"] for gloss in ORDER]
        truth[f"take{take}"] = concat_videos(paths, ORDER, folder / f"take{take}.mp4")
    # A long video has no gloss: its signs are what the segmenter finds.
    (folder / "metadata.csv").write_text("video_id,path\n" + "".join(f"take{t},take{t}.mp4\n" for t in LONG_TAKES))
    config = demo_config()
    config["datasets"] = {"long": {"kind": "folder", "path": str(folder), "metadata": "metadata.csv",
                                   "segmentation": DEFAULT_METHOD}}
    config["segmentation"] = {"model": str(model)}
    config["models"] = {"pose-baseline": config["models"]["pose-baseline"]}
    config["evaluate"]["subsets"] = {}
    work = make_workdir(tmp_path_factory.mktemp("long-run"), config)
    started = time.perf_counter()
    snakemake(work, timeout=3600)
    seconds = time.perf_counter() - started
    poses = pd.read_csv(work / "benchmarks/long/poses/s00000.tsv", sep="\t")["s"].sum()
    segment = pd.read_csv(work / "benchmarks/long/segments/s00000.tsv", sep="\t")["s"].sum()
    print(f"\nworkflow {seconds:.0f} s (pose job {poses:.0f} s, segment job {segment:.1f} s) for "
          f"{sum(t[-1].end_frame for t in truth.values())} frames")
    yield work, truth, croatian, clips
    stop_database(work, config["database"]["data_dir"])


def test_long_videos_are_cut_into_their_signs(long_run) -> None:
    work, truth, _, _ = long_run
    table = pd.read_parquet(work / "results/long/segments.parquet")
    assert set(table["status"]) == {"ok"}
    total = None
    for video, true in truth.items():
        found = table[table["video_id"] == video].sort_values("segment_index")
        assert list(found["unit_id"]) == [f"{video}#{i:03d}" for i in range(len(found))]
        scores = score_segments(list(zip(found["start_s"], found["end_s"])), [(t.start_s, t.end_s) for t in true])
        print(f"{video}: {scores.predicted} segments, P/R/F1 {scores.precision:.2f}/{scores.recall:.2f}/"
              f"{scores.f1:.2f}, {scores.overlapped}/9 overlapped, {scores.centred}/9 centre in")
        total = scores if total is None else total + scores
    assert total.overlapped == 18 and total.f1 >= 0.8, total
    manifest = pd.read_parquet(work / "results/long/manifests/pose-baseline.parquet")
    assert list(manifest.columns[-6:]) == ["source_video_id", "segment_index", "start_frame", "end_frame",
                                           "start_s", "end_s"]
    assert len(manifest) == len(table) and manifest["gloss"].isna().all()


def test_search_with_another_take_finds_the_sign_and_its_time(long_run) -> None:
    work, truth, croatian, clips = long_run
    queries, hits = [], 0
    for gloss in ORDER:
        clip = croatian / clips.loc[f"hr-{gloss}-{QUERY_TAKE}", "path"]  # a real video, posed on the fly
        proc = _cli(work, "search", "--dataset", "long", "--model", "pose-baseline", "--video", str(clip), "-k", "10",
                    "--json")
        assert proc.returncode == 0, proc.stderr
        rows = json.loads(proc.stdout)
        ranked = [(r["source_video_id"], r["start_s"], r["end_s"]) for r in rows]
        queries.append((gloss, ranked))
        # The acceptance criterion: a top-5 unit lies in a long video where this sign is, overlapping it in time.
        found = [r for r in rows[:5] if any(t.label == gloss and r["start_s"] < t.end_s and t.start_s < r["end_s"]
                                            for t in truth[r["source_video_id"]])]
        hits += bool(found)
        print(f"{gloss}: {'hit at rank ' + str(found[0]['rank']) if found else 'miss'}")
    units = pd.read_parquet(work / "results/long/segments.parquet")
    candidates = list(zip(units["video_id"], units["start_s"], units["end_s"]))
    for criterion in ("iou", "centre"):
        at = timed_hit_at_k(queries, truth, criterion=criterion)
        chance = timed_hit_chance(ORDER, candidates, truth, criterion=criterion)
        print(f"timed-hit ({criterion}) @1/@5/@10: " + " / ".join(f"{at[k]:.2f} (chance {chance[k]:.2f})" for k in at))
    print(f"overlapping hits in the top 5: {hits}/9")
    assert hits >= 7

    # The table a user reads: times of each segment in its source video.
    clip = croatian / clips.loc[f"hr-zelena-{QUERY_TAKE}", "path"]
    text = _cli(work, "search", "--dataset", "long", "--model", "pose-baseline", "--video", str(clip), "-k", "3")
    assert text.returncode == 0 and " time " in text.stdout.splitlines()[0], text.stdout + text.stderr
    print(text.stdout)


def test_units_by_id_and_the_segments_command(long_run, tmp_path: Path) -> None:
    work, truth, _, _ = long_run
    by_id = _cli(work, "search", "--dataset", "long", "--model", "pose-baseline", "--id", "take0000#003", "-k", "3",
                 "--json")
    assert by_id.returncode == 0, by_id.stderr
    rows = json.loads(by_id.stdout)
    assert rows and "take0000#003" not in [r["video_id"] for r in rows]
    assert all(r["path"].endswith(f"{r['source_video_id']}.mp4") and r["end_s"] > r["start_s"] for r in rows)

    listing = _cli(work, "segments", "take0000", "--dataset", "long")
    assert listing.returncode == 0 and "take0000#000" in listing.stdout, listing.stderr
    eaf = tmp_path / "take0000.eaf"
    written = _cli(work, "segments", "take0000", "--dataset", "long", "--elan", str(eaf))
    assert written.returncode == 0, written.stderr
    import pympi

    annotations = pympi.Elan.Eaf(str(eaf)).get_annotation_data_for_tier("SIGN")
    assert len(annotations) == len(listing.stdout.splitlines()) - 1 >= 8
