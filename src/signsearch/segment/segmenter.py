"""One entry point for every segmentation method, with the checks that turn bad input into a reason.

Methods (defaults measured in docs/segmentation.md):

* ``model``: the sign segmentation model's sign tags, decoded with `b_threshold` / `o_threshold`;
  confidence = mean P(B) + P(I) over the segment.
* ``activity``: the hand-activity segmenter (`activity.ActivityParams`); confidence = mean speed / `high`, capped.
* ``combined`` (the default): activity runs (not split by speed, `max_s` 0) cut at the model's segment starts,
  pieces shorter than `min_piece_s` merged (`combine.combine_ranges`); confidence from the model.

A pose with no frames, a single frame, no finite point or no hand in any frame gets no segments and a reason;
nothing here raises on bad pose data.
"""

from __future__ import annotations

from typing import Any

from pose_format import Pose

from signsearch.embed.pose_arrays import LEFT_HAND, RIGHT_HAND, component_slices, xyz_and_present
from signsearch.segment.activity import ActivityParams, activity, activity_ranges, range_confidence
from signsearch.segment.combine import combine_ranges
from signsearch.segment.decode import clean_ranges, decode_bio, inside_confidence
from signsearch.segment.result import SegmentationResult, make_segments
from signsearch.segment.tagger import COMPONENTS, SignTagger

METHODS = ("model", "activity", "combined")
DEFAULT_METHOD = "combined"
MODEL_DEFAULTS = {"b_threshold": 60.0, "o_threshold": 50.0}  # the original command's sign thresholds
# The model places the cuts inside activity runs, so the activity segmenter does not split them itself.
COMBINED_DEFAULTS = {"min_piece_s": 0.8, "max_s": 0.0}

NO_FRAMES = "no frames"
ONE_FRAME = "only one frame"
NO_POINTS = "no finite point in any frame"
NO_HANDS = "no hand seen in any frame"
NO_ACTIVITY = "no signing activity found"


def input_problem(pose: Pose) -> str | None:
    """Why `pose` cannot be segmented, or None."""
    data = pose.body.data
    if data.ndim != 4 or data.shape[0] == 0 or data.shape[1] == 0:
        return NO_FRAMES
    if data.shape[0] == 1:
        return ONE_FRAME
    _, present = xyz_and_present(pose)
    if not present.any():
        return NO_POINTS
    slices = component_slices(pose.header)
    hands = [slices[c] for c in (LEFT_HAND, RIGHT_HAND) if c in slices]
    if not hands or not any(present[:, sl].any() for sl in hands):
        return NO_HANDS
    return None


def _split_params(method: str, params: dict[str, Any] | None) -> tuple[dict[str, float], ActivityParams, float]:
    params = {**(COMBINED_DEFAULTS if method == "combined" else {}), **(params or {})}
    model = {k: float(params.pop(k, v)) for k, v in MODEL_DEFAULTS.items()}
    min_piece_s = float(params.pop("min_piece_s", COMBINED_DEFAULTS["min_piece_s"]))
    if method == "model" and params:
        raise ValueError(f"segmentation 'model': unknown parameter(s) {sorted(params)} (known: {', '.join(MODEL_DEFAULTS)})")
    return model, ActivityParams.from_dict(params), min_piece_s


def segment_pose(pose: Pose, method: str = DEFAULT_METHOD, params: dict[str, Any] | None = None,
                 tagger: SignTagger | None = None) -> SegmentationResult:
    """Sign segments of person 0 of `pose` (half-open frame ranges; see `result`)."""
    if method not in METHODS:
        raise ValueError(f"unknown segmentation method '{method}' (known: {', '.join(METHODS)})")
    if method != "activity" and tagger is None:
        raise ValueError(f"segmentation '{method}' needs the model (a SignTagger)")
    model_params, activity_params, min_piece_s = _split_params(method, params)
    fps = float(pose.body.fps or 0.0)
    frames = int(pose.body.data.shape[0]) if pose.body.data.ndim == 4 else 0
    problem = input_problem(pose)
    if problem is None and method != "activity" and not all(c in component_slices(pose.header) for c in COMPONENTS):
        problem = f"the model needs the components {', '.join(COMPONENTS)}"
    if problem is not None:
        return SegmentationResult([], problem, frames, fps)

    if method == "model":
        sign = tagger.tag(pose).sign
        ranges = clean_ranges(decode_bio(sign, **model_params), frames)
        confidences = [inside_confidence(sign, s, e) for s, e in ranges]
    else:
        act = activity(pose, activity_params.smooth_s)
        ranges = activity_ranges(act, activity_params)
        if method == "activity":
            confidences = [range_confidence(act, s, e, activity_params) for s, e in ranges]
        else:
            sign = tagger.tag(pose).sign
            model_ranges = clean_ranges(decode_bio(sign, **model_params), frames)
            ranges = combine_ranges(model_ranges, ranges, max(1, round(min_piece_s * act.fps)))
            confidences = [inside_confidence(sign, s, e) for s, e in ranges]
    if not ranges:
        return SegmentationResult([], "no sign found by the model" if method == "model" else NO_ACTIVITY, frames, fps)
    return SegmentationResult(make_segments(ranges, confidences, fps), None, frames, fps)
