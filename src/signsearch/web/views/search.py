"""/search: the form (dataset, model, k, split; a video upload, a stored id or a text) and its result cards.

A `UserError` raised while answering (a refused upload, an unknown id, a model without text) reaches the app's
error handler, which shows this page again with the message (`render_search(error=...)`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for

from signsearch.embed.spec import model_specs
from signsearch.evaluate.text_video import TEXT_SEARCH_METRIC
from signsearch.web import cards, query_previews
from signsearch.web.distances import metric_name
from signsearch.web.site import current_site
from signsearch.web.uploads import UploadRefused, check_file, check_name, upload_limits
from signsearch.web.views.media import media_of

bp = Blueprint("search", __name__)

QUERY_MODES = ("video", "id", "text")
MAX_RESULTS = 1000  # the deepest result a page reaches (page * k)


@bp.route("/")
def index() -> Response:
    return redirect(url_for("search.page"))


@bp.route("/search", methods=["GET", "POST"])
def page() -> tuple[str, int]:
    return render_search()


def render_search(status: int = 200, error: str | None = None, *, read_form: bool = True) -> tuple[str, int]:
    """The page; it searches when the request asks for it and there is no `error` to show instead.
    `read_form=False` keeps to the URL's arguments (the body of a refused, too large request is never read)."""
    backend = current_site().backend
    config, config_notice = backend.config()
    db = backend.db_state(config)
    notices = [n for n in (config_notice, db.notice) if n]
    form = request.values if read_form else request.args
    datasets = list(db.models)
    dataset = form.get("dataset") if form.get("dataset") in db.models else (datasets[0] if datasets else None)
    models = db.models.get(dataset, []) if dataset else []
    model = form.get("model") if form.get("model") in models else (models[0] if models else None)
    specs = model_specs(config) if config else {}
    text_models = [m for m in models if m in specs and specs[m].has_text]
    mode = form.get("mode") if form.get("mode") in QUERY_MODES else "video"
    default_k, max_k = current_app.config["DEFAULT_K"], current_app.config["MAX_K"]
    try:
        k = max(1, min(int(form.get("k") or default_k), max_k))
    except ValueError:
        k = default_k
    state = {
        "datasets": datasets, "dataset": dataset, "models_by_dataset": db.models, "model": model,
        "text_models": text_models, "mode": mode, "k": k,
        "video_id": form.get("id", "").strip(), "text": form.get("text", "").strip(),
        "ids": backend.video_ids(dataset) if dataset else [],
        "splits": backend.splits(dataset) if dataset else [],
    }
    state["split"] = form.get("split") if form.get("split") in state["splits"] else ""
    # filters on the results (the CLI's --where) and paging past MAX_K: page p asks for the first p * k
    state["gloss"], state["signer"] = form.get("gloss", "").strip(), form.get("signer", "").strip()
    state["glosses"] = backend.column_values(dataset, "gloss") if dataset else []
    state["signers"] = backend.column_values(dataset, "signer") if dataset else []
    try:
        state["page"] = max(1, min(int(form.get("page") or 1), MAX_RESULTS // k))
    except ValueError:
        state["page"] = 1
    rows, query = None, None
    wants_search = error is None and dataset and model and (
        request.method == "POST" or (mode == "id" and state["video_id"]) or (mode == "text" and state["text"])
        or (mode == "video" and form.get("upload")))
    explained = None
    if wants_search:
        rows, query = _run_search(config, state)
        state["more"] = len(rows) >= k * state["page"] and k * (state["page"] + 1) <= MAX_RESULTS
        rows = rows[k * (state["page"] - 1):]
        if mode == "text":  # text ranks by dot product (as the evaluation does); no video-video typical distance
            metric = TEXT_SEARCH_METRIC
            explained = {"metric": metric_name(metric), "typical": None}
        else:
            metric = specs[model].metric if model in specs else None
            explained = cards.explain(backend.layout, dataset, model, metric)
        rows = cards.result_cards(dataset, rows, query, explained["typical"], metric)
    return render_template("search.html", notices=notices, state=state, error=error, rows=rows, query=query,
                           explained=explained, page="search"), status


def _run_search(config: dict[str, Any], state: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    backend = current_site().backend
    where = {key: state[key] for key in ("split", "gloss", "signer") if state[key]}
    common = {"dataset": state["dataset"], "model": state["model"], "k": state["k"] * state["page"],
              "where": where or None}
    if state["mode"] == "id":
        if not state["video_id"]:
            raise UploadRefused("type or pick a video id to search with")
        rows = backend.nearest_videos(config, video_id=state["video_id"], **common)
        return rows, _stored_query(state["dataset"], state["video_id"])
    if state["mode"] == "text":
        if not state["text"]:
            raise UploadRefused("type a gloss or phrase to search with")
        return backend.nearest_videos(config, text=state["text"], **common), {"kind": "text", "label": state["text"]}
    upload = request.files.get("video")
    if upload is None or not upload.filename:  # the last upload again (another count, filters, page)?
        again = query_previews.kept(request.values.get("upload", ""))
        if again is None:
            raise UploadRefused("no file chosen: pick a video (or a .pose file) to search with")
        rows = backend.nearest_videos(config, upload=True, video=again.path, video_name=again.name, **common)
        return rows, _upload_query(again)
    suffix = check_name(upload.filename)
    with tempfile.TemporaryDirectory(prefix="signsearch-upload-") as tmp:
        path = Path(tmp) / f"query{suffix}"
        upload.save(path)
        checked = check_file(path, upload.filename, max_bytes=int(current_app.config["MAX_CONTENT_LENGTH"]),
                             max_seconds=upload_limits(current_app.config)["max_seconds"])
        name = Path(upload.filename).name
        label = f"{name} ({checked.size / 1e6:.1f} MB"
        label += f", {checked.duration:.1f} s)" if checked.duration is not None else ")"
        kept = query_previews.keep(checked.path, name, label)  # its preview is made while it is posed
        rows = backend.nearest_videos(config, upload=True, video=checked.path, video_name=name, **common)
    return rows, _upload_query(kept)


def _upload_query(upload: query_previews.Upload) -> dict[str, Any]:
    """An uploaded query: its preview player (or why there is none) and the token that searches with it again."""
    if upload.preview() is not None:
        url = url_for("media.query_preview", token=upload.token)
        media = {"kind": "video", "url": url, "src": url}
    else:
        media = {"kind": "none", "note": "a .pose file: no video" if upload.path.suffix == ".pose"
                 else "no preview of this file"}
    return {"kind": "upload", "label": upload.label, "media": media, "token": upload.token}


def _stored_query(dataset: str, video_id: str) -> dict[str, Any]:
    """A query by stored id: its player, gloss and signer (a segment's from its source video's registry row)."""
    row = current_site().backend.registry_row(dataset, video_id) or {}
    source = video_id if row else video_id.split("#", 1)[0]
    row = row or current_site().backend.registry_row(dataset, source) or {}
    return {"kind": "id", "label": video_id, "video_id": video_id, "gloss": row.get("gloss"),
            "signer": row.get("signer"), "split": row.get("split"), "media": media_of(dataset, source)}
