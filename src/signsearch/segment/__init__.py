"""Sign segmentation of long videos (issue 10): where in a pose sequence each sign is.

`segment_pose` is the entry point (methods: model, activity, combined); `tagger` runs the sign segmentation
model, `decode` its BIO decoding, `activity` the hand-activity segmenter and the idle trim, `combine` the two
together, `elan` the .eaf export, `concat` and `quality` the continuous-search protocol. Measured in
docs/segmentation.md.
"""

from signsearch.segment.result import Segment, SegmentationResult
from signsearch.segment.segmenter import DEFAULT_METHOD, METHODS, segment_pose

__all__ = ["DEFAULT_METHOD", "METHODS", "Segment", "SegmentationResult", "segment_pose"]
