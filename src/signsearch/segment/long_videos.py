"""Long videos with known sign boundaries, built from a table of isolated clips (`signsearch concat`).

The clips of each group (a metadata column, or ``take``: the clip's file stem, e.g. ``0000`` for
``videos/crvena/0000.mp4``) are concatenated in table order as one real video (`concat.concat_videos`), so the
long videos go through the normal video -> pose -> segments path. Written to the output folder:

* ``<group_by><value>.mp4`` per group (``take0000.mp4``);
* ``metadata.csv``: video_id, path, signer (when one signer made every clip of the group): a `folder` dataset;
* ``truth.csv``: one row per clip, `evaluate.continuous.TRUTH_COLUMNS` (video_id of the long video, start_s,
  end_s, start_frame, end_frame (half-open), gloss, source_video_id (the clip's id, as its own dataset reads it),
  source_path, signer, group).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import av
import pandas as pd

from signsearch.atomic import write_text
from signsearch.datasets import ingest
from signsearch.datasets.ids import file_stem
from signsearch.errors import UserError
from signsearch.segment.concat import concat_videos

STEM_GROUP = "take"  # without a column of this name, the group is the clip's file stem


class LongVideoError(UserError, ValueError):
    """The clips cannot be grouped or concatenated (unknown column, unreadable clip)."""


def clip_table(metadata: str | Path, root: str | Path | None = None, group_by: str = STEM_GROUP) -> pd.DataFrame:
    """The clips of a metadata table as a `folder` dataset reads them (ids, resolved paths), in table order, with
    their `group`."""
    metadata = Path(metadata)
    if not metadata.is_file():
        raise LongVideoError(f"{metadata}: metadata table not found")
    cfg = {"kind": "folder", "path": str(root or metadata.parent), "metadata": str(metadata.resolve())}
    clips = ingest.read("concat", cfg)
    raw = ingest._read_table("concat", metadata.resolve())  # the table's own columns and order
    root_dir = Path(cfg["path"]).expanduser().resolve()
    resolved = [str((Path(p).expanduser() if Path(p).expanduser().is_absolute() else root_dir / p).resolve())
                for p in raw["path"].str.strip()]
    order = {path: i for i, path in enumerate(resolved)}
    clips = clips.assign(_order=clips["path"].map(order)).sort_values("_order", kind="stable").drop(columns="_order")
    if group_by in raw.columns:
        clips["group"] = clips["path"].map(dict(zip(resolved, raw[group_by].str.strip())))
    elif group_by == STEM_GROUP:
        clips["group"] = [Path(p).stem for p in clips["path"]]
    else:
        known = ", ".join(c for c in raw.columns if c != "_line")
        raise LongVideoError(f"{metadata}: no column '{group_by}' to group by (columns: {known}; or '{STEM_GROUP}')")
    return clips.reset_index(drop=True)


def build_long_videos(metadata: str | Path, out: str | Path, group_by: str = STEM_GROUP,
                      root: str | Path | None = None) -> pd.DataFrame:
    """Concatenate each group's clips into ``out/<group_by><value>.mp4``; write metadata.csv and truth.csv there
    (module docstring) and return the truth table."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    clips = clip_table(metadata, root, group_by)
    truth, videos = [], []
    for value, group in clips.groupby("group", sort=True):
        video_id = f"{group_by}{file_stem(str(value))}"
        target = out / f"{video_id}.mp4"
        # PyAV picks the container from the suffix, so the temporary file keeps .mp4 (renamed when complete).
        tmp = out / f".{video_id}.{secrets.token_hex(6)}.mp4"
        try:
            segments = concat_videos(list(group["path"]), list(group["gloss"].fillna("")), tmp)
            os.replace(tmp, target)
        except (av.error.FFmpegError, OSError) as exc:
            raise LongVideoError(f"group '{value}': cannot concatenate its clips ({exc})") from exc
        finally:
            tmp.unlink(missing_ok=True)
        signers = group["signer"].dropna().unique()
        videos.append({"video_id": video_id, "path": target.name, "signer": signers[0] if len(signers) == 1 else None})
        for seg, clip in zip(segments, group.itertuples(index=False), strict=True):
            truth.append({"video_id": video_id, "start_s": seg.start_s, "end_s": seg.end_s,
                          "start_frame": seg.start_frame, "end_frame": seg.end_frame, "gloss": clip.gloss,
                          "source_video_id": clip.video_id, "source_path": clip.path, "signer": clip.signer,
                          "group": value})
    table = pd.DataFrame(truth)
    write_text(out / "metadata.csv", pd.DataFrame(videos).to_csv(index=False, lineterminator="\n"))
    write_text(out / "truth.csv", table.to_csv(index=False, lineterminator="\n", float_format="%.6f"))
    return table
