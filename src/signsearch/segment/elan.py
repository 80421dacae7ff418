"""One video's segments as an ELAN annotation file (.eaf), written with pympi-ling."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from signsearch.segment.result import Segment

TIER = "SIGN"


def write_eaf(segments: Sequence[Segment], out: str | Path, media: str | Path | None = None, label: str = "SIGN") -> Path:
    """Write `segments` as annotations of tier SIGN (milliseconds from their seconds; the value is `label` and
    the confidence) to `out`, linking `media` (a video path) when given."""
    import pympi

    eaf = pympi.Elan.Eaf(author="signsearch")
    eaf.add_tier(TIER)
    if "default" in eaf.tiers:
        eaf.remove_tier("default")
    if media is not None:
        path = Path(media).resolve()
        mime = pympi.Elan.Eaf.MIMES.get(path.suffix.lstrip(".").lower(), "video/*")
        eaf.add_linked_file(path.as_uri(), relpath=path.name, mimetype=mime)
    for seg in segments:
        start, end = round(seg.start_s * 1000), round(seg.end_s * 1000)
        if end > start:
            eaf.add_annotation(TIER, start, end, f"{label} {seg.confidence:.2f}")
    out = Path(out)
    eaf.to_file(str(out))
    return out
