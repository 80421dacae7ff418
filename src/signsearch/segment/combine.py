"""The model and the activity segmenter together: activity says where signing is, the model where one sign
ends and the next begins.

Each activity run is cut at the starts of the model's sign segments that fall inside it; pieces shorter than
`min_frames` are merged into their predecessor. A run with no model boundary inside stays whole (this is
where the model alone misses signs out of domain), and model segments outside every run (hands out of view or
still) are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence


def combine_ranges(model: Sequence[tuple[int, int]], runs: Sequence[tuple[int, int]], min_frames: int) -> list[tuple[int, int]]:
    """Half-open ranges: every activity run partitioned by the model's segment starts inside it."""
    out: list[tuple[int, int]] = []
    for s, e in runs:
        cuts = sorted({ms for ms, me in model if s + min_frames <= ms <= e - min_frames})
        pieces: list[tuple[int, int]] = []
        for a, b in zip([s, *cuts], [*cuts, e]):
            if pieces and b - a < min_frames:
                pieces[-1] = (pieces[-1][0], b)
            else:
                pieces.append((a, b))
        out.extend(pieces)
    return out
