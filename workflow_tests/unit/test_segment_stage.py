"""The segmentation stage wired into the workflow's data: shard tables, units in embeddings and manifests, the
missing-model line, and the CLI's time format (issue 10's unit contract)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.ma as ma
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pose_format import Pose
from pose_format.numpy import NumPyPoseBody
from segment_poses import make_pose

from signsearch import manifest
from signsearch.cli import _print_results, clock, time_range
from signsearch.embed.shard import INDEX_SCHEMA, embed_shard, write_manifest
from signsearch.embed.spec import model_spec
from signsearch.errors import UserError
from signsearch.layout import Layout
from signsearch.pose.index import describe_pose, write_index
from signsearch.segment.shard import (
    SEGMENT_SCHEMA,
    check_model,
    collect_segments,
    read_units,
    segment_shard,
    video_segments,
    video_units,
)

# The manifest schema of whole-video datasets before issue 10: `segmentation: none` must keep exactly this.
OLD_MANIFEST_COLUMNS = ["video_id", "dataset", "gloss", "signer", "split", "pose_path", "frames", "embedding", "model",
                        "model_fingerprint"]


def _assert_same_as_from_npy_files(registry: Path, emb: Path, out: Path) -> None:
    """The manifest built from the index's vector column is byte-identical to the one built from the per-unit .npy
    files (an index without the vector column: how every manifest was built before)."""
    legacy = out.with_name("legacy_index.parquet")
    pq.write_table(pq.read_table(emb).drop_columns(["vector"]), legacy)
    from_npy = out.with_name("from_npy.parquet")
    write_manifest(registry, [legacy], from_npy, dataset="d", model="pose-baseline")
    assert from_npy.read_bytes() == out.read_bytes()


def _nan_pose() -> Pose:
    pose = make_pose(60, [(10, 50)])
    data = np.asarray(pose.body.data).copy()
    data[:] = np.nan
    return Pose(pose.header, NumPyPoseBody(fps=30.0, data=ma.masked_array(data, mask=False),
                                           confidence=np.ones(data.shape[:3], np.float32)))


def _shard(tmp: Path, poses: dict[str, Pose]) -> Path:
    """A pose index of `poses` written as .pose files (every row `ok`, as if the pose stage accepted them)."""
    rows = []
    for vid, pose in poses.items():
        path = tmp / f"{vid}.pose"
        with open(path, "wb") as fh:
            pose.write(fh)
        rows.append({**describe_pose(vid, str(path)), "status": "ok", "reason": None})
    index = tmp / "poses.parquet"
    write_index(rows, index)
    return index


@pytest.fixture
def shard(tmp_path: Path) -> Path:
    return _shard(tmp_path, {
        "long": make_pose(200, [(20, 60), (100, 150)]),  # two signs with a rest between
        "nohands": make_pose(60, [(10, 50)], hands=False),
        "oneframe": make_pose(1, [(0, 1)]),
        "zeroframes": make_pose(0),
        "nans": _nan_pose(),
    })


def test_bad_poses_get_a_reason_and_good_ones_units(shard: Path, tmp_path: Path) -> None:
    out = tmp_path / "segments.parquet"
    summary = segment_shard(shard, out, method="activity")
    table = pq.read_table(out)
    assert table.schema.equals(SEGMENT_SCHEMA)
    rows = table.to_pylist()
    good = [r for r in rows if r["video_id"] == "long"]
    assert [r["unit_id"] for r in good] == ["long#000", "long#001"] and all(r["status"] == "ok" for r in good)
    assert [r["segment_index"] for r in good] == [0, 1]
    assert good[0]["start_frame"] < 20 < 60 <= good[0]["end_frame"] <= good[1]["start_frame"]
    assert good[1]["start_s"] == pytest.approx(good[1]["start_frame"] / 30.0)
    bad = {r["video_id"]: r for r in rows if r["video_id"] != "long"}
    assert set(bad) == {"nohands", "oneframe", "zeroframes", "nans"}
    for r in bad.values():
        assert r["status"] == "none" and r["reason"] and r["unit_id"] is None, r
    assert bad["nohands"]["reason"] == "no hand seen in any frame"
    assert bad["oneframe"]["reason"] == "only one frame" and bad["zeroframes"]["reason"] == "no frames"
    assert summary["units"] == 2 and summary["without"] == 4


def test_trim_keeps_one_unit_per_clip(tmp_path: Path) -> None:
    index = _shard(tmp_path, {"clip": make_pose(90, [(30, 70)]), "still": make_pose(40, [], hands=True)})
    out = tmp_path / "trim.parquet"
    segment_shard(index, out, method="none", trim=True)
    rows = {r["video_id"]: r for r in pq.read_table(out).to_pylist()}
    clip = rows["clip"]
    assert clip["unit_id"] == "clip" and clip["segment_index"] is None and clip["status"] == "ok"
    assert 25 <= clip["start_frame"] <= 32 and 68 <= clip["end_frame"] <= 72
    still = rows["still"]  # nothing found: the whole clip stays the unit, with the reason
    assert still["status"] == "none" and (still["start_frame"], still["end_frame"]) == (0, 40) and still["reason"]
    assert {u["unit_id"] for u in read_units(out)} == {"clip", "still"}  # both are embedded
    layout = Layout(tmp_path / "results")
    collect_segments([out], layout.segments("d"))
    units, _ = video_units(layout, "d", "clip")
    assert [unit for unit, _ in units] == ["clip"]  # `signsearch segments` lists the searchable id, not clip#000


def test_units_are_embedded_sliced_and_carried_into_the_manifest(shard: Path, tmp_path: Path) -> None:
    segments = tmp_path / "segments.parquet"
    segment_shard(shard, segments, method="activity")
    spec = model_spec("pose-baseline", {"kind": "pose-baseline"})
    layout = Layout(tmp_path / "results")
    emb = tmp_path / "emb.parquet"
    embed_shard(shard, emb, spec, dataset="d", shard="s00000", layout=layout, segments=segments)
    index = pq.read_table(emb).to_pandas()
    ok = index[index["status"] == "ok"]
    assert list(ok["video_id"]) == ["long#000", "long#001"]
    assert list(ok["frames"]) == list(ok["end_frame"] - ok["start_frame"])
    assert all(Path(p).is_file() for p in ok["npy_path"])

    registry = tmp_path / "registry.parquet"
    ids = ["long", "nohands", "oneframe", "zeroframes", "nans"]
    pq.write_table(pa.table({"video_id": ids, "gloss": [None] * 5, "signer": ["S"] * 5, "split": ["train"] * 5,
                             "pose_path": [str(tmp_path / f"{v}.pose") for v in ids]}), registry)
    out = tmp_path / "manifest.parquet"
    assert write_manifest(registry, [emb], out, dataset="d", model="pose-baseline") == 2
    m = manifest.read(out)
    assert m.table.schema.names == OLD_MANIFEST_COLUMNS + list(manifest.UNIT_COLUMNS)
    assert m.has_units and m.column("source_video_id") == ["long", "long"] and m.column("segment_index") == [0, 1]
    assert m.column("pose_path") == [str(tmp_path / "long.pose")] * 2
    assert m.table.schema.field("start_s").type == pa.float64() and m.table.schema.field("end_frame").type == pa.int32()
    np.testing.assert_array_equal(m.vectors, np.stack([np.load(p) for p in ok["npy_path"]]))
    _assert_same_as_from_npy_files(registry, emb, out)


def test_whole_video_datasets_keep_the_old_manifest_and_index(shard: Path, tmp_path: Path) -> None:
    spec = model_spec("pose-baseline", {"kind": "pose-baseline"})
    emb = tmp_path / "emb.parquet"
    embed_shard(shard, emb, spec, dataset="d", shard="s00000", layout=Layout(tmp_path / "results"))
    assert pq.read_table(emb).schema.equals(INDEX_SCHEMA)
    registry = tmp_path / "registry.parquet"
    pq.write_table(pa.table({"video_id": ["long"], "gloss": ["G"], "signer": ["S"], "split": ["train"],
                             "pose_path": [str(tmp_path / "long.pose")]}), registry)
    out = tmp_path / "manifest.parquet"
    write_manifest(registry, [emb], out, dataset="d", model="pose-baseline")
    m = manifest.read(out)
    assert m.table.schema.names == OLD_MANIFEST_COLUMNS and not m.has_units
    _assert_same_as_from_npy_files(registry, emb, out)
    assert m.table.schema.equals(manifest.schema(m.dim).with_metadata(m.table.schema.metadata))
    assert set(m.table.schema.metadata) == {b"signsearch.manifest", b"dim", b"model", b"model_fingerprint"}


def test_missing_model_is_one_line_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model.pth"
    with pytest.raises(UserError) as exc:
        check_model({"long": {"segmentation": "combined"}, "clips": {"segmentation": "none"}}, {"model": str(missing)})
    assert str(missing) in str(exc.value) and "long" in str(exc.value) and "\n" not in str(exc.value)
    check_model({"a": {"segmentation": "activity"}, "b": {"segmentation": "none", "trim": True}}, {"model": str(missing)})


def test_segments_of_a_video_from_the_dataset_table(shard: Path, tmp_path: Path) -> None:
    layout = Layout(tmp_path / "results")
    part = tmp_path / "s.parquet"
    segment_shard(shard, part, method="activity")
    assert collect_segments([part], layout.segments("d")) == 6
    segments, reason = video_segments(layout, "d", "long")
    assert [s.index for s in segments] == [0, 1] and reason is None
    assert video_segments(layout, "d", "nohands") == ([], "no hand seen in any frame")
    with pytest.raises(UserError, match="not in the segment table"):
        video_segments(layout, "d", "other")


def test_search_prints_times_only_for_units(capsys: pytest.CaptureFixture[str]) -> None:
    assert clock(12.44) == "00:12.4" and clock(73.06) == "01:13.1" and clock(3725.0) == "1:02:05.0"
    assert time_range({"start_s": 12.4, "end_s": 13.1}) == "00:12.4-00:13.1" and time_range({"start_s": None}) == "-"
    whole = {"rank": 1, "video_id": "v1", "gloss": "HOUSE", "signer": "s", "distance": 0.1, "path": "a.mp4",
             "source_video_id": None, "start_s": None, "end_s": None, "start_frame": None, "end_frame": None}
    _print_results([whole], False)
    assert capsys.readouterr().out.splitlines()[0].split() == ["rank", "video_id", "gloss", "signer", "distance", "path"]
    unit = {**whole, "video_id": "take0001#004", "gloss": None, "source_video_id": "take0001", "start_s": 12.4,
            "end_s": 13.1, "start_frame": 372, "end_frame": 393}
    _print_results([unit], False)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["rank", "video_id", "time"] and "take0001#004  00:12.4-00:13.1" in lines[1]


def test_config_defaults_and_errors_name_the_key() -> None:
    from signsearch import config

    cfg = config.validate({"datasets": {"a": {"kind": "synthetic"}}, "models": {"p": {"kind": "pose-baseline"}}})
    assert (cfg["datasets"]["a"]["segmentation"], cfg["datasets"]["a"]["trim"]) == ("none", False)
    assert cfg["segmentation"] == {"model": "models/sign-segmentation/model.pth", "threads": 1, "params": {}}
    for bad, where in (({"datasets": {"a": {"kind": "synthetic", "segmentation": "bogus"}}}, "datasets/a/segmentation"),
                       ({"segmentation": {"params": {"hgih": 1}}}, "segmentation/params")):
        entry = {"datasets": {"a": {"kind": "synthetic"}}, "models": {"p": {"kind": "pose-baseline"}}, **bad}
        with pytest.raises(config.ConfigError, match=where):
            config.validate(entry)
