"""The make_subset job: a subset of a dataset's successfully posed videos, written as an id file.

A subset that cannot be built (even scaled down) is written with no ids and a ``# skipped:`` note; its cells
record ``skipped`` in metrics.json and stay out of the grid, so one impossible subset never stops the run.
"""

from __future__ import annotations

import os
from typing import Any

import pyarrow.parquet as pq

from signsearch.evaluate.subsets import Subset, SubsetError, make_subset, write_subset

SKIPPED = "skipped: "


def materialise_subset(
    registry: str | os.PathLike[str], poses: str | os.PathLike[str], spec: dict[str, Any], name: str,
    out: str | os.PathLike[str], *, scale_down: bool,
) -> str:
    """Write the subset's id file from the successfully posed videos; return the note (or the skip reason)."""
    reg = pq.read_table(registry).to_pandas()
    ok = pq.read_table(poses, columns=["video_id", "status"]).to_pandas()
    table = reg[reg["video_id"].isin(ok.loc[ok["status"] == "ok", "video_id"])]
    try:
        subset = make_subset(table, spec, name, scale_down=scale_down, base_dir=".")
    except SubsetError as exc:
        subset = Subset(name=name, video_ids=(), seed=spec.get("seed", 0), spec=spec, note=f"{SKIPPED}{exc}")
    write_subset(subset, out)
    return subset.note or f"subset '{name}': {len(subset.video_ids)} videos"
