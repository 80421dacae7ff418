"""/results: the models x subsets grid (figures and heat tables), one cell's metrics and per-gloss table, the
most-confused gloss pairs side by side, and the embedding map; /figures and /embedding-map serve their images,
/cell-table a cell's whole per-gloss or confusions table (the page shows their first rows: 2,731 glosses at ASL
Citizen's size, tens of thousands of confused pairs)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, jsonify, render_template, request, send_file, url_for

from signsearch import metric_names
from signsearch.web import embedding_map, results as res
from signsearch.web.backend import HINT_BUILD, Notice
from signsearch.web.grid_views import grid_views
from signsearch.web.site import current_site
from signsearch.web.views.media import media_of

bp = Blueprint("results", __name__)

PER_GLOSS_ROWS = 15  # the hardest glosses shown on the page; the rest download as TSV
PAIR_ROWS = 10  # the most-confused pairs listed (each can be compared)
CELL_TABLES = ("per_gloss", "confusions")  # the cell files /cell-table serves


@bp.route("/results")
def page() -> str:
    results = current_site().results
    datasets = results.datasets()
    dataset = request.args.get("dataset") if request.args.get("dataset") in datasets else (datasets[0] if datasets else None)
    notices: list[Notice] = []
    if not datasets:
        notices.append(Notice(f"no evaluation results yet under {results.root}/: run the workflow to build them",
                              HINT_BUILD))
    ctx: dict[str, Any] = {"datasets": datasets, "dataset": dataset, "page": "results",
                           "readable": metric_names.readable}
    if dataset:
        ctx.update(_dataset_context(dataset))
        if ctx["grid"] is None and not ctx["cells"]:
            notices.append(Notice(f"dataset '{dataset}' has no evaluation grid yet", HINT_BUILD))
    return render_template("results.html", notices=notices, **ctx)


@bp.route("/figures/<dataset>/<name>.png")
def figure(dataset: str, name: str) -> Response:
    path = current_site().results.figure(dataset, name)
    if path is None:
        abort(404)
    return send_file(path.resolve(), mimetype="image/png", max_age=60)


@bp.route("/cell-table/<dataset>/<model>/<subset>/<name>.tsv")
def cell_table(dataset: str, model: str, subset: str, name: str) -> Response:
    """A cell's whole per_gloss.tsv or confusions.tsv, as a download (only listed cells, only these two files)."""
    results = current_site().results
    cell = results.cell(dataset, model, subset) if dataset in results.datasets() else None
    path = cell.files[name] if cell and name in CELL_TABLES else None
    if path is None or not path.is_file():
        abort(404)
    return send_file(path.resolve(), mimetype="text/tab-separated-values", as_attachment=True,
                     download_name=f"{dataset}_{model}_{subset}_{name}.tsv", max_age=60)


@bp.route("/embedding-map/<dataset>/<model>.png")
def embedding_map_png(dataset: str, model: str) -> Response:
    path = current_site().results.manifest(dataset, model)
    if path is None:
        abort(404)
    return Response(embedding_map.render_png(path, title=_map_title(dataset, model)), mimetype="image/png")


@bp.route("/embedding-map/<dataset>/<model>.json")
def embedding_map_points(dataset: str, model: str) -> Response:
    """Where each video is on the map's PNG, for hovering and clicking its points (static/map.js)."""
    path = current_site().results.manifest(dataset, model)
    if path is None:
        abort(404)
    response = jsonify({"points": embedding_map.points(path, title=_map_title(dataset, model))})
    response.cache_control.max_age = 60
    return response


def _map_title(dataset: str, model: str) -> str:
    return f"{dataset} / {model}: embedding space (PCA), colour = gloss"


def _dataset_context(dataset: str) -> dict[str, Any]:
    results = current_site().results
    grid = results.grid(dataset)
    figures = {name: url_for("results.figure", dataset=dataset, name=name)
               for name in res.REPORT_FIGURES if results.figure(dataset, name)}
    cells = results.cells(dataset)
    models = sorted({c.model for c in cells})
    subsets = sorted({c.subset for c in cells})
    model = request.args.get("model") if request.args.get("model") in models else (models[0] if models else None)
    subset = request.args.get("subset") if request.args.get("subset") in subsets else (
        "full" if "full" in subsets else (subsets[0] if subsets else None))
    cell = results.cell(dataset, model, subset) if model and subset else None
    metrics, summary, metric_table, per_gloss, pairs, compare, pair_total = [], [], None, None, [], None, 0
    if cell:
        data = res.read_metrics(cell)
        metric_table = res.metric_table(cell)
        summary = res.cell_summary(data)
        metrics = [] if metric_table else res.flat_metrics(data)
        per_gloss = res.read_table(cell.files["per_gloss"])
        confusions = res.read_table(cell.files["confusions"])
        pairs, pair_total = res.confusion_pairs(confusions, PAIR_ROWS), 0 if confusions is None else len(confusions)
        try:
            chosen = int(request.args.get("pair", "0"))
        except ValueError:
            chosen = 0
        if pairs:
            chosen = min(max(chosen, 0), len(pairs) - 1)
            compare = _compare_pair(dataset, cell, pairs[chosen])
            compare["index"] = chosen
    manifests = results.manifests(dataset)
    map_model = request.args.get("map") if request.args.get("map") in manifests else (
        model if model in manifests else next(iter(manifests), None))
    return {
        "grid": grid, "grid_views": grid_views(grid), "figures": figures, "figure_titles": res.REPORT_FIGURES,
        "cells": cells, "models": models, "subsets": subsets, "model": model, "subset": subset,
        "metrics": metrics, "metric_table": metric_table, "summary": summary, "per_gloss": per_gloss, "pairs": pairs,
        "compare": compare, "map_models": list(manifests), "map_model": map_model, "pair_total": pair_total,
        "per_gloss_rows": PER_GLOSS_ROWS,
        "downloads": {name: url_for("results.cell_table", dataset=dataset, model=model, subset=subset, name=name)
                      for name in CELL_TABLES} if cell else {},
    }


def _compare_pair(dataset: str, cell: res.Cell, pair: dict[str, Any]) -> dict[str, Any]:
    backend = current_site().backend
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
