"""k-nearest-neighbour search over one (dataset, model), through its HNSW index or as an exact scan.

Distances, lower = nearer for every metric:
- cosine: pgvector `<=>`, 1 - cosine similarity (0..2);
- l2: pgvector `<->`, Euclidean distance (not squared);
- ip: pgvector `<#>`, the NEGATIVE inner product (-a.b), so the most similar vector has the lowest distance.

`exact=True` orders by `vec <=> q` on the uncast column, an expression no index holds, so PostgreSQL scans every
vector of the (dataset, model) and the result equals brute force. The approximate path orders by the indexed
expression `vec::vector(dim)` (see schema.py), and only the model's own metric has an index: another metric is
always answered exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from signsearch.db import schema
from signsearch.db.errors import DimensionMismatch, InvalidQuery, UnknownDataset, UnknownModel, UnknownVideo

FILTER_KEYS = ("split", "gloss", "signer")
RESULT_COLUMNS = ("video_id", "gloss", "signer", "split", "path", "pose_path")
# A unit's source video and range (None for whole videos): players seek `path` to start_s and stop at end_s.
UNIT_COLUMNS = ("source_video_id", "start_s", "end_s", "start_frame", "end_frame")
# ef_search bounds the HNSW candidate list; 40 (pgvector's default) loses recall on clustered data, so take more.
MIN_EF_SEARCH = 100


@dataclass(frozen=True)
class Target:
    """A resolved (dataset, model) pair: the ids the SQL and the index predicate use."""

    dataset_id: int
    model_id: int
    dim: int
    metric: str


def resolve(conn: psycopg.Connection, dataset: str, model: str) -> Target:
    """Look up (dataset, model), raising UnknownDataset / UnknownModel with the names that do exist."""
    row = conn.execute("SELECT id FROM dataset WHERE name = %s", (dataset,)).fetchone()
    if row is None:
        known = [r["name"] for r in list_datasets(conn)]
        raise UnknownDataset(f"unknown dataset '{dataset}' (in the database: {', '.join(known) or 'none; load one first'})")
    dataset_id = row[0]
    # EXISTS in the select list stays one index probe; in WHERE the planner turns it into a scan of every row.
    row = conn.execute(
        "SELECT m.id, m.dim, m.metric, EXISTS (SELECT 1 FROM embedding e WHERE e.dataset_id = %s AND e.model_id = m.id)"
        " FROM model m WHERE m.name = %s",
        (dataset_id, model),
    ).fetchone()
    if row is None or not row[3]:
        known = [r["name"] for r in list_models(conn, dataset)]
        raise UnknownModel(f"no model '{model}' for dataset '{dataset}' (loaded: {', '.join(known) or 'none'})")
    return Target(dataset_id, row[0], row[1], row[2])


def _vector(vector: Any, dim: int, model: str) -> np.ndarray:
    arr = np.asarray(vector, dtype=np.float32)
    if arr.ndim != 1 or arr.shape[0] != dim:
        raise DimensionMismatch(f"query vector has shape {arr.shape} but model '{model}' has dim {dim}")
    if not np.isfinite(arr).all():
        raise InvalidQuery("query vector has non-finite values")
    return arr


def _metric(metric: str | None, target: Target) -> str:
    metric = metric or target.metric
    if metric not in schema.OPERATORS:
        raise InvalidQuery(f"unknown metric '{metric}' (one of {', '.join(schema.OPERATORS)})")
    return metric


def _knn_sql(target: Target, metric: str, exact: bool, where: dict[str, str], exclude: bool,
             gallery: bool) -> sql.Composed:
    bad = sorted(set(where) - set(FILTER_KEYS))
    if bad:
        raise InvalidQuery(f"cannot filter on {bad}: allowed keys are {', '.join(FILTER_KEYS)}")
    vec = sql.SQL("e.vec") if exact else sql.SQL("e.") + schema.vector_expr(target.dim)
    distance = sql.SQL("{} {} %(q)s::vector({})").format(vec, sql.SQL(schema.OPERATORS[metric]),
                                                        sql.Literal(target.dim))
    # The ids are literals, not parameters: the planner matches the partial index predicate at plan time.
    conds = [sql.SQL("e.dataset_id = {}").format(sql.Literal(target.dataset_id)),
             sql.SQL("e.model_id = {}").format(sql.Literal(target.model_id))]
    conds += [sql.SQL("v.{} = {}").format(sql.Identifier(key), sql.Placeholder(key)) for key in sorted(where)]
    if exclude:
        conds.append(sql.SQL("v.video_id IS DISTINCT FROM %(exclude)s::text"))
    if gallery:
        conds.append(sql.SQL("v.video_id = ANY(%(gallery)s)"))
    # Exact results break distance ties by id so they are reproducible; the index path cannot add a tie-breaker.
    order = sql.SQL("distance, v.video_id") if exact else distance
    return sql.SQL(
        "SELECT {cols}, {distance} AS distance FROM embedding e JOIN video v ON v.id = e.video_pk "
        "WHERE {conds} ORDER BY {order} LIMIT %(k)s"
    ).format(cols=sql.SQL(", ").join(sql.SQL("v.") + sql.Identifier(c) for c in RESULT_COLUMNS + UNIT_COLUMNS),
             distance=distance, conds=sql.SQL(" AND ").join(conds), order=order)


def _rows(cur: psycopg.Cursor) -> list[dict[str, Any]]:
    return [dict(zip(RESULT_COLUMNS + UNIT_COLUMNS, r[:-1]), rank=i, distance=float(r[-1]))
            for i, r in enumerate(cur, start=1)]


def _run(conn: psycopg.Connection, query: sql.Composed, params: dict[str, Any], k: int, exact: bool,
         filtered: bool) -> list[dict[str, Any]]:
    with conn.transaction(), conn.cursor() as cur:
        if not exact:
            cur.execute(sql.SQL("SET LOCAL hnsw.ef_search = {}").format(sql.Literal(min(1000, max(MIN_EF_SEARCH, 2 * k)))))
            if filtered:
                # Keep walking the graph until k rows pass the filter, still in exact distance order.
                cur.execute("SET LOCAL hnsw.iterative_scan = strict_order")
        cur.execute(query, params)
        return _rows(cur)


def _check_k(k: int) -> None:
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise InvalidQuery(f"k must be a positive integer (got {k!r})")


def knn(
    conn: psycopg.Connection,
    *,
    dataset: str,
    model: str,
    vector: np.ndarray,
    k: int = 10,
    metric: str | None = None,
    where: dict[str, str] | None = None,
    exact: bool = False,
    exclude_video_id: str | None = None,
) -> list[dict[str, Any]]:
    """The k nearest units: dicts of rank (1-based), video_id, gloss, signer, split, path, pose_path, distance, and
    the unit's source_video_id, start_s, end_s, start_frame, end_frame (None when the unit is a whole video)."""
    _check_k(k)
    target = resolve(conn, dataset, model)
    q = _vector(vector, target.dim, model)
    metric = _metric(metric, target)
    where = dict(where or {})
    query = _knn_sql(target, metric, exact, where, exclude_video_id is not None, gallery=False)
    params = {"q": q, "k": int(k), "exclude": exclude_video_id, **where}
    return _run(conn, query, params, k, exact, filtered=bool(where) or exclude_video_id is not None)


def knn_by_id(
    conn: psycopg.Connection,
    *,
    dataset: str,
    model: str,
    video_id: str,
    k: int = 10,
    metric: str | None = None,
    where: dict[str, str] | None = None,
    exact: bool = False,
) -> list[dict[str, Any]]:
    """Neighbours of a stored video, itself left out."""
    vector = get_embedding(conn, dataset, model, video_id)
    return knn(conn, dataset=dataset, model=model, vector=vector, k=k, metric=metric, where=where, exact=exact,
               exclude_video_id=video_id)


def knn_batch(
    conn: psycopg.Connection,
    dataset: str,
    model: str,
    vectors: np.ndarray,
    k: int = 10,
    metric: str | None = None,
    exact: bool = True,
    *,
    exclude_video_ids: Sequence[str | None] | None = None,
    gallery: Sequence[str] | None = None,
) -> list[list[dict[str, Any]]]:
    """knn for each row of `vectors` (one query each, one statement prepared once), for evaluation parity.

    exclude_video_ids[i] leaves that id out of row i's results (leave-one-out); gallery restricts the candidates
    to those video ids (an evaluation subset).
    """
    _check_k(k)
    target = resolve(conn, dataset, model)
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[1] != target.dim:
        raise DimensionMismatch(f"query vectors have shape {vectors.shape} but model '{model}' has dim {target.dim}")
    if exclude_video_ids is not None and len(exclude_video_ids) != len(vectors):
        raise InvalidQuery(f"{len(exclude_video_ids)} exclude_video_ids for {len(vectors)} vectors")
    metric = _metric(metric, target)
    excludes = list(exclude_video_ids) if exclude_video_ids is not None else [None] * len(vectors)
    query = _knn_sql(target, metric, exact, {}, exclude=exclude_video_ids is not None, gallery=gallery is not None)
    base = {"k": int(k), "gallery": list(gallery) if gallery is not None else None}
    results = []
    with conn.transaction(), conn.cursor() as cur:
        if not exact:
            cur.execute(sql.SQL("SET LOCAL hnsw.ef_search = {}").format(sql.Literal(min(1000, max(MIN_EF_SEARCH, 2 * k)))))
            cur.execute("SET LOCAL hnsw.iterative_scan = strict_order")
        for q, ex in zip(vectors, excludes):
            cur.execute(query, {**base, "q": _vector(q, target.dim, model), "exclude": ex},
                        prepare=True)
            results.append(_rows(cur))
    return results


def get_embedding(conn: psycopg.Connection, dataset: str, model: str, video_id: str) -> np.ndarray:
    """The stored vector of one video as float32."""
    target = resolve(conn, dataset, model)
    row = conn.execute(
        "SELECT e.vec FROM embedding e JOIN video v ON v.id = e.video_pk "
        "WHERE e.dataset_id = %s AND e.model_id = %s AND v.video_id = %s",
        (target.dataset_id, target.model_id, video_id),
    ).fetchone()
    if row is None:
        raise UnknownVideo(f"no video '{video_id}' with a '{model}' embedding in dataset '{dataset}'")
    return np.asarray(row[0].to_numpy(), dtype=np.float32)


def list_datasets(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Every dataset with its video count and the models loaded for it."""
    cur = conn.execute(
        """
        SELECT d.name, d.kind, d.root, d.metadata,
               (SELECT count(*) FROM video v WHERE v.dataset_id = d.id) AS videos,
               coalesce((SELECT array_agg(DISTINCT m.name ORDER BY m.name) FROM embedding e JOIN model m ON m.id = e.model_id
                         WHERE e.dataset_id = d.id), '{}') AS models
          FROM dataset d ORDER BY d.name
        """
    )
    names = [c.name for c in cur.description]
    return [dict(zip(names, r)) for r in cur]


def list_models(conn: psycopg.Connection, dataset: str | None = None) -> list[dict[str, Any]]:
    """Models with their dim, metric, fingerprint and embedding count (within `dataset` when given)."""
    cur = conn.execute(
        """
        SELECT m.name, m.dim, m.metric, m.fingerprint, count(e.video_pk) AS embeddings
          FROM model m
          JOIN embedding e ON e.model_id = m.id
          JOIN dataset d ON d.id = e.dataset_id
         WHERE %(dataset)s::text IS NULL OR d.name = %(dataset)s::text
         GROUP BY m.id ORDER BY m.name
        """,
        {"dataset": dataset},
    )
    names = [c.name for c in cur.description]
    return [dict(zip(names, r)) for r in cur]
