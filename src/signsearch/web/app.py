"""The signsearch web app: search by an uploaded video, a stored video id or a text, and browse the evaluation.

Server-rendered HTML (Flask + Jinja) with a little vanilla JS for the pose animations. It reads the same config,
database and ``results/`` folder as the CLI, from the working directory. Start it with ``signsearch serve``
(127.0.0.1:8501 by default: this machine only).

Pages (`signsearch.web.views`, one blueprint each)
  /                      -> /search
  /search                GET: the form (and an id/text query given in the URL); POST: the same with an upload
  /browse               ?dataset=&q=&gloss=  the glosses with their counts; one gloss's videos, each searchable
  /results               the models x subsets grid, metric tables, confused pairs side by side, embedding map
  /media/preview         ?dataset=&id=  the browser-playable preview the workflow made of that video (Range)
  /media/video           ?dataset=&id=  the video file of a posed row inside its dataset's folder (no other file)
  /media/pose.json       ?dataset=&id=  the registry's .pose of that id as animation frames
  /figures/<dataset>/<name>.png         a figure of the dataset's report by its fixed name
  /embedding-map/<dataset>/<model>.png  2-D PCA of the model's manifest, coloured by gloss
  /embedding-map/<dataset>/<model>.json where each video is on that PNG (the page shows and opens them)
  /healthz               "ok"
Errors: `signsearch.web.error_pages`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

from signsearch.config import ConfigSource
from signsearch.web import error_pages, origin_guard
from signsearch.web.backend import HINT_BUILD, Backend
from signsearch.web.results import Results
from signsearch.web.site import Site
from signsearch.web.uploads import upload_limits
from signsearch.web.views import browse, media, results, search

DEFAULTS = {
    "MAX_CONTENT_LENGTH": 50 * 1024 * 1024,  # bytes per request (the upload plus a few form fields)
    "MAX_UPLOAD_SECONDS": 20.0,
    "RESULTS_DIR": "results",
    "DEFAULT_K": 10,
    "MAX_K": 50,
    "ALLOWED_HOSTS": list(origin_guard.LOCAL_HOSTS),  # Host header names served (see origin_guard)
}


def _settings_from_env() -> dict[str, Any]:
    out: dict[str, Any] = {}
    if os.environ.get("SIGNSEARCH_WEB_MAX_UPLOAD_MB"):
        out["MAX_CONTENT_LENGTH"] = int(float(os.environ["SIGNSEARCH_WEB_MAX_UPLOAD_MB"]) * 1024 * 1024)
    if os.environ.get("SIGNSEARCH_WEB_MAX_SECONDS"):
        out["MAX_UPLOAD_SECONDS"] = float(os.environ["SIGNSEARCH_WEB_MAX_SECONDS"])
    return out


def create_app(config_path: ConfigSource = None, *, settings: dict[str, Any] | None = None) -> Flask:
    """The Flask app. `settings` overrides `DEFAULTS` (upload limits, results folder); so do the environment
    variables SIGNSEARCH_WEB_MAX_UPLOAD_MB and SIGNSEARCH_WEB_MAX_SECONDS."""
    app = Flask(__name__)
    app.config.update(DEFAULTS)
    app.config.update(_settings_from_env())
    app.config.update(settings or {})
    root = Path(app.config["RESULTS_DIR"])
    app.extensions["signsearch"] = Site(Backend(config_path, root), Results(root))
    for view in (search, browse, media, results):
        app.register_blueprint(view.bp)
    error_pages.register(app)
    origin_guard.register(app)
    app.add_url_rule("/healthz", "healthz", lambda: "ok")
    app.context_processor(lambda: {"limits": upload_limits(app.config), "hint_build": HINT_BUILD})
    return app


def serve(config_path: ConfigSource = None, host: str = "127.0.0.1", port: int = 8501,
          allow_hosts: list[str] | None = None) -> None:
    """Run the app until interrupted (threaded; one upload is posed at a time, on worker processes started here:
    `Backend.query_poser`). Requests are answered for the local names, `host` and `allow_hosts` only (see
    `origin_guard`)."""
    from werkzeug.serving import make_server

    app = create_app(config_path, settings={"ALLOWED_HOSTS": origin_guard.allowed_hosts(host, *(allow_hosts or []))})
    server = make_server(host, port, app, threaded=True)
    backend = app.extensions["signsearch"].backend
    backend.start_query_workers()
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
        backend.close()
