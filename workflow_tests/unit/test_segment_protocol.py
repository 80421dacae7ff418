"""Continuous-search protocol: scores, timed hits and chance, pose and real-video concatenation, ELAN export."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from pose_format import Pose
from segment_poses import make_pose

from signsearch.segment.concat import TrueSegment, concat_poses, concat_videos
from signsearch.segment.elan import TIER, write_eaf
from signsearch.segment.quality import iou, score_segments, timed_hit_at_k, timed_hit_chance
from signsearch.segment.result import make_segments

TRUTH = {"v": [TrueSegment("A", "a", 0, 30, 0.0, 1.0), TrueSegment("B", "b", 30, 60, 1.0, 2.0)]}


def test_iou_and_segment_scores():
    assert iou((0, 10), (5, 15)) == pytest.approx(5 / 15)
    assert iou((0, 0), (0, 10)) == 0.0
    s = score_segments([(0, 9), (12, 14), (30, 60)], [(0, 10), (10, 30), (30, 60)])
    assert (s.matched, s.predicted, s.true, s.overlapped, s.centred) == (2, 3, 3, 3, 2)
    assert s.precision == pytest.approx(2 / 3) and s.f1 == pytest.approx(2 / 3)


def test_timed_hits_by_both_criteria_and_chance():
    queries = [("A", [("v", 1.0, 2.0), ("v", 0.0, 0.9)]), ("B", [("v", 1.4, 1.6)])]
    assert timed_hit_at_k(queries, TRUTH, ks=(1, 2), criterion="iou") == {1: 0.0, 2: 0.5}
    assert timed_hit_at_k(queries, TRUTH, ks=(1, 2), criterion="centre") == {1: 0.5, 2: 1.0}
    candidates = [("v", 0.0, 1.0), ("v", 1.0, 2.0), ("w", 0.0, 1.0), ("w", 1.0, 2.0)]
    assert timed_hit_chance(["A"], candidates, TRUTH, ks=(1, 4)) == {1: pytest.approx(0.25), 4: pytest.approx(1.0)}


def test_concat_poses_gives_boundaries_and_rejects_other_layouts():
    a, b = make_pose(20, [(5, 15)]), make_pose(30, [(0, 30)])
    joined, truth = concat_poses([a, b], ["A", "B"])
    assert len(joined.body.data) == 50
    assert [(t.label, t.start_frame, t.end_frame) for t in truth] == [("A", 0, 20), ("B", 20, 50)]
    assert truth[1].start_s == pytest.approx(20 / 30)
    other = make_pose(5)
    other.header.components = other.header.components[:2]
    with pytest.raises(ValueError):
        concat_poses([a, other], ["A", "X"])


def test_concat_real_croatian_videos(testdata: Path, tmp_path: Path):
    folder = testdata / "videos" / "croatian" / "videos"
    clips = [folder / "crvena" / "0000.mp4", folder / "plavo" / "0000.mp4"]
    out = tmp_path / "long.mp4"
    truth = concat_videos(clips, ["crvena", "plavo"], out)
    with av.open(str(out)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert [(t.start_frame, t.end_frame) for t in truth] == [(0, 91), (91, 134)]  # metadata.csv: 91 + 43 frames
    assert frames == 134 and truth[1].end_s == pytest.approx(134 / 30, abs=1e-3)


def test_croatian_pose_concatenation_equals_the_shared_one(testdata: Path):
    order = ["crvena", "plavo", "zuta", "zelena", "bijelo", "crn", "smede", "narancasta", "ljubicasta"]
    poses = [Pose.read((testdata / "videos" / "croatian" / "poses" / g / "0000.pose").read_bytes()) for g in order]
    joined, truth = concat_poses(poses, order)
    shared = Pose.read((testdata / "segmentation" / "croatian_concat_0000.pose").read_bytes())
    assert np.array_equal(np.ma.getdata(joined.body.data), np.ma.getdata(shared.body.data))
    assert [t.end_frame - 1 for t in truth] == [90, 133, 186, 250, 294, 354, 414, 473, 576]  # its README


def test_elan_round_trip(tmp_path: Path):
    import pympi

    segments = make_segments([(15, 30), (45, 90)], [0.9, 0.5], 30.0)
    video = tmp_path / "long.mp4"
    out = write_eaf(segments, tmp_path / "long.eaf", media=video)
    eaf = pympi.Elan.Eaf(str(out))
    assert list(eaf.get_tier_names()) == [TIER]
    assert [(s, e) for s, e, _ in sorted(eaf.get_annotation_data_for_tier(TIER))] == [(500, 1000), (1500, 3000)]
    assert sorted(eaf.get_annotation_data_for_tier(TIER))[0][2] == "SIGN 0.90"
    assert eaf.get_linked_files()[0]["MEDIA_URL"] == video.resolve().as_uri()
    bare = pympi.Elan.Eaf(str(write_eaf([], tmp_path / "empty.eaf")))
    assert bare.get_annotation_data_for_tier(TIER) == [] and bare.get_linked_files() == []
