"""Video ids are free text (they come from users' tables); file names derived from them must be safe."""

from __future__ import annotations

import hashlib
import re
from pathlib import PurePosixPath

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def file_stem(video_id: str) -> str:
    """A file-system-safe, collision-free stem: the id itself when safe, else a cleaned prefix + hash."""
    safe = _UNSAFE.sub("_", video_id).lstrip(".")
    if safe == video_id and 0 < len(safe) <= 120:
        return safe
    digest = hashlib.sha1(video_id.encode("utf-8")).hexdigest()[:10]
    return f"{safe[:80]}-{digest}"


def id_from_relative_path(relative: str) -> str:
    """Derive a video id from a path relative to the dataset root: 'a/b/clip.mp4' -> 'a/b/clip'."""
    p = PurePosixPath(relative.replace("\\", "/"))
    return str(p.with_suffix("")) if p.suffix else str(p)
