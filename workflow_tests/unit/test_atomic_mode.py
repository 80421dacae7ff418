"""Atomic writes honour the umask (a cluster group must be able to read the results)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from signsearch import atomic


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)], ids=["022", "002", "077"])
def test_outputs_get_the_umask_mode(tmp_path: Path, umask: int, mode: int) -> None:
    old = os.umask(umask)
    try:
        atomic.write_text(tmp_path / "a.txt", "x")
        atomic.write_json(tmp_path / "sub" / "b.json", {"k": 1})
        with atomic.atomic_path(tmp_path / "c.parquet") as tmp:  # a library writing to the temporary path
            pq.write_table(pa.table({"x": [1]}), tmp)
    finally:
        os.umask(old)
    for name in ("a.txt", "sub/b.json", "c.parquet"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name
    assert [p.name for p in tmp_path.rglob(".*")] == []  # no temporary file left behind
