"""/media/video and /media/pose.json: a registry row's video file or pose (no other file is ever served)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, jsonify, request, send_file, url_for

from signsearch.web import pose_render
from signsearch.web.site import current_site

bp = Blueprint("media", __name__)


def media_of(dataset: str, video_id: str) -> dict[str, Any]:
    """How a card shows a video: its file, else its pose as an animation, else nothing."""
    backend = current_site().backend
    if backend.video_file(dataset, video_id):
        return {"kind": "video", "url": url_for("media.video", dataset=dataset, id=video_id)}
    if backend.pose_file(dataset, video_id):
        return {"kind": "pose", "url": url_for("media.pose", dataset=dataset, id=video_id)}
    return {"kind": "none"}


@bp.route("/media/video")
def video() -> Response:
    path = current_site().backend.video_file(request.args.get("dataset", ""), request.args.get("id", ""))
    if path is None:
        abort(404)
    return send_file(path.resolve(), conditional=True, max_age=3600)


@bp.route("/media/pose.json")
def pose() -> Response:
    path = current_site().backend.pose_file(request.args.get("dataset", ""), request.args.get("id", ""))
    if path is None:
        abort(404)
    try:
        data = pose_render.pose_frames(path)
    except Exception as exc:  # a damaged .pose: the card says so, the page still works
        return jsonify({"error": f"cannot read the pose: {exc.__class__.__name__}"}), 422
    response = jsonify(data)
    response.cache_control.max_age = 3600
    return response
