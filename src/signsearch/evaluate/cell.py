"""One evaluation grid cell (dataset x model x subset): the manifest is read once, every variant computed, and
each file written once (names in `signsearch.layout.CELL_FILES`, all atomic):

* ``metrics.json``: {dataset, model, subset, k, metric, backend, flagged, videos, glosses, missing_videos,
  backend_agreement, subset_note, variants: {all | cross_signer | dictionary | text_video: {metrics, chance,
  counts; best (all, cross_signer: a perfect ranking's values)}}} (NaN written as null). A cell of a skipped
  subset holds {dataset, model, subset, skipped}.
* ``metrics.tsv``: long table of the all / cross_signer variants, columns variant, metric, value, chance, best.
* ``neighbours.parquet``: query_video_id, rank (1..k), neighbour_video_id, distance (float32), match (bool),
  query_gloss, neighbour_gloss; every query of the subset, variant 'all', ranks with no candidate left out.
* ``confusions.tsv``: gloss_a, gloss_b, a_to_b, b_to_a, total (`confusions.confusion_pairs`, evaluated queries).
* ``per_gloss.tsv``: gloss, videos, queries, p_at_1, p_at_k, hit_rate, mrr, median_first_rank.

The 'all' variant retrieves among all other videos of the subset; 'cross_signer' also removes the query's own
signer's videos (metrics module docstring for the definitions and chance levels). 'dictionary' is ASL Citizen's
protocol (test videos against training videos), 'text_video' the SignCLIP paper's (models with a text tower).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from signsearch import manifest
from signsearch.atomic import atomic_path, write_json, write_text
from signsearch.embed.spec import ModelSpec
from signsearch.evaluate import dictionary, text_video
from signsearch.evaluate.incremental import Cache
from signsearch.evaluate.confusions import confusion_pairs, per_gloss_table
from signsearch.evaluate.materialise import SKIPPED
from signsearch.evaluate.metrics import RankingMetrics, evaluate_queries, match_matrix, metric_names, relevance
from signsearch.evaluate.retrieval import reported
from signsearch.evaluate.subsets import read_subset

# (vectors (n, dim), video_ids, k, metric) -> (idx (n, k), dist (n, k)): all-against-all, self excluded, rows of
# the given vectors, ties by ascending row. The pgvector backend is adapted to this shape by `_pgvector_backend`.
BackendFn = Callable[[np.ndarray, list[str], int, str], tuple[np.ndarray, np.ndarray]]


@dataclass
class CellResult:
    """A cell's content before it is written: metrics.json's dict and the four tables."""

    metrics: dict[str, Any]
    table: pd.DataFrame
    neighbours: pa.Table
    confusions: pd.DataFrame
    per_gloss: pd.DataFrame


def evaluate_cell(
    m: manifest.Manifest,
    subset_ids: Sequence[str],
    *,
    subset_name: str,
    k: int = 10,
    metric: str = "l2",
    backend_fn: BackendFn | None = None,
    backend_name: str = "memory",
    flagged: bool = False,
    dataset: str | None = None,
    cache: Cache | None = None,
) -> CellResult:
    """The all / cross_signer variants of one model (manifest) on one subset. Subset ids without an embedding
    are counted as missing_videos. The top-k lists come from `backend_fn` when given (else the in-memory exact
    search); the full-ranking first-match ranks and the cross-signer variant always come from the in-memory
    search, and backend_agreement is the share of queries whose backend list equals the in-memory one.
    With `cache`, the in-memory search is updated from the cached one when videos were only added
    (`signsearch.evaluate.incremental`; the same results as searching from scratch)."""
    meta = m.table.select(["video_id", "gloss", "signer", "split"]).to_pandas()
    row_of = pd.Series(np.arange(len(meta)), index=meta["video_id"])
    wanted = pd.Index(list(dict.fromkeys(subset_ids)))
    present = wanted[wanted.isin(row_of.index)]
    rows = row_of[present].to_numpy()
    x = m.vectors[rows]
    ids = meta["video_id"].to_numpy(object)[rows]
    glosses = meta["gloss"].to_numpy(object)[rows]
    signers = meta["signer"].to_numpy(object)[rows]
    n = len(rows)

    cache = cache if cache is not None else Cache(None, k, metric)
    cache.bind(ids, x, glosses, signers, meta["split"].to_numpy(object)[rows])
    mem, cross = cache.search("all", x, glosses, None), cache.search("cross_signer", x, glosses, signers)
    idx, dist, agreement = mem.idx[:, :k], reported(mem.key[:, :k], metric), None
    if backend_fn is not None:
        idx, dist = backend_fn(x, list(ids), k, metric)
        agreement = float((np.asarray(idx) == mem.idx[:, :k]).all(axis=1).mean()) if n else None
    rel_all, rel_cross = relevance(glosses), relevance(glosses, signers)
    matches = match_matrix(idx, glosses, glosses)
    variants = {
        "all": evaluate_queries(matches, rel_all, mem.first),
        "cross_signer": evaluate_queries(match_matrix(cross.idx[:, :k], glosses, glosses), rel_cross, cross.first),
    }
    metrics = {
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
        "variants": {name: {"metrics": v.values, "chance": v.chance, "best": v.best, "counts": v.counts}
                     for name, v in variants.items()},
    }
    evaluated = rel_all.n_relevant >= 1
    return CellResult(
        metrics=metrics,
        table=_long_table(variants, k),
        neighbours=_neighbours(ids, glosses, idx, dist, matches),
        confusions=confusion_pairs(idx[evaluated], glosses[evaluated], glosses, rel_all.n_relevant[evaluated]),
        per_gloss=per_gloss_table(glosses, matches, mem.first, evaluated, glosses),
    )


def write_cell(result: CellResult, outputs: Mapping[str, str | Path]) -> None:
    """Write each of the cell's files once (`outputs` by the roles of `signsearch.layout.CELL_FILES`)."""
    write_json(outputs["metrics"], _json_ready(result.metrics))
    write_text(outputs["table"], tsv_text(result.table))
    with atomic_path(outputs["neighbours"]) as tmp:
        pq.write_table(result.neighbours, tmp, compression="zstd")
    write_text(outputs["confusions"], tsv_text(result.confusions))
    write_text(outputs["per_gloss"], tsv_text(result.per_gloss))


def run_cell(
    *, manifest_path: str | Path, subset_path: str | Path, registry_path: str | Path, outputs: Mapping[str, str | Path],
    spec: ModelSpec, dataset: str, settings: Mapping[str, Any], data_dir: str, cache_path: str | Path | None = None,
) -> dict[str, Any]:
    """The workflow's evaluate job: every variant of one cell from one read of the manifest; return metrics.json.
    `cache_path`: the cell's incremental cache (`signsearch.evaluate.incremental`), read and rewritten."""
    subset = read_subset(subset_path)
    base = {"dataset": dataset, "model": spec.name, "subset": subset.name}
    if not subset.video_ids:
        _write_skipped(outputs, {**base, "skipped": subset.note.removeprefix(SKIPPED) or "the subset has no videos"})
        return base
    reg = pq.read_table(registry_path, columns=["video_id", "split"]).to_pandas()
    splits = reg.loc[reg["video_id"].isin(subset.video_ids), "split"].unique()
    backend = settings["backend"]
    m, ids = manifest.read(manifest_path), set(subset.video_ids)
    cache = Cache(cache_path, settings["k"], settings["metric"])
    result = evaluate_cell(
        m, subset.video_ids, subset_name=subset.name, k=settings["k"], metric=settings["metric"],
        flagged=spec.saw_in_training(dataset, list(splits)), dataset=dataset,
        backend_fn=_pgvector_backend(data_dir, dataset, spec.name) if backend == "pgvector" else None,
        backend_name=backend, cache=cache,
    )
    extra = {"dictionary": _dictionary_variant(m, ids, settings["metric"], cache)}
    if spec.has_text:  # recomputed every time: per model with a text tower, not the pose baseline at scale
        extra["text_video"] = _text_video_variant(m, ids, spec)
    result.metrics["variants"] |= {name: block for name, block in extra.items() if block is not None}
    result.metrics["subset_note"] = subset.note or None
    write_cell(result, outputs)
    cache.save()
    return result.metrics


def _pgvector_backend(data_dir: str, dataset: str, model: str) -> BackendFn:
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


def _dictionary_variant(m: manifest.Manifest, ids: set[str], metric: str, cache: Cache) -> dict[str, Any] | None:
    """ASL Citizen's dictionary protocol: the subset's test videos against its training videos."""
    meta = m.table.select(["video_id", "gloss", "split"]).to_pandas()
    keep = meta["video_id"].isin(ids) & meta["gloss"].notna()
    test, train = keep & (meta["split"] == "test"), keep & (meta["split"] == "train")
    if not test.any() or not train.any():
        return None
    vectors = m.vectors
    ranks = cache.dictionary(
        meta.loc[test, "video_id"].to_numpy(str), vectors[test.to_numpy()], meta.loc[test, "gloss"].to_numpy(object),
        meta.loc[train, "video_id"].to_numpy(str), vectors[train.to_numpy()], meta.loc[train, "gloss"].to_numpy(object),
    )
    out = dictionary.dictionary_metrics(ranks)
    g = int(meta.loc[train, "gloss"].nunique())
    ranks_all = np.arange(1, g + 1, dtype=np.float64)
    chance = {f"top_{n}": min(n, g) / g for n in dictionary.TOPS}
    chance |= {"mrr": float((1 / ranks_all).mean()), "dcg": float((1 / np.log2(1 + ranks_all)).mean())}
    values = {key: out[key] for key in chance}
    excluded = out["excluded_no_training_video"]
    return _chance_block(values, chance, out["queries"] - excluded, excluded)


def _text_video_variant(m: manifest.Manifest, ids: set[str], spec: ModelSpec) -> dict[str, Any] | None:
    """The SignCLIP paper's protocol: prompts built from the subset's glosses against its videos."""
    from signsearch.embed.factory import load_embedder

    meta = m.table.select(["video_id", "gloss"]).to_pandas()
    keep = (meta["video_id"].isin(ids) & meta["gloss"].notna()).to_numpy()
    glosses = sorted(meta.loc[keep, "gloss"].unique())
    if len(glosses) < 2:
        return None
    embedder = load_embedder(spec)
    out = text_video.text_video_metrics(m.vectors[keep], meta.loc[keep, "gloss"].to_numpy(object),
                                        embedder.embed_texts(glosses), glosses)
    values = {k: v for k, v in out.items() if not k.endswith("_chance") and isinstance(v, float)}
    chance = {k: out.get(f"{k}_chance", math.nan) for k in values}
    return _chance_block(values, chance, int(keep.sum()), 0)


def _write_skipped(outputs: Mapping[str, str | Path], info: dict[str, Any]) -> None:
    write_json(outputs["metrics"], info)
    write_text(outputs["table"], "variant\tmetric\tvalue\tchance\tbest\n")
    write_text(outputs["confusions"], "gloss_a\tgloss_b\ta_to_b\tb_to_a\ttotal\n")
    write_text(outputs["per_gloss"], "gloss\tvideos\tqueries\tp_at_1\tp_at_k\thit_rate\tmrr\tmedian_first_rank\n")
    pd.DataFrame({"query_video_id": pd.Series(dtype=str)}).to_parquet(outputs["neighbours"])


def _long_table(variants: dict[str, RankingMetrics], k: int) -> pd.DataFrame:
    return pd.DataFrame(
        [(name, key, v.values[key], v.chance[key], v.best.get(key)) for name, v in variants.items()
         for key in metric_names(k)],
        columns=["variant", "metric", "value", "chance", "best"],
    )


def _neighbours(ids: np.ndarray, glosses: np.ndarray, idx: np.ndarray, dist: np.ndarray, matches: np.ndarray) -> pa.Table:
    q, r = np.nonzero(idx >= 0)
    return pa.table(
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


def tsv_text(df: pd.DataFrame) -> str:
    """A table as the TSV text of every evaluation file (6 significant digits)."""
    buf = io.StringIO()
    df.to_csv(buf, sep="\t", index=False, float_format="%.6g", lineterminator="\n")
    return buf.getvalue()


def _json_ready(obj: Any) -> Any:
    """The one NaN-to-null conversion of the evaluation: JSON has no NaN; numpy scalars become plain numbers."""
    return json.loads(json.dumps(obj, default=float), parse_constant=lambda _constant: None)
