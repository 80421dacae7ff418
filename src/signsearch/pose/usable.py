"""Does a pose carry usable signing? One answer for the pose index and for queries.

A pose is refused when it has no frames, no finite detected point, or never a detected hand (a body-only or a
7-point pose cannot be told apart by its signs), and, for models that read MediaPipe Holistic points by name
(`needs_holistic`), when its header is not MediaPipe Holistic. Such poses used to be embedded anyway: an all-NaN
pose gave `distance nan`, a body-only one plausible-looking neighbours.
"""

from __future__ import annotations

from pose_format import Pose

from signsearch.embed.pose_arrays import HAND_POINTS, LEFT_HAND, RIGHT_HAND, component_slices, xyz_and_present
from signsearch.errors import UserError

# Stable reason codes, as the pose index records them (the first two as `signsearch.pose.probe` spells them).
NO_FRAMES = "no_frames"
NO_PERSON = "no_person"
NO_HANDS = "no_hands"
NOT_HOLISTIC = "not_holistic"

HOLISTIC_KINDS = frozenset({"signclip"})  # model kinds that select MediaPipe Holistic points by name


class UnusablePose(UserError, ValueError):
    """A pose with no usable signing; the message names the pose and says why."""

    def __init__(self, name: str, reason: str, detail: str) -> None:
        super().__init__(f"{name}: unusable pose ({reason}): {detail}")
        self.reason = reason
        self.detail = detail


def needs_holistic(kind: str) -> bool:
    return kind in HOLISTIC_KINDS


def unusable(pose: Pose, *, holistic: bool = False) -> tuple[str, str] | None:
    """(reason, detail) when `pose` carries no usable signing, else None."""
    frames = int(pose.body.data.shape[0]) if pose.body.data.ndim == 4 else 0
    if frames == 0 or pose.body.data.shape[1] == 0:
        return NO_FRAMES, "the pose has 0 frames"
    _, present = xyz_and_present(pose)
    if not present.any():
        return NO_PERSON, f"no finite, detected point in any of its {frames} frames"
    slices = component_slices(pose.header)
    hands = [slices[name] for name in (LEFT_HAND, RIGHT_HAND)
             if name in slices and slices[name].stop - slices[name].start == HAND_POINTS]
    if not hands:
        found = ", ".join(f"{c.name} ({len(c.points)})" for c in pose.header.components)
        return NO_HANDS, f"no 21-point hand component (components: {found}); a MediaPipe Holistic pose is needed"
    if not any(present[:, sl].any() for sl in hands):
        return NO_HANDS, f"no hand is detected in any of its {frames} frames"
    if holistic:
        from signsearch.embed.signclip.features import point_indices

        try:
            point_indices(pose.header)
        except ValueError as exc:
            return NOT_HOLISTIC, str(exc)
    return None


def check_usable(pose: Pose, name: str, *, holistic: bool = False) -> None:
    """Raise `UnusablePose` naming `name` when `pose` carries no usable signing."""
    problem = unusable(pose, holistic=holistic)
    if problem is not None:
        raise UnusablePose(name, *problem)
