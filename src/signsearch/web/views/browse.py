"""/browse: a dataset's glosses with their counts (looked up by a part of the name), and one gloss's videos, each
playing and linking to a search with it. Read from the registry on disk: browsing needs no database.

On a segmented dataset the database holds the signs (units ``<video id>#NNN``), not the source videos: each card
links to a search with each of its signs, by its time range (segments.parquet), and the videos without a gloss
(the long recordings such a dataset is made of) are listed too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
from flask import Blueprint, render_template, request

from signsearch.media.fragments import time_range_label
from signsearch.web.site import current_site
from signsearch.web.views.media import media_of

bp = Blueprint("browse", __name__)

MAX_VIDEOS = 60  # cards on one gloss's page (each is a player)
UNGLOSSED = "(no gloss)"  # the `gloss` argument listing the videos without one


@bp.route("/browse")
def page() -> str:
    backend = current_site().backend
    datasets = backend.layout.registered_datasets()
    dataset = request.args.get("dataset") if request.args.get("dataset") in datasets else next(iter(datasets), None)
    lookup = request.args.get("q", "").strip()
    gloss = request.args.get("gloss", "").strip()
    ctx: dict[str, Any] = {"datasets": datasets, "dataset": dataset, "lookup": lookup, "gloss": gloss,
                           "glosses": [], "unglossed": 0, "videos": None, "total": 0, "page": "browse"}
    reg = backend.registry(dataset) if dataset else None
    if reg is not None and "gloss" in reg:
        ctx["glosses"], ctx["unglossed"] = gloss_counts(reg, lookup)
        units = segment_units(backend.layout.segments(dataset))
        ctx["segmented"], ctx["no_gloss"] = units is not None, UNGLOSSED
        if gloss:
            rows = reg.loc[reg["gloss"].isna() if gloss == UNGLOSSED else reg["gloss"].astype("string") == gloss]
            ctx["total"] = len(rows)
            ctx["videos"] = [{"video_id": str(r["video_id"]), "signer": _text(r.get("signer")),
                              "split": _text(r.get("split")), "media": media_of(dataset, str(r["video_id"])),
                              "units": None if units is None else units.get(str(r["video_id"]), [])}
                             for _, r in rows.head(MAX_VIDEOS).iterrows()]
    return render_template("browse.html", **ctx)


def gloss_counts(registry: pd.DataFrame, lookup: str = "") -> tuple[list[dict[str, Any]], int]:
    """Each gloss whose name contains `lookup` (any case) with its number of videos and signers, by name; and how
    many videos have no gloss (long recordings of a segmented dataset, usually)."""
    glossed = registry.loc[registry["gloss"].notna()].assign(gloss=lambda t: t["gloss"].astype(str))
    if lookup:
        glossed = glossed.loc[glossed["gloss"].str.casefold().str.contains(lookup.casefold(), regex=False)]
    signers = glossed["signer"] if "signer" in glossed else pd.Series([None] * len(glossed), index=glossed.index)
    table = glossed.assign(signer=signers).groupby("gloss").agg(videos=("video_id", "size"),
                                                                signers=("signer", "nunique"))
    rows = [{"gloss": str(g), "videos": int(r.videos), "signers": int(r.signers)} for g, r in table.iterrows()]
    return sorted(rows, key=lambda r: r["gloss"].casefold()), int(registry["gloss"].isna().sum())


def segment_units(path: Path) -> dict[str, list[dict[str, Any]]] | None:
    """Per source video, its searchable units (unit_id, start_s, end_s, label "00:01.2–00:02.5"), in order, from a
    segmented dataset's segments.parquet; None when the dataset is not segmented (no segment table, or a trimmed
    one: each unit id is its video's id, so searching by the video id already works)."""
    if not path.is_file():
        return None
    table = pq.read_table(path, columns=["video_id", "unit_id", "segment_index", "start_s", "end_s", "status"])
    seg = table.to_pandas()
    if (seg["unit_id"] == seg["video_id"]).all():  # trimmed: every row (even a `none` one) is its video
        return None
    seg = seg.loc[(seg["status"] == "ok") & seg["unit_id"].notna()]
    units: dict[str, list[dict[str, Any]]] = {}
    for r in seg.sort_values(["video_id", "segment_index"], kind="stable").itertuples(index=False):
        timed = pd.notna(r.start_s) and pd.notna(r.end_s)
        units.setdefault(str(r.video_id), []).append(
            {"unit_id": str(r.unit_id), "label": time_range_label(r.start_s, r.end_s) if timed else str(r.unit_id)})
    return units


def _text(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and value != value) else str(value)
