"""The activity segmenter, the entry point's bad-input reasons, and idle trimming."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pose_format import Pose
from segment_poses import make_pose

from signsearch.segment.activity import ActivityParams, trim_range
from signsearch.segment.segmenter import NO_FRAMES, NO_HANDS, NO_POINTS, ONE_FRAME, segment_pose


def test_two_movements_with_a_rest_are_two_segments():
    pose = make_pose(120, [(20, 50), (70, 100)])
    result = segment_pose(pose, "activity", {"pad_s": 0.0})
    assert result.reason is None
    assert [(s.start_frame, s.end_frame) for s in result.segments] == [(20, 50), (70, 100)]
    first = result.segments[0]
    assert first.index == 0 and first.start_s == pytest.approx(20 / 30) and first.end_s == pytest.approx(50 / 30)
    assert 0 < first.confidence <= 1


def test_padding_stops_at_the_middle_of_a_rest():
    result = segment_pose(make_pose(120, [(20, 50), (70, 100)]), "activity", {"pad_s": 1.0})
    assert [(s.start_frame, s.end_frame) for s in result.segments] == [(0, 60), (60, 120)]


def test_short_dropout_is_bridged_and_short_blip_dropped():
    pose = make_pose(100, [(10, 40), (42, 70), (85, 88)])
    ranges = [(s.start_frame, s.end_frame) for s in segment_pose(pose, "activity", {"pad_s": 0.0}).segments]
    assert ranges == [(10, 70)]


def test_long_run_is_split_at_a_speed_minimum():
    pose = make_pose(200, [(10, 190)])
    data = pose.body.data
    data[95:105, 0, 522:543] = data[95, 0, 522:543]  # the hand holds still in the middle
    ranges = segment_pose(pose, "activity", {"pad_s": 0.0, "max_s": 3.0, "hold_s": 0.5}).segments
    assert len(ranges) == 2 and 90 <= ranges[0].end_frame <= 110


@pytest.mark.parametrize("method", ["activity", "combined", "model"])
@pytest.mark.parametrize(("pose", "reason"), [
    (make_pose(0), NO_FRAMES), (make_pose(1, [(0, 1)]), ONE_FRAME), (make_pose(50, [(10, 40)], hands=False), NO_HANDS),
])
def test_bad_input_gets_a_reason_not_a_crash(pose, reason, method):
    result = segment_pose(pose, method, tagger=object())  # never reached: checks come before the model
    assert result.segments == [] and result.reason == reason


def test_all_nan_pose_has_no_finite_points():
    pose = make_pose(30, [(5, 25)])
    pose.body.data = np.ma.masked_array(np.full(pose.body.data.shape, np.nan, np.float32), mask=False)
    result = segment_pose(pose, "activity")
    assert result.segments == [] and result.reason == NO_POINTS


def test_unknown_method_or_parameter_is_an_error():
    with pytest.raises(ValueError):
        segment_pose(make_pose(10), "magic")
    with pytest.raises(ValueError):
        segment_pose(make_pose(10, [(0, 10)]), "activity", {"speed": 1})


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 80), st.lists(st.tuples(st.integers(0, 80), st.integers(1, 30)), max_size=4), st.booleans())
def test_any_pose_gives_ordered_segments_inside_it_or_a_reason(frames, spans, nan_frame):
    pose = make_pose(frames, [(s, min(s + n, frames)) for s, n in spans if s < frames])
    if nan_frame and frames:
        pose.body.data[frames // 2] = np.nan
    result = segment_pose(pose, "activity")
    assert (result.reason is None) == bool(result.segments)
    for seg in result.segments:
        assert 0 <= seg.start_frame < seg.end_frame <= frames
    assert [s.index for s in result.segments] == list(range(len(result.segments)))
    assert all(a.end_frame <= b.start_frame for a, b in zip(result.segments, result.segments[1:]))


def test_trim_range_of_synthetic_clip():
    assert trim_range(make_pose(90, [(25, 60)])) == (25, 60)
    assert trim_range(make_pose(40, [(10, 30)], hands=False)) is None
    assert trim_range(make_pose(90, [(25, 60)]), ActivityParams(pad_s=0.2, max_s=0.0)) == (19, 66)


def test_trim_range_of_the_real_needs_trim_clip(testdata: Path):
    pose = Pose.read((testdata / "poses" / "pose-eval_colin-3-HOUSE-needs-trim.refined.pose").read_bytes())
    start, end = trim_range(pose)
    # The hands are in view only in frames 77-110 of 172; the model's sign segments lie in 79-107.
    assert 74 <= start <= 82 and 105 <= end <= 112
