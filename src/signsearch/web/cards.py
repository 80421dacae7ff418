"""Result cards of a search, explained: each result's player (a segment plays only its range, "00:12.4–00:13.1"),
whether it has the query's gloss, is the query itself or is a weak match, and what the distance is."""

from __future__ import annotations

from typing import Any

from signsearch.layout import Layout
from signsearch.media.fragments import time_range_label
from signsearch.web.distances import metric_name, typical_distance
from signsearch.web.views.media import media_of

SAME_VIDEO = 1e-6  # a distance this small: the query and the result are the same recording


def source_id(row: dict[str, Any]) -> str:
    """The registry id of a result's video (a segment's source video; the unit contract of issue 10)."""
    return str(row.get("source_video_id") or row.get("video_id"))


def result_cards(dataset: str, rows: list[dict[str, Any]], query: dict[str, Any],
                 typical: float | None, metric: str | None = None) -> list[dict[str, Any]]:
    """`rows` (db.query.knn dicts) with what a card shows: media, time range, same gloss, the query itself, weak.
    A distance of ~0 means the query itself under l2 and cosine, not under `ip` (minus a dot product)."""
    cards = []
    for row in rows:
        start, end = row.get("start_s"), row.get("end_s")
        distance = row.get("distance")
        cards.append({
            **row,
            "media": media_of(dataset, source_id(row), start, end),
            "time_range": time_range_label(start, end) if start is not None and end is not None else None,
            "same_gloss": bool(query.get("gloss")) and row.get("gloss") == query.get("gloss"),
            "is_query": (query.get("video_id") is not None and row.get("video_id") == query["video_id"])
                        or (metric != "ip" and distance is not None and abs(distance) <= SAME_VIDEO),
            "weak": typical is not None and distance is not None and distance > typical,
        })
    return cards


def explain(layout: Layout, dataset: str, model: str, metric: str | None) -> dict[str, Any]:
    """The distance's name and the dataset's typical distance between different signs (None when unknown)."""
    typical = typical_distance(layout.manifest(dataset, model), metric or "cosine") if metric else None
    return {"metric": metric_name(metric), "typical": typical}
