"""/media/preview, /media/video and /media/pose.json: a registry row's preview, video file or pose (no other file
is ever served)."""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, Response, abort, jsonify, request, send_file, url_for

from signsearch.media.fragments import media_fragment
from signsearch.web import pose_render, query_previews
from signsearch.web.site import current_site

bp = Blueprint("media", __name__)


def media_of(dataset: str, video_id: str, start: float | None = None, end: float | None = None) -> dict[str, Any]:
    """How a card shows a video: its browser-playable preview (with its pose behind it, should the browser still
    refuse it), else its pose as an animation (with a note when the dataset has videos but this one no preview
    yet), else nothing. The source file itself is never played: many (mp4v) show black in browsers.
    `start`/`end` (seconds) are a segment's range in the video: the player plays only that (a media fragment)."""
    backend = current_site().backend
    times = {"start": start, "end": end} if start is not None and end is not None else {}
    pose = url_for("media.pose", dataset=dataset, id=video_id, **times) if backend.pose_file(dataset, video_id) else None
    if backend.preview_file(dataset, video_id):
        url = url_for("media.preview", dataset=dataset, id=video_id)
        return {"kind": "video", "url": url, "src": media_fragment(url, start, end), "start": start, "end": end,
                "pose_url": pose}
    note = NO_PREVIEW if backend.has_videos(dataset) else None
    if pose:
        return {"kind": "pose", "url": pose, "note": note}
    return {"kind": "none", "note": note}


NO_PREVIEW = "no browser preview of this video yet (the workflow's make_previews step makes it): showing its pose"


@bp.route("/media/preview")
def preview() -> Response:
    """A video's preview, with Range requests (206) so the player can seek and scrub."""
    path = current_site().backend.preview_file(request.args.get("dataset", ""), request.args.get("id", ""))
    if path is None:
        abort(404)
    return send_file(path.resolve(), conditional=True, max_age=3600)


@bp.route("/media/query/<token>")
def query_preview(token: str) -> Response:
    """The preview of an uploaded query (signsearch.web.query_previews), by its random token."""
    path = query_previews.path_of(token)
    if path is None:
        abort(404)
    return send_file(path, conditional=True, max_age=600)


@bp.route("/media/video")
def video() -> Response:
    """The source video file, for download (only of rows posed successfully, inside the dataset's folder)."""
    path = current_site().backend.video_file(request.args.get("dataset", ""), request.args.get("id", ""))
    if path is None:
        abort(404)
    return send_file(path, conditional=True, max_age=3600)


@bp.route("/media/pose.json")
def pose() -> Response:
    path = current_site().backend.pose_file(request.args.get("dataset", ""), request.args.get("id", ""))
    if path is None:
        abort(404)
    start, end = request.args.get("start", type=float), request.args.get("end", type=float)
    if not (start is not None and end is not None and math.isfinite(start) and math.isfinite(end)):
        start = end = None  # the whole pose; a segment animates only its frames
    try:
        data = pose_render.pose_frames(path, start, end)
    except Exception as exc:  # a damaged .pose: the card says so, the page still works
        return jsonify({"error": f"cannot read the pose: {exc.__class__.__name__}"}), 422
    response = jsonify(data)
    response.cache_control.max_age = 3600
    return response
