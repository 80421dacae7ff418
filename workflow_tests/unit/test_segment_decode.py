"""BIO decoding: the original's rules on hand-made tag sequences, clean ranges, and properties on any input."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from signsearch.segment.decode import clean_ranges, decode_bio, inside_confidence


def logp(rows: list[tuple[float, float, float]]) -> np.ndarray:
    """Log-probabilities from (O, B, I) percent rows."""
    return np.log(np.maximum(np.array(rows, np.float64) / 100, 1e-9)).astype(np.float32)


O_, B_, I_ = (90, 5, 5), (5, 90, 5), (5, 5, 90)


def test_b_starts_and_o_ends_a_segment():
    seq = logp([O_, B_, I_, I_, O_, O_, B_, I_, B_, I_, O_])
    assert decode_bio(seq, 60, 50) == [(1, 3), (6, 7), (8, 9)]
    assert clean_ranges(decode_bio(seq, 60, 50), len(seq)) == [(1, 4), (6, 8), (8, 10)]


def test_open_segment_ends_at_frames_quirk_and_clean_clips_it():
    seq = logp([O_, B_, I_, I_])
    assert decode_bio(seq, 60, 50) == [(1, 4)]  # the original's `end = frames`
    assert clean_ranges([(1, 4)], 4) == [(1, 4)]


def test_without_b_above_threshold_inside_runs_are_used():
    seq = logp([O_, I_, I_, O_, I_])
    assert decode_bio(seq, 95, 50) == [(1, 2), (4, 4)]


def test_b_must_fall_before_a_segment_can_end():
    # B stays high for 3 frames: one segment, not three.
    seq = logp([B_, B_, B_, I_, O_])
    assert decode_bio(seq, 60, 50) == [(0, 3)]


def test_confidence_is_mean_inside_probability():
    seq = logp([O_, B_, I_])
    assert abs(inside_confidence(seq, 1, 3) - 0.95) < 1e-6
    assert inside_confidence(seq, 2, 2) == 0.0


@settings(max_examples=200, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(0, 60), st.just(3)), elements=st.floats(-20, 0, width=32)),
       st.integers(1, 99), st.integers(1, 99))
def test_decoded_ranges_are_ordered_disjoint_and_inside(lp, b, o):
    ranges = clean_ranges(decode_bio(lp, b, o), len(lp))
    for start, end in ranges:
        assert 0 <= start < end <= len(lp)
    assert all(a[1] <= c[0] for a, c in zip(ranges, ranges[1:]))
