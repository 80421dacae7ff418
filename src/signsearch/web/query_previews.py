"""Recent uploads: kept so the page can show the query beside its results and search with it again (another
result count, filters, the next page) without choosing the file again.

An upload is copied under a random token into a private temporary folder and transcoded there to a small preview
(signsearch.media.preview, 240 rows) in a thread while it is posed; only the newest `KEEP` are kept, and the
folder goes when the process ends. A token is all a page needs: `kept(token)` gives the file back.
"""

from __future__ import annotations

import atexit
import re
import secrets
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from signsearch.media.preview import PREVIEW_SUFFIX, make_preview

KEEP = 32
MAX_HEIGHT = 240
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
_lock = threading.Lock()
_folder: Path | None = None
_kept: dict[str, Upload] = {}


def _root() -> Path:
    global _folder
    with _lock:
        if _folder is None:
            _folder = Path(tempfile.mkdtemp(prefix="signsearch-uploads-"))
            atexit.register(shutil.rmtree, _folder, True)
        return _folder


@dataclass
class Upload:
    token: str
    path: Path  # the kept copy of the uploaded file
    name: str  # the file's own name, as messages call it
    label: str  # "clip.mp4 (0.3 MB, 1.9 s)"
    _thread: threading.Thread | None = field(default=None, repr=False)

    def preview(self) -> Path | None:
        """The preview file, once made (waits for the thread); None for a .pose file or a failed preview."""
        if self._thread is not None:
            self._thread.join()
        return path_of(self.token)


def keep(src: Path, name: str, label: str) -> Upload:
    """Keep a copy of the checked upload `src` and start its preview (not for .pose files)."""
    token = secrets.token_hex(16)
    copy = _root() / f"{token}.upload{src.suffix.lower()}"
    shutil.copyfile(src, copy)
    upload = Upload(token, copy, name, label)
    if src.suffix.lower() != ".pose":
        upload._thread = threading.Thread(target=_make_preview, args=(copy, token), daemon=True)
        upload._thread.start()
    root = _root()  # before taking the lock: _root takes it too
    with _lock:
        _kept[token] = upload
        for old in list(_kept)[:-KEEP]:  # dicts keep insertion order: the oldest first
            gone = _kept.pop(old)
            gone.path.unlink(missing_ok=True)
            (root / f"{old}{PREVIEW_SUFFIX}").unlink(missing_ok=True)
    return upload


def kept(token: str) -> Upload | None:
    """A kept upload by its token (None for anything else, or one already dropped)."""
    if not _TOKEN.match(token or ""):
        return None
    with _lock:
        upload = _kept.get(token)
    return upload if upload is not None and upload.path.is_file() else None


def _make_preview(video: Path, token: str) -> None:
    try:
        make_preview(video, _root() / f"{token}{PREVIEW_SUFFIX}", max_height=MAX_HEIGHT)
    except Exception:  # noqa: BLE001 - no preview is no reason to fail the search: the page says so
        pass


def path_of(token: str) -> Path | None:
    """The preview file of a token; None for anything that is not a token of a kept preview."""
    if not _TOKEN.match(token or ""):
        return None
    path = _root() / f"{token}{PREVIEW_SUFFIX}"
    return path if path.is_file() else None
