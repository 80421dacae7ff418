"""Atomic file writes: a reader (or a rerun after SIGKILL) sees the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success it is fsynced and renamed over `target`.

    The temporary file lives in the same directory so the final rename never crosses file systems. It is created
    with mode 0666 filtered by the umask (and default ACLs), as `open()` would: `mkstemp`'s 0600 would leave
    results unreadable to the group on a shared cluster.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp_path = target.parent / f".{target.name}.{secrets.token_hex(6)}.part"
        try:
            os.close(os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:  # another writer's temporary file of the same name: draw again
            continue
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_bytes(target: str | os.PathLike[str], data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text(target: str | os.PathLike[str], text: str) -> None:
    write_bytes(target, text.encode("utf-8"))


def write_json(target: str | os.PathLike[str], obj: Any) -> None:
    write_text(target, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def write_if_changed(target: str | os.PathLike[str], data: bytes) -> bool:
    """Write only when the content differs, so Snakemake sees no new mtime for unchanged inputs."""
    target = Path(target)
    if target.exists() and target.read_bytes() == data:
        return False
    write_bytes(target, data)
    return True
