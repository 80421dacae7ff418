"""/browse: a dataset's glosses with their counts (looked up by a part of the name), and one gloss's videos, each
playing and linking to a search with it. Read from the registry on disk: browsing needs no database."""

from __future__ import annotations

from typing import Any

import pandas as pd
from flask import Blueprint, render_template, request

from signsearch.web.site import current_site
from signsearch.web.views.media import media_of

bp = Blueprint("browse", __name__)

MAX_VIDEOS = 60  # cards on one gloss's page (each is a player)


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
        if gloss:
            rows = reg.loc[reg["gloss"].astype("string") == gloss]
            ctx["total"] = len(rows)
            ctx["videos"] = [{"video_id": str(r["video_id"]), "signer": _text(r.get("signer")),
                              "split": _text(r.get("split")), "media": media_of(dataset, str(r["video_id"]))}
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


def _text(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and value != value) else str(value)
