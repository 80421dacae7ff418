"""Continuous-search evaluation: ranking, segment scores, timed hits and chance on constructed manifests; the
protocol's config, files and table; long videos with truth from clips (tiny generated videos); and real Croatian
material (poses of a take's clips back to back, segmented, embedded with the pose baseline)."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from signsearch import config as ss_config
from signsearch import manifest
from signsearch.cli import main
from signsearch.evaluate.continuous import (
    ContinuousError,
    active_protocols,
    continuous_table,
    evaluate_protocol,
    read_truth,
    run_protocol,
)
from signsearch.layout import Layout
from signsearch.segment.long_videos import LongVideoError, build_long_videos

FPS = 30.0
# Two long videos of two signs each (A then B), one per take; clips a0, b0 (take 0) and a1, b1 (take 1).
TRUTH_ROWS = [
    ("L0", 0, 30, "A", "a0", "s1"), ("L0", 30, 60, "B", "b0", "s1"),
    ("L1", 0, 30, "A", "a1", "s2"), ("L1", 30, 60, "B", "b1", "s2"),
]
A, B, C = np.eye(3, dtype=np.float32)


def write_truth(path: Path, rows=TRUTH_ROWS) -> Path:
    pd.DataFrame([{"video_id": v, "start_s": s / FPS, "end_s": e / FPS, "start_frame": s, "end_frame": e,
                   "gloss": g, "source_video_id": src, "source_path": f"/clips/{src}.mp4", "signer": who, "group": v}
                  for v, s, e, g, src, who in rows]).to_csv(path, index=False)
    return path


def segments_manifest(units: list[tuple[str, int, int, np.ndarray]]) -> manifest.Manifest:
    """Units (source video, start frame, end frame, vector) as the embed stage writes a segmented manifest."""
    n = len(units)
    index = {}
    ids = []
    for video, *_ in units:
        ids.append(f"{video}#{index.setdefault(video, 0):03d}")
        index[video] += 1
    rows = {"video_id": ids, "dataset": ["long"] * n, "gloss": [None] * n, "signer": [None] * n, "split": [None] * n,
            "pose_path": ["-"] * n, "frames": [e - s for _, s, e, _ in units],
            "source_video_id": [u[0] for u in units], "segment_index": [int(i[-3:]) for i in ids],
            "start_frame": [u[1] for u in units], "end_frame": [u[2] for u in units],
            "start_s": [u[1] / FPS for u in units], "end_s": [u[2] / FPS for u in units]}
    return manifest.Manifest(manifest.build(rows, np.stack([u[3] for u in units]), "m", "fp"))


def queries_manifest(queries: list[tuple[str, str | None, str, np.ndarray]]) -> manifest.Manifest:
    n = len(queries)
    rows = {"video_id": [q[0] for q in queries], "dataset": ["clips"] * n, "gloss": [q[1] for q in queries],
            "signer": [q[2] for q in queries], "split": [None] * n, "pose_path": ["-"] * n, "frames": [30] * n}
    return manifest.Manifest(manifest.build(rows, np.stack([q[3] for q in queries]), "m", "fp"))


QUERIES = [("a0", "A", "s1", A), ("b0", "B", "s1", B), ("a1", "A", "s2", A), ("b1", "B", "s2", B)]


def test_perfect_segments_and_search(tmp_path: Path):
    segs = segments_manifest([("L0", 0, 30, A), ("L0", 30, 60, B), ("L1", 0, 30, A), ("L1", 30, 60, B)])
    metrics, hits, videos = evaluate_protocol(segs, queries_manifest(QUERIES), read_truth(write_truth(tmp_path / "t.csv")))
    assert metrics["segments"] == {"true": 4, "predicted": 4, "matched": 4, "precision": 1.0, "recall": 1.0,
                                        "f1": 1.0, "overlapped": 4, "centred": 4}
    assert metrics["timed_hit"] == {c: {"1": 1.0, "5": 1.0, "10": 1.0} for c in ("iou", "centre")}
    # source_video: a0 searches only L1 (2 segments, 1 right): random order finds it first half of the time.
    assert metrics["chance"]["iou"] == {"1": 0.5, "5": 1.0, "10": 1.0}
    assert metrics["counts"]["evaluated_queries"] == 4 and metrics["counts"]["candidate_segments"] == 4
    a0 = hits.to_pandas().query("query_video_id == 'a0'")
    assert list(a0["unit_id"]) == ["L1#000", "L1#001"] and list(a0["hit_iou"]) == [True, False]
    assert list(videos["f1"]) == [1.0, 1.0]


def test_ranking_time_criteria_and_segment_scores(tmp_path: Path):
    truth = read_truth(write_truth(tmp_path / "t.csv"))
    # L1's sign A is found too short (IoU 15/30 = 0.5 exactly: a match) and B split in two (IoU 10/30, 20/30).
    segs = segments_manifest([("L0", 0, 30, A), ("L0", 30, 60, B),
                              ("L1", 0, 15, A), ("L1", 30, 40, B), ("L1", 40, 60, 0.9 * B + 0.1 * C)])
    metrics, hits, _ = evaluate_protocol(segs, queries_manifest(QUERIES), truth, metric="cosine")
    seg = metrics["segments"]
    assert (seg["predicted"], seg["true"], seg["matched"]) == (5, 4, 4)
    assert seg["precision"] == pytest.approx(0.8) and seg["recall"] == 1.0
    # b0 searches L1: (30, 40) comes first (exact B) but is no IoU hit and misses B's centre (45); (40, 60) is both.
    b0 = hits.to_pandas().query("query_video_id == 'b0'")
    assert list(b0["unit_id"][:2]) == ["L1#001", "L1#002"]
    assert list(b0["hit_iou"][:2]) == [False, True] and list(b0["hit_centre"][:2]) == [False, True]
    # a0 -> L1#000 (0, 15): IoU 0.5 is a hit, but the centre of (0, 30) is frame 15, outside [0, 15).
    assert metrics["timed_hit"]["iou"]["1"] == pytest.approx(3 / 4)
    assert metrics["timed_hit"]["centre"]["1"] == pytest.approx(2 / 4)
    assert metrics["timed_hit"]["iou"]["5"] == 1.0 and metrics["timed_hit"]["centre"]["5"] == pytest.approx(3 / 4)
    # Chance over L1's 3 candidates for a0 and b0 (one right each), L0's 2 for a1 and b1 (iou).
    assert metrics["chance"]["iou"]["1"] == pytest.approx((1 / 3 + 1 / 3 + 1 / 2 + 1 / 2) / 4)


def test_exclusion_modes_and_unscored_queries(tmp_path: Path):
    truth = read_truth(write_truth(tmp_path / "t.csv"))
    segs = segments_manifest([("L0", 0, 30, A), ("L0", 30, 60, B), ("L1", 0, 30, B), ("L1", 30, 60, A)])
    queries = queries_manifest([*QUERIES, ("x", None, "s1", A), ("c9", "C", "s3", C)])
    none, hits, _ = evaluate_protocol(segs, queries, truth, exclude="none")
    # Without exclusion a0 finds its own clip's range in L0 first.
    assert hits.to_pandas().query("query_video_id == 'a0'")["unit_id"].iloc[0] == "L0#000"
    assert none["counts"]["excluded: no gloss label"] == 1
    assert none["counts"]["excluded: sign not in any candidate video"] == 1 and none["counts"]["evaluated_queries"] == 4
    assert none["chance"]["iou"]["1"] == pytest.approx(0.5)  # 2 right (L0#000, L1#000 lie on A) among 4
    # L1's segments carry each other's vectors: by source video or signer, a0 searches L1 and finds B first.
    for exclude in ("source_video", "signer"):
        m, _, _ = evaluate_protocol(segs, queries, truth, exclude=exclude)
        assert m["timed_hit"]["iou"]["1"] == pytest.approx(0.5) and m["timed_hit"]["iou"]["5"] == 1.0


def test_inputs_that_do_not_fit(tmp_path: Path):
    truth = read_truth(write_truth(tmp_path / "t.csv"))
    whole = queries_manifest(QUERIES)
    with pytest.raises(ContinuousError, match="segment columns"):
        evaluate_protocol(whole, whole, truth)
    with pytest.raises(ContinuousError, match="dimensions"):
        evaluate_protocol(segments_manifest([("L0", 0, 30, np.ones(5, np.float32))]), whole, truth)
    (tmp_path / "bad.csv").write_text("video_id,gloss\nL0,A\n")
    with pytest.raises(ContinuousError, match="start_s"):
        read_truth(tmp_path / "bad.csv")
    # A long video without any segment counts its signs as missed.
    m, _, videos = evaluate_protocol(segments_manifest([("L0", 0, 30, A), ("L0", 30, 60, B)]), whole, truth)
    assert m["segments"]["recall"] == 0.5 and list(videos["predicted"]) == [2, 0]


def test_protocol_files_table_and_config(tmp_path: Path):
    layout = Layout(tmp_path / "results")
    segs = segments_manifest([("L0", 0, 30, A), ("L0", 30, 60, B), ("L1", 0, 30, A), ("L1", 30, 60, B)])
    manifest.write(segs.table, tmp_path / "segs.parquet")
    manifest.write(queries_manifest(QUERIES).table, tmp_path / "queries.parquet")
    outputs = layout.continuous_cell("long", "takes", "m")
    assert outputs["metrics"] == tmp_path / "results" / "continuous" / "long" / "takes" / "m" / "metrics.json"
    settings = {"dataset": "long", "truth": "t.csv", "queries": "clips", "exclude": "source_video"}
    run_protocol(protocol="takes", settings=settings, model="m", segments_manifest=tmp_path / "segs.parquet",
                 queries_manifest=tmp_path / "queries.parquet", truth_path=write_truth(tmp_path / "t.csv"),
                 metric="l2", outputs=outputs)
    saved = json.loads(outputs["metrics"].read_text())
    assert saved["protocol"] == "takes" and saved["timed_hit"]["centre"]["1"] == 1.0
    assert pq.read_table(outputs["hits"]).num_rows == 8 and outputs["videos"].is_file()
    table = continuous_table([outputs["metrics"]], layout.continuous_table("long"))
    assert layout.continuous_table("long") == tmp_path / "results" / "report" / "long" / "continuous.tsv"
    row = pd.read_csv(layout.continuous_table("long"), sep="\t").iloc[0]
    assert row["timed_hit_iou_at_5"] == 1.0 and row["timed_hit_iou_at_1_chance"] == 0.5 and row["segment_f1"] == 1.0
    assert list(table.columns[:3]) == ["protocol", "model", "queries"]
    assert [c for c in table.columns if c.startswith("timed_hit_iou")] == [
        "timed_hit_iou_at_1", "timed_hit_iou_at_1_chance", "timed_hit_iou_at_5", "timed_hit_iou_at_5_chance",
        "timed_hit_iou_at_10", "timed_hit_iou_at_10_chance"]

    base = {"datasets": {"long": {"kind": "folder", "path": str(tmp_path), "segmentation": "combined"},
                         "clips": {"kind": "folder", "path": str(tmp_path)}},
            "models": {"m": {"kind": "pose-baseline"}}}
    assert ss_config.validate(json.loads(json.dumps(base)))["evaluate"]["continuous"] == {}
    cfg = ss_config.validate(json.loads(json.dumps(base)) | {"evaluate": {"continuous": {"takes": {
        "dataset": "long", "truth": "t.csv", "queries": "clips"}}}})
    assert active_protocols(cfg, ["long", "clips"])["takes"]["exclude"] == "source_video"
    assert active_protocols(cfg, ["long"]) == {}
    with pytest.raises(ss_config.ConfigError, match="not segmented"):
        active_protocols(cfg | {"evaluate": {"continuous": {"p": {**cfg["evaluate"]["continuous"]["takes"], "dataset": "clips"}}}}, ["clips"])
    with pytest.raises(ss_config.ConfigError, match="not under datasets"):
        active_protocols(cfg | {"evaluate": {"continuous": {"p": {**cfg["evaluate"]["continuous"]["takes"], "queries": "nope"}}}}, [])
    with pytest.raises(ss_config.ConfigError, match="exclude"):
        ss_config.validate(json.loads(json.dumps(base)) | {"evaluate": {"continuous": {"p": {
            "dataset": "long", "truth": "t.csv", "queries": "clips", "exclude": "take"}}}})


def _clip(path: Path, frames: int, shade: int) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=Fraction(30))
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), shade, np.uint8), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def test_long_videos_with_truth_from_clips(tmp_path: Path, capsys):
    clips = tmp_path / "clips"
    rows = []
    for gloss, n in (("red", 5), ("blue", 7)):
        (clips / gloss).mkdir(parents=True)
        for take in ("0000", "0001"):
            _clip(clips / gloss / f"{take}.mp4", n + int(take), 40 * n)
            rows.append({"sample_id": f"{gloss}-{take}", "gloss": gloss, "signer": "s1", "path": f"{gloss}/{take}.mp4",
                         "session": f"day{take[-1]}"})
    pd.DataFrame(rows).to_csv(clips / "metadata.csv", index=False)

    truth = build_long_videos(clips / "metadata.csv", tmp_path / "long")
    assert sorted(truth["video_id"].unique()) == ["take0000", "take0001"]
    t1 = truth[truth["video_id"] == "take0001"]
    assert list(t1["gloss"]) == ["red", "blue"] and list(t1["source_video_id"]) == ["red-0001", "blue-0001"]
    assert list(zip(t1["start_frame"], t1["end_frame"])) == [(0, 6), (6, 14)]
    with av.open(str(tmp_path / "long" / "take0001.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == 14
    meta = pd.read_csv(tmp_path / "long" / "metadata.csv")
    assert list(meta["video_id"]) == ["take0000", "take0001"] and list(meta["path"]) == ["take0000.mp4", "take0001.mp4"]
    assert read_truth(tmp_path / "long" / "truth.csv").segments["take0001"][1].end_s == pytest.approx(14 / 30)

    assert main(["concat", "--metadata", str(clips / "metadata.csv"), "--group-by", "session", "--out", str(tmp_path / "s")]) == 0
    assert "2 videos, 4 signs" in capsys.readouterr().out
    assert (tmp_path / "s" / "sessionday0.mp4").is_file()
    with pytest.raises(LongVideoError, match="no column 'person'"):
        build_long_videos(clips / "metadata.csv", tmp_path / "x", group_by="person")


def test_croatian_takes_found_in_the_other_takes(testdata: Path, tmp_path: Path):
    """Package-level protocol on real poses: each take's nine clips back to back, segmented with the default
    (combined) method, embedded with the pose baseline; every clip queries the two other takes."""
    from pose_format import Pose

    from signsearch.embed.baseline import PoseBaselineEmbedder
    from signsearch.segment import segment_pose
    from signsearch.segment.concat import concat_poses
    from signsearch.segment.tagger import SignTagger

    croatian = testdata / "videos" / "croatian"
    model = testdata.parent / "models" / "sign-segmentation" / "model.pth"
    if not (croatian / "poses").is_dir() or not model.is_file():
        pytest.skip("Croatian poses or the sign segmentation model absent from the shared material")
    meta = pd.read_csv(croatian / "metadata.csv")
    meta["take"] = meta["path"].str.extract(r"/(\d{4})\.mp4$")[0]
    embedder, tagger = PoseBaselineEmbedder(), SignTagger(model, threads=1)
    units, truth_rows, queries = [], [], []
    for take, clips in meta.groupby("take"):
        poses = [Pose.read((croatian / p).read_bytes()) for p in clips["pose_path"]]
        queries += [(r.sample_id, r.gloss, r.signer, v) for r, v in zip(clips.itertuples(), embedder.embed_poses(poses))]
        joined, truth = concat_poses(poses, list(clips["gloss"]), list(clips["sample_id"]))
        video = f"take{take}"
        truth_rows += [(video, t.start_frame, t.end_frame, t.label, t.source, "one") for t in truth]
        result = segment_pose(joined, "combined", tagger=tagger)
        vectors = embedder.embed_poses([Pose(joined.header, joined.body[s.start_frame:s.end_frame]) for s in result.segments])
        units += [(video, s.start_frame, s.end_frame, v) for s, v in zip(result.segments, vectors)]
    metrics, _, _ = evaluate_protocol(segments_manifest(units), queries_manifest(queries), read_truth(write_truth(tmp_path / "t.csv", truth_rows)))
    th, ch, seg = metrics["timed_hit"], metrics["chance"], metrics["segments"]
    print(f"croatian, 3 takes x 9 signs, combined segmenter, pose-baseline, l2: segments P/R/F1 "
          f"{seg['precision']:.2f}/{seg['recall']:.2f}/{seg['f1']:.2f}; " + "; ".join(
              f"{c} @1/@5/@10 {th[c]['1']:.3f}/{th[c]['5']:.3f}/{th[c]['10']:.3f} (chance {ch[c]['1']:.3f}/{ch[c]['5']:.3f}/{ch[c]['10']:.3f})"
              for c in th))
    assert metrics["counts"]["evaluated_queries"] == 27
    assert th["iou"]["5"] >= 7 / 9 and th["centre"]["5"] >= 7 / 9
