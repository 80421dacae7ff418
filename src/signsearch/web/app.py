"""The signsearch web app: search by an uploaded video, a stored video id or a text, and browse the evaluation.

Server-rendered HTML (Flask + Jinja) with a little vanilla JS for the pose animations. It reads the same config,
database and ``results/`` folder as the CLI, from the working directory. Start it with ``signsearch serve``
(127.0.0.1:8501 by default: this machine only).

Routes
  /                      -> /search
  /search                GET: the form (and an id/text query given in the URL); POST: the same with an upload
  /results               the models x subsets grid, metric tables, confused pairs side by side, embedding map
  /media/video           ?dataset=&id=  the registry's video file of that id (no other file is ever served)
  /media/pose.json       ?dataset=&id=  the registry's .pose of that id as animation frames
  /figures/<dataset>/<name>.png         a figure of results/report/<dataset>/ by its fixed name
  /embedding-map/<dataset>/<model>.png  2-D PCA of the model's manifest, coloured by gloss
  /healthz               "ok"
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, jsonify, redirect, render_template, request, send_file, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from signsearch.web import embedding_map, pose_render, results as res
from signsearch.web.backend import HINT_BUILD, Backend, Notice
from signsearch.web.uploads import ACCEPTED_SUFFIXES, UploadRefused, check_file, check_name

log = logging.getLogger(__name__)

DEFAULTS = {
    "MAX_CONTENT_LENGTH": 50 * 1024 * 1024,  # bytes per request (the upload plus a few form fields)
    "MAX_UPLOAD_SECONDS": 20.0,
    "RESULTS_DIR": "results",
    "DEFAULT_K": 10,
    "MAX_K": 50,
}
QUERY_MODES = ("video", "id", "text")
TEXT_KINDS = {"signclip"}  # model kinds with a text tower


def _settings_from_env() -> dict[str, Any]:
    out: dict[str, Any] = {}
    if os.environ.get("SIGNSEARCH_WEB_MAX_UPLOAD_MB"):
        out["MAX_CONTENT_LENGTH"] = int(float(os.environ["SIGNSEARCH_WEB_MAX_UPLOAD_MB"]) * 1024 * 1024)
    if os.environ.get("SIGNSEARCH_WEB_MAX_SECONDS"):
        out["MAX_UPLOAD_SECONDS"] = float(os.environ["SIGNSEARCH_WEB_MAX_SECONDS"])
    return out


def create_app(config_path: str | os.PathLike[str] | None = None, *, settings: dict[str, Any] | None = None) -> Flask:
    """The Flask app. `settings` overrides `DEFAULTS` (upload limits, results folder); so do the environment
    variables SIGNSEARCH_WEB_MAX_UPLOAD_MB and SIGNSEARCH_WEB_MAX_SECONDS."""
    app = Flask(__name__)
    app.config.update(DEFAULTS)
    app.config.update(_settings_from_env())
    app.config.update(settings or {})
    backend = Backend(config_path, app.config["RESULTS_DIR"])
    results = res.Results(Path(app.config["RESULTS_DIR"]))
    app.extensions["signsearch"] = backend

    def limits() -> dict[str, Any]:
        max_bytes = int(app.config["MAX_CONTENT_LENGTH"])
        return {
            "max_bytes": max_bytes - 64 * 1024 if max_bytes > 1024 * 1024 else max_bytes,  # room for the form
            "max_mb": max_bytes / (1024 * 1024),
            "max_seconds": float(app.config["MAX_UPLOAD_SECONDS"]),
            "accept": ",".join(ACCEPTED_SUFFIXES),
        }

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"limits": limits(), "hint_build": HINT_BUILD}

    # -- search ---------------------------------------------------------------------------------------------------
    def search_page(status: int = 200, refused: str | None = None) -> tuple[str, int]:
        config, config_notice = backend.config()
        db = backend.db_state(config)
        notices = [n for n in (config_notice, db.notice) if n]
        form = request.values if request.method in ("GET", "POST") and refused is None else request.args
        datasets = list(db.models)
        dataset = form.get("dataset") if form.get("dataset") in db.models else (datasets[0] if datasets else None)
        models = db.models.get(dataset, []) if dataset else []
        model = form.get("model") if form.get("model") in models else (models[0] if models else None)
        model_kinds = {m: (config or {}).get("models", {}).get(m, {}).get("kind", "") for m in models}
        text_models = [m for m, kind in model_kinds.items() if kind in TEXT_KINDS]
        mode = form.get("mode") if form.get("mode") in QUERY_MODES else "video"
        try:
            k = max(1, min(int(form.get("k") or app.config["DEFAULT_K"]), app.config["MAX_K"]))
        except ValueError:
            k = app.config["DEFAULT_K"]
        state = {
            "datasets": datasets, "dataset": dataset, "models_by_dataset": db.models, "model": model,
            "text_models": text_models, "mode": mode, "k": k,
            "video_id": form.get("id", "").strip(), "text": form.get("text", "").strip(),
            "ids": backend.video_ids(dataset) if dataset else [],
            "splits": backend.splits(dataset) if dataset else [],
        }
        state["split"] = form.get("split") if form.get("split") in state["splits"] else ""
        error, rows, query = refused, None, None
        wants_search = refused is None and dataset and model and (
            request.method == "POST" or (mode == "id" and state["video_id"]) or (mode == "text" and state["text"]))
        if wants_search:
            try:
                rows, query = run_search(config, state)
            except UploadRefused as exc:
                error, status = str(exc), 400
            except Exception as exc:  # SearchError, DatabaseError, ModelUnavailable and the unexpected
                known = _is_known(exc)
                if not known:
                    log.exception("search failed")
                error = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
                error = error if known else f"search failed: {error}"
                status = 400 if known else 500
        if rows is not None:
            rows = [decorate(dataset, r) for r in rows]
        return render_template("search.html", notices=notices, state=state, error=error, rows=rows, query=query,
                               page="search"), status

    def run_search(config: dict[str, Any], state: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        common = {"dataset": state["dataset"], "model": state["model"], "k": state["k"],
                  "where": {"split": state["split"]} if state["split"] else None}
        if state["mode"] == "id":
            if not state["video_id"]:
                raise UploadRefused("type or pick a video id to search with")
            rows = backend.search(config, video_id=state["video_id"], **common)
            return rows, {"kind": "id", "label": state["video_id"], "media": media_of(state["dataset"], state["video_id"])}
        if state["mode"] == "text":
            if not state["text"]:
                raise UploadRefused("type a gloss or phrase to search with")
            return backend.search(config, text=state["text"], **common), {"kind": "text", "label": state["text"]}
        upload = request.files.get("video")
        if upload is None or not upload.filename:
            raise UploadRefused("no file chosen: pick a video (or a .pose file) to search with")
        suffix = check_name(upload.filename)
        lim = limits()
        with tempfile.TemporaryDirectory(prefix="signsearch-upload-") as tmp:
            path = Path(tmp) / f"query{suffix}"
            upload.save(path)
            checked = check_file(path, upload.filename, max_bytes=int(app.config["MAX_CONTENT_LENGTH"]),
                                 max_seconds=lim["max_seconds"])
            rows = backend.search(config, upload=True, video=checked.path, **common)
        label = f"{Path(upload.filename).name} ({checked.size / 1e6:.1f} MB"
        label += f", {checked.duration:.1f} s)" if checked.duration is not None else ")"
        return rows, {"kind": "upload", "label": label}

    def media_of(dataset: str, video_id: str) -> dict[str, Any]:
        if backend.video_file(dataset, video_id):
            return {"kind": "video", "url": url_for("media_video", dataset=dataset, id=video_id)}
        if backend.pose_file(dataset, video_id):
            return {"kind": "pose", "url": url_for("media_pose", dataset=dataset, id=video_id)}
        return {"kind": "none"}

    def decorate(dataset: str, row: dict[str, Any]) -> dict[str, Any]:
        out = dict(row)
        out["media"] = media_of(dataset, str(row.get("video_id")))
        return out

    @app.route("/")
    def index() -> Response:
        return redirect(url_for("search"))

    @app.route("/search", methods=["GET", "POST"])
    def search() -> tuple[str, int]:
        return search_page()

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_exc: RequestEntityTooLarge) -> tuple[str, int]:
        lim = limits()
        message = f"the file is larger than the upload limit of {lim['max_mb']:.0f} MB; trim or re-encode it"
        if request.path.startswith("/search"):
            return search_page(413, refused=message)
        return message, 413

    # -- media ----------------------------------------------------------------------------------------------------
    @app.route("/media/video")
    def media_video() -> Response:
        path = backend.video_file(request.args.get("dataset", ""), request.args.get("id", ""))
        if path is None:
            abort(404)
        return send_file(path.resolve(), conditional=True, max_age=3600)

    @app.route("/media/pose.json")
    def media_pose() -> Response:
        path = backend.pose_file(request.args.get("dataset", ""), request.args.get("id", ""))
        if path is None:
            abort(404)
        try:
            data = pose_render.pose_frames(path)
        except Exception as exc:  # a damaged .pose: the card says so, the page still works
            return jsonify({"error": f"cannot read the pose: {exc.__class__.__name__}"}), 422
        response = jsonify(data)
        response.cache_control.max_age = 3600
        return response

    # -- results --------------------------------------------------------------------------------------------------
    @app.route("/results")
    def results_page() -> str:
        datasets = results.datasets()
        dataset = request.args.get("dataset") if request.args.get("dataset") in datasets else (datasets[0] if datasets else None)
        notices: list[Notice] = []
        if not datasets:
            notices.append(Notice(f"no evaluation results yet under {results.root}/: run the workflow to build them",
                                  HINT_BUILD))
        ctx: dict[str, Any] = {"datasets": datasets, "dataset": dataset, "page": "results"}
        if dataset:
            ctx.update(results_context(dataset))
            if ctx["grid"] is None and not ctx["cells"]:
                notices.append(Notice(f"dataset '{dataset}' has no evaluation grid yet", HINT_BUILD))
        return render_template("results.html", notices=notices, **ctx)

    def results_context(dataset: str) -> dict[str, Any]:
        grid = results.grid(dataset)
        figures = {name: url_for("figure", dataset=dataset, name=name)
                   for name in res.REPORT_FIGURES if results.figure(dataset, name)}
        cells = results.cells(dataset)
        models = sorted({c.model for c in cells})
        subsets = sorted({c.subset for c in cells})
        model = request.args.get("model") if request.args.get("model") in models else (models[0] if models else None)
        subset = request.args.get("subset") if request.args.get("subset") in subsets else (
            "full" if "full" in subsets else (subsets[0] if subsets else None))
        cell = results.cell(dataset, model, subset) if model and subset else None
        metrics, summary, metric_table, per_gloss, pairs, compare = [], [], None, None, [], None
        if cell:
            data = res.read_metrics(cell)
            metric_table = res.metric_table(cell)
            summary = res.cell_summary(data)
            metrics = [] if metric_table else res.flat_metrics(data)
            per_gloss = res.read_table(cell.path / "per_gloss.tsv")
            pairs = res.confusion_pairs(res.read_table(cell.path / "confusions.tsv"))
            try:
                chosen = int(request.args.get("pair", "0"))
            except ValueError:
                chosen = 0
            if pairs:
                chosen = min(max(chosen, 0), len(pairs) - 1)
                compare = compare_pair(dataset, cell, pairs[chosen])
                compare["index"] = chosen
        manifests = results.manifests(dataset)
        map_model = request.args.get("map") if request.args.get("map") in manifests else (
            model if model in manifests else next(iter(manifests), None))
        return {
            "grid": grid, "grid_views": grid_views(grid), "figures": figures, "figure_titles": res.REPORT_FIGURES,
            "cells": cells, "models": models, "subsets": subsets, "model": model, "subset": subset,
            "metrics": metrics, "metric_table": metric_table, "summary": summary, "per_gloss": per_gloss, "pairs": pairs, "compare": compare,
            "map_models": list(manifests), "map_model": map_model,
        }

    def compare_pair(dataset: str, cell: res.Cell, pair: dict[str, Any]) -> dict[str, Any]:
        found = res.confused_examples(cell, pair["a"], pair["b"])
        if found:
            a_id, b_id = found
        else:
            a_id = backend.example_video(dataset, pair["a"])
            b_id = backend.example_video(dataset, pair["b"], avoid={a_id} if a_id else set())
        sides = []
        for gloss, vid in ((pair["a"], a_id), (pair["b"], b_id)):
            row = backend.registry_row(dataset, vid) if vid else None
            sides.append({"gloss": gloss, "video_id": vid, "signer": (row or {}).get("signer"),
                          "media": media_of(dataset, vid) if vid else {"kind": "none"}})
        return {"pair": pair, "sides": sides, "from_neighbours": bool(found)}

    @app.route("/figures/<dataset>/<name>.png")
    def figure(dataset: str, name: str) -> Response:
        path = results.figure(dataset, name)
        if path is None:
            abort(404)
        return send_file(path.resolve(), mimetype="image/png", max_age=60)

    @app.route("/embedding-map/<dataset>/<model>.png")
    def embedding_map_png(dataset: str, model: str) -> Response:
        path = results.manifests(dataset).get(model) if dataset in _listed_datasets() else None
        if path is None:
            abort(404)
        png = embedding_map.render_png(path, title=f"{dataset} / {model}: embedding space (PCA), colour = gloss")
        return Response(png, mimetype="image/png")

    def _listed_datasets() -> set[str]:
        base = results.root
        return {p.parent.parent.name for p in base.glob("*/manifests/*.parquet")}

    @app.route("/healthz")
    def healthz() -> str:
        return "ok"

    return app


GRID_COUNT_COLUMNS = {"k", "n", "videos", "queries", "glosses", "missing_videos", "evaluated_queries",
                      "excluded_queries", "n_queries", "n_videos", "n_glosses"}
LOWER_IS_BETTER = {"median_first_rank"}


def grid_views(grid: Any) -> list[dict[str, Any]]:
    """The grid as heat tables, one per metric: rows model (and variant, e.g. all / cross_signer), columns subset.
    Chance levels, counts and flags are left out (they stay in the full table below)."""
    import pandas as pd

    if grid is None or grid.empty:
        return []
    cols = {str(c).lower(): c for c in grid.columns}
    if "model" not in cols or "subset" not in cols:
        return []
    m, s = cols["model"], cols["subset"]
    index = [m] + ([cols["variant"]] if "variant" in cols else [])
    metrics = [c for c in grid.columns
               if pd.api.types.is_numeric_dtype(grid[c]) and not pd.api.types.is_bool_dtype(grid[c])
               and str(c).lower() not in GRID_COUNT_COLUMNS and not str(c).endswith("_chance")]
    views = []
    for metric in metrics:
        table = grid.pivot_table(index=index, columns=s, values=metric, aggfunc="first", dropna=False)
        values = table.to_numpy(dtype=float)
        finite = values[~pd.isna(values)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        flip = str(metric) in LOWER_IS_BETTER
        rows = []
        for key, line in table.iterrows():
            name = " · ".join(str(x) for x in key) if isinstance(key, tuple) else str(key)
            cells = []
            for v in line:
                if pd.isna(v):
                    cells.append((None, "", False))
                    continue
                shade = (hi - float(v) + lo) if flip else float(v)
                dark = hi > lo and shade >= lo + 0.6 * (hi - lo)
                cells.append((float(v), res.heat_colour(shade, lo, hi), dark))
            rows.append((name, cells))
        views.append({"metric": str(metric) + (" (lower is better)" if flip else ""),
                      "columns": [str(c) for c in table.columns], "rows": rows,
                      "corner": " · ".join(str(i) for i in index) + " \\ subset"})
    return views


def _is_known(exc: BaseException) -> bool:
    from signsearch.search import SearchError

    known: list[type[BaseException]] = [SearchError, UploadRefused]
    try:
        from signsearch.db.errors import DatabaseError

        known.append(DatabaseError)
    except ImportError:
        pass
    try:
        from signsearch.embed.registry import ModelUnavailable

        known.append(ModelUnavailable)
    except ImportError:
        pass
    return isinstance(exc, tuple(known))


def serve(config_path: str | os.PathLike[str] | None = None, host: str = "127.0.0.1", port: int = 8501) -> None:
    """Run the app until interrupted (threaded; one upload is posed at a time)."""
    from werkzeug.serving import make_server

    app = create_app(config_path)
    server = make_server(host, port, app, threaded=True)
    shown = f"[{host}]" if ":" in host else host
    print(f"signsearch web app on http://{shown}:{server.server_port}/  (Ctrl-C stops it)", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: bound to {host}: other machines can reach this app and upload files to it", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
