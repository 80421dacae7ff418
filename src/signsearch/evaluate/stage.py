"""The evaluation stage as the workflow runs it: subsets from a dataset's registry, one grid cell per
(dataset, model, subset) with the configured backend, validity flags and the extra protocols, and the grid.

A subset that cannot be built (even scaled down) is written with no ids and a ``# skipped:`` note; its cells
record ``skipped`` in metrics.json and stay out of the grid, so one impossible subset never stops the run.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from signsearch import manifest
from signsearch.atomic import write_json, write_text
from signsearch.evaluate import dictionary, text_video
from signsearch.evaluate.grid import aggregate_grid, evaluate_cell
from signsearch.evaluate.subsets import Subset, SubsetError, make_subset, read_subset, write_subset

SKIPPED = "skipped: "


def materialise_subset(
    registry: str | os.PathLike[str], poses: str | os.PathLike[str], spec: dict[str, Any], name: str,
    out: str | os.PathLike[str], *, scale_down: bool,
) -> str:
    """Write the subset's id file from the successfully posed videos; return the note (or the skip reason)."""
    reg = pq.read_table(registry).to_pandas()
    ok = pq.read_table(poses, columns=["video_id", "status"]).to_pandas()
    table = reg[reg["video_id"].isin(ok.loc[ok["status"] == "ok", "video_id"])]
    try:
        subset = make_subset(table, spec, name, scale_down=scale_down, base_dir=".")
    except SubsetError as exc:
        subset = Subset(name=name, video_ids=(), seed=spec.get("seed", 0), spec=spec, note=f"{SKIPPED}{exc}")
    write_subset(subset, out)
    return subset.note or f"subset '{name}': {len(subset.video_ids)} videos"


def is_flagged(model_cfg: dict[str, Any], dataset: str, splits: Sequence[str | None]) -> bool:
    """True when the model saw some of these videos in training (its `trained_on` names the dataset and split)."""
    for entry in model_cfg.get("trained_on") or []:
        if entry["dataset"] != dataset:
            continue
        trained = entry.get("splits")
        if not trained or set(trained) & {s for s in splits if s}:
            return True
    return False


def _pgvector_backend(data_dir: str, dataset: str, model: str):
    """Adapt pgvector exact scans to evaluate_cell's backend shape (one query per video, subset as gallery)."""
    from signsearch.db import query, server

    def run(vectors: np.ndarray, ids: list[str], k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
        row = {vid: i for i, vid in enumerate(ids)}
        idx = np.full((len(ids), k), -1, np.int64)
        dist = np.full((len(ids), k), np.inf, np.float32)
        with server.connect(server.resolve_url(data_dir, start=True)) as conn:
            lists = query.knn_batch(conn, dataset, model, vectors, k, metric, exact=True, exclude_video_ids=ids, gallery=ids)
        for i, hits in enumerate(lists):
            for j, hit in enumerate(hits):
                idx[i, j], dist[i, j] = row[hit["video_id"]], hit["distance"]
        return idx, dist

    return run


def _chance_block(values: dict[str, float], chance: dict[str, float], evaluated: int, excluded: int) -> dict[str, Any]:
    return {"metrics": values, "chance": chance, "counts": {"evaluated_queries": evaluated, "excluded_queries": excluded}}


def _dictionary_variant(m: manifest.Manifest, ids: set[str], metric: str) -> dict[str, Any] | None:
    """ASL Citizen's dictionary protocol: the subset's test videos against its training videos."""
    meta = m.table.select(["video_id", "gloss", "split"]).to_pandas()
    keep = meta["video_id"].isin(ids) & meta["gloss"].notna()
    test, train = keep & (meta["split"] == "test"), keep & (meta["split"] == "train")
    if not test.any() or not train.any():
        return None
    vectors = m.vectors
    ranks = dictionary.gloss_ranks(vectors[test.to_numpy()], meta.loc[test, "gloss"].to_numpy(object),
                                   vectors[train.to_numpy()], meta.loc[train, "gloss"].to_numpy(object), metric)
    out = dictionary.dictionary_metrics(ranks)
    g = int(meta.loc[train, "gloss"].nunique())
    ranks_all = np.arange(1, g + 1, dtype=np.float64)
    chance = {f"top_{n}": min(n, g) / g for n in dictionary.TOPS}
    chance |= {"mrr": float((1 / ranks_all).mean()), "dcg": float((1 / np.log2(1 + ranks_all)).mean())}
    values = {key: out[key] for key in chance}
    excluded = out["excluded_no_training_video"]
    return _chance_block(values, chance, out["queries"] - excluded, excluded)


def _text_video_variant(m: manifest.Manifest, ids: set[str], model: str, model_cfg: dict[str, Any]) -> dict[str, Any] | None:
    """The SignCLIP paper's protocol: prompts built from the subset's glosses against its videos."""
    from signsearch.embed.registry import load_embedder

    meta = m.table.select(["video_id", "gloss"]).to_pandas()
    keep = (meta["video_id"].isin(ids) & meta["gloss"].notna()).to_numpy()
    glosses = sorted(meta.loc[keep, "gloss"].unique())
    if len(glosses) < 2:
        return None
    embedder = load_embedder(model, model_cfg)
    out = text_video.text_video_metrics(m.vectors[keep], meta.loc[keep, "gloss"].to_numpy(object),
                                        embedder.embed_texts(glosses), glosses)
    values = {k: v for k, v in out.items() if not k.endswith("_chance") and isinstance(v, float)}
    chance = {k: out.get(f"{k}_chance", math.nan) for k in values}
    return _chance_block(values, chance, int(keep.sum()), 0)


def _skip_cell(outputs: dict[str, str], info: dict[str, Any]) -> None:
    write_json(outputs["metrics"], info)
    write_text(outputs["table"], "variant\tmetric\tvalue\tchance\n")
    write_text(outputs["confusions"], "gloss_a\tgloss_b\ta_to_b\tb_to_a\ttotal\n")
    write_text(outputs["per_gloss"], "gloss\tvideos\tqueries\tp_at_1\tp_at_k\thit_rate\tmrr\tmedian_first_rank\n")
    pd.DataFrame({"query_video_id": pd.Series(dtype=str)}).to_parquet(outputs["neighbours"])


def run_cell(
    *, manifest_path: str, subset_path: str, outputs: dict[str, str], model: str, model_cfg: dict[str, Any],
    dataset: str, settings: dict[str, Any], data_dir: str, registry_path: str,
) -> dict[str, Any]:
    """Evaluate one cell and write its files (names in `signsearch.evaluate.grid`)."""
    subset = read_subset(subset_path)
    base = {"dataset": dataset, "model": model, "subset": subset.name}
    if not subset.video_ids:
        _skip_cell(outputs, {**base, "skipped": subset.note.removeprefix(SKIPPED)})
        return base
    reg = pq.read_table(registry_path, columns=["video_id", "split"]).to_pandas()
    splits = reg.loc[reg["video_id"].isin(subset.video_ids), "split"].unique()
    backend = settings["backend"]
    result = evaluate_cell(
        manifest_path, subset.video_ids, Path(outputs["metrics"]).parent, subset_name=subset.name, k=settings["k"],
        metric=settings["metric"], flagged=is_flagged(model_cfg, dataset, list(splits)), dataset=dataset,
        backend_fn=_pgvector_backend(data_dir, dataset, model) if backend == "pgvector" else None, backend_name=backend,
    )
    m, ids = manifest.read(manifest_path), set(subset.video_ids)
    extra = {"dictionary": _dictionary_variant(m, ids, settings["metric"])}
    if model_cfg["kind"] == "signclip":
        extra["text_video"] = _text_video_variant(m, ids, model, model_cfg)
    result["variants"] |= {name: block for name, block in extra.items() if block is not None}
    result["subset_note"] = subset.note or None
    write_json(outputs["metrics"], json.loads(json.dumps(result, default=float).replace("NaN", "null")))
    return result


def write_grid(metrics_files: Sequence[str], outputs: dict[str, str], *, dataset: str) -> pd.DataFrame:
    """Aggregate the evaluated cells of a dataset (skipped ones are listed in the log) into the grid and figures."""
    cells, skipped = [], []
    for path in metrics_files:
        info = json.loads(Path(path).read_text())
        (skipped if "skipped" in info else cells).append((path, info))
    for _, info in skipped:
        print(f"cell {dataset}/{info['model']}/{info['subset']} skipped: {info['skipped']}")
    grid = aggregate_grid([Path(p).parent for p, _ in cells], Path(outputs["table"]).parent)
    return grid
