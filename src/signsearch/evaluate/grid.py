"""One evaluation grid cell (model x subset) and the aggregation of cells into the grid table and figures.

A cell directory (`evaluate_cell`) holds, all written atomically:

* ``metrics.json``: {dataset, model, subset, k, metric, backend, flagged, videos, glosses, missing_videos,
  backend_agreement, variants: {all | cross_signer: {metrics, chance, counts}}} (NaN written as null).
* ``metrics.tsv``: long table, columns variant, metric, value, chance.
* ``neighbours.parquet``: query_video_id, rank (1..k), neighbour_video_id, distance (float32), match (bool),
  query_gloss, neighbour_gloss; every query of the subset, variant 'all', ranks with no candidate left out.
* ``confusions.tsv``: gloss_a, gloss_b, a_to_b, b_to_a, total (`confusions.confusion_pairs`, evaluated queries).
* ``per_gloss.tsv``: gloss, videos, queries, p_at_1, p_at_k, hit_rate, mrr, median_first_rank.

`aggregate_grid` writes into its output folder ``grid.tsv`` (one row per model, subset and variant: metric columns,
``<metric>_chance`` columns, flagged, counts), ``grid_heatmap.png``, ``metric_bars.png`` and ``top_confusions.png``.

The 'all' variant retrieves among all other videos of the subset; 'cross_signer' also removes the query's own
signer's videos (metrics module docstring for the definitions and chance levels).
"""

from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from signsearch import manifest
from signsearch.atomic import atomic_path, write_json, write_text
from signsearch.evaluate import figures
from signsearch.evaluate.confusions import confusion_pairs, per_gloss_table
from signsearch.evaluate.metrics import RankingMetrics, evaluate_queries, match_matrix, metric_names, relevance
from signsearch.evaluate.retrieval import search

# (vectors (n, dim), video_ids, k, metric) -> (idx (n, k), dist (n, k)): all-against-all, self excluded, rows of
# the given vectors, ties by ascending row. The pgvector backend is adapted to this shape by the caller.
BackendFn = Callable[[np.ndarray, list[str], int, str], tuple[np.ndarray, np.ndarray]]


def evaluate_cell(
    manifest_path: str | os.PathLike[str],
    subset_ids: Sequence[str],
    out_dir: str | os.PathLike[str],
    *,
    subset_name: str,
    k: int = 10,
    metric: str = "l2",
    backend_fn: BackendFn | None = None,
    backend_name: str = "memory",
    flagged: bool = False,
    dataset: str | None = None,
) -> dict:
    """Evaluate one model (manifest) on one subset; write the cell files into `out_dir`; return metrics.json's
    content. Subset ids without an embedding are counted as missing_videos. The top-k lists come from
    `backend_fn` when given (else the in-memory exact search); the full-ranking first-match ranks and the
    cross-signer variant always come from the in-memory search, and backend_agreement is the share of queries
    whose backend list equals the in-memory one."""
    out = Path(out_dir)
    m = manifest.read(manifest_path)
    meta = m.table.select(["video_id", "gloss", "signer"]).to_pandas()
    row_of = pd.Series(np.arange(len(meta)), index=meta["video_id"])
    wanted = pd.Index(list(dict.fromkeys(subset_ids)))
    present = wanted[wanted.isin(row_of.index)]
    rows = row_of[present].to_numpy()
    x = m.vectors[rows]
    ids = meta["video_id"].to_numpy(object)[rows]
    glosses = meta["gloss"].to_numpy(object)[rows]
    signers = meta["signer"].to_numpy(object)[rows]
    n = len(rows)
    self_row = np.arange(n)

    mem = search(x, x, k, metric, exclude=self_row, query_labels=glosses, corpus_labels=glosses)
    idx, dist, agreement = mem.idx, mem.dist, None
    if backend_fn is not None:
        idx, dist = backend_fn(x, list(ids), k, metric)
        agreement = float((np.asarray(idx) == mem.idx).all(axis=1).mean()) if n else None
    cross = search(
        x, x, k, metric, exclude=self_row, query_groups=signers, corpus_groups=signers,
        query_labels=glosses, corpus_labels=glosses,
    )
    rel_all, rel_cross = relevance(glosses), relevance(glosses, signers)
    matches = match_matrix(idx, glosses, glosses)
    variants = {
        "all": evaluate_queries(matches, rel_all, mem.first_match),
        "cross_signer": evaluate_queries(match_matrix(cross.idx, glosses, glosses), rel_cross, cross.first_match),
    }
    result = {
        "dataset": dataset,
        "model": m.model,
        "subset": subset_name,
        "k": k,
        "metric": metric,
        "backend": backend_name,
        "flagged": bool(flagged),
        "videos": int(n),
        "glosses": int(pd.Series(glosses).nunique()),
        "missing_videos": int(len(wanted) - len(present)),
        "backend_agreement": agreement,
        "variants": {name: {"metrics": v.values, "chance": v.chance, "counts": v.counts} for name, v in variants.items()},
    }
    write_json(out / "metrics.json", _nan_to_none(result))
    write_text(out / "metrics.tsv", _tsv(_long_table(variants, k)))
    _write_neighbours(out / "neighbours.parquet", ids, glosses, idx, dist, matches)
    evaluated = rel_all.n_relevant >= 1
    write_text(out / "confusions.tsv", _tsv(confusion_pairs(idx[evaluated], glosses[evaluated], glosses)))
    write_text(out / "per_gloss.tsv", _tsv(per_gloss_table(glosses, matches, mem.first_match, evaluated, glosses)))
    return result


def _long_table(variants: dict[str, RankingMetrics], k: int) -> pd.DataFrame:
    return pd.DataFrame(
        [(name, key, v.values[key], v.chance[key]) for name, v in variants.items() for key in metric_names(k)],
        columns=["variant", "metric", "value", "chance"],
    )


def _write_neighbours(path: Path, ids, glosses, idx: np.ndarray, dist: np.ndarray, matches: np.ndarray) -> None:
    nq, k = idx.shape
    q, r = np.nonzero(idx >= 0)
    table = pa.table(
        {
            "query_video_id": pa.array(ids[q], pa.string()),
            "rank": pa.array(r + 1, pa.int16()),
            "neighbour_video_id": pa.array(ids[idx[q, r]], pa.string()),
            "distance": pa.array(dist[q, r], pa.float32()),
            "match": pa.array(matches[q, r], pa.bool_()),
            "query_gloss": pa.array(glosses[q], pa.string()),
            "neighbour_gloss": pa.array(glosses[idx[q, r]], pa.string()),
        }
    )
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def _tsv(df: pd.DataFrame) -> str:
    buf = io.StringIO()
    df.to_csv(buf, sep="\t", index=False, float_format="%.6g", lineterminator="\n")
    return buf.getvalue()


def _nan_to_none(obj):
    if isinstance(obj, dict):
        return {key: _nan_to_none(v) for key, v in obj.items()}
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj


def aggregate_grid(
    cell_dirs: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    heatmap_metric: str | None = None,
) -> pd.DataFrame:
    """Collect cells into ``grid.tsv`` and draw the three figures (module docstring); return the grid table."""
    out = Path(out_dir)
    records, confusions = [], []
    for cell in map(Path, cell_dirs):
        info = json.loads((cell / "metrics.json").read_text())
        for variant, v in info["variants"].items():
            row = {key: info[key] for key in ("dataset", "model", "subset", "k", "metric", "backend", "flagged", "videos", "glosses", "missing_videos")}
            row["variant"] = variant
            row |= {name: v["metrics"][name] for name in v["metrics"]}
            row |= {f"{name}_chance": v["chance"][name] for name in v["chance"]}
            row |= {"evaluated_queries": v["counts"]["evaluated_queries"], "excluded_queries": v["counts"]["excluded_queries"]}
            records.append(row)
        conf = pd.read_csv(cell / "confusions.tsv", sep="\t", keep_default_na=False, dtype={"gloss_a": str, "gloss_b": str})
        confusions.append(conf.assign(model=info["model"], subset=info["subset"]))
    grid = pd.DataFrame.from_records(records).astype({"flagged": bool}) if records else pd.DataFrame()
    write_text(out / "grid.tsv", _tsv(grid))
    if grid.empty:
        figures.placeholder(out / "grid_heatmap.png", "no evaluation cells")
        figures.placeholder(out / "metric_bars.png", "no evaluation cells")
    else:
        k = int(grid["k"].iloc[0])
        figures.grid_heatmap(grid, heatmap_metric or f"p_at_{k}", out / "grid_heatmap.png")
        figures.metric_bars(grid, out / "metric_bars.png")
    figures.confusion_bars(pd.concat(confusions) if confusions else pd.DataFrame(), out / "top_confusions.png")
    return grid
