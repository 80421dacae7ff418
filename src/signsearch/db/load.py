"""Load one (dataset, model) manifest: COPY BINARY into a staging table, then merge, all in ONE transaction.

A failed or killed load (SIGKILL included: the server rolls back when the client vanishes) leaves the previous state.
Reruns are idempotent; changed vectors and metadata replace the old ones; videos gone from the manifest lose this
model's embedding, and videos left with no embedding at all are deleted.

Only what changed is sent: each embedding row keeps a digest of what it was loaded from (its staged columns and
vector bytes, table `embedding_digest`, deleted with the row), so a load stages only rows whose digest differs or is
missing and deletes the ids the manifest no longer has. A database that never saw these rows (a new or different
SIGNSEARCH_DB_URL, an empty table, rows loaded before migration 3) has no digests for them: every row is sent, as a
full load. The receipt's `sent` counts the staged rows. Video metadata is shared by the dataset's models: a row this
model's manifest leaves unchanged keeps the metadata another model's later load gave it.

Dimension policy: a model name keeps one dimension. A manifest of another dimension fails, unless its fingerprint
differs from the stored one (the model was really replaced) AND no other dataset holds embeddings of that model;
then the model's old vectors are dropped and it takes the new dimension. Otherwise the other datasets' vectors would
silently stop matching the model row. The metric is the model's too: changing it rebuilds this dataset's index,
while other datasets' indexes keep the old operator class and their default queries run exact until reloaded.
"""

from __future__ import annotations

import hashlib
import os
import struct
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from signsearch import atomic
from signsearch import manifest as manifest_mod
from signsearch.db import schema, server
from signsearch.db.errors import DimensionMismatch, LoadError

STAGE_COLUMNS = ("video_id", "gloss", "signer", "split", "path", "pose_path", "frames",
                 "source_video_id", "segment_index", "start_frame", "end_frame", "start_s", "end_s", "vec")
STAGE_TYPES = ("text", "text", "text", "text", "text", "text", "int4", "text", "int4", "int4", "int4", "float8",
               "float8", "vector")
# The video columns a load writes (all but the id and the vector); the unit columns stay NULL for whole videos.
VIDEO_COLUMNS = STAGE_COLUMNS[1:-1]
DIGEST_BYTES = 16
# Rebuild the HNSW graph from scratch when more than this share of rows changes: a bulk build is much faster than
# inserting that many vectors into the live graph one by one.
REBUILD_FRACTION = 0.1


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _lock_key(model: str) -> int:
    """A signed 64-bit advisory-lock key for a model: its row is read, created or replaced only under this lock
    (the model row is shared by every dataset, so a per-(dataset, model) lock let two first loads both INSERT it)."""
    raw = hashlib.sha256(f"signsearch-load\x1f{model}".encode()).digest()[:8]
    return struct.unpack(">q", raw)[0]


def _check_manifest(m: manifest_mod.Manifest, path: Path, dataset: str, model: str) -> list[str]:
    ids = m.column("video_id")
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        dupes = sorted({v for v in ids if v in seen or seen.add(v)})
        raise LoadError(f"{path}: duplicate video_id {dupes[:5]}; ids must be unique per manifest")
    others = sorted(set(m.column("dataset")) - {dataset})
    if others:
        raise LoadError(f"{path}: rows of dataset {others[:3]} in a manifest loaded as dataset '{dataset}'")
    if len(m.table) and m.model != model:
        raise LoadError(f"{path}: manifest of model '{m.model}' loaded as model '{model}'")
    return ids


def _upsert_model(conn: psycopg.Connection, dataset_id: int, name: str, dim: int, metric: str,
                  fingerprint: str, path: Path) -> int:
    """The model's id (a new one when a replaced model changes dimension; see the module docstring)."""
    row = conn.execute("SELECT id, dim, fingerprint FROM model WHERE name = %s FOR UPDATE", (name,)).fetchone()
    if row is not None and row[1] != dim:
        model_id, old_dim, old_fp = row
        others = [r[0] for r in conn.execute(
            "SELECT DISTINCT d.name FROM embedding e JOIN dataset d ON d.id = e.dataset_id "
            "WHERE e.model_id = %s AND e.dataset_id <> %s ORDER BY 1", (model_id, dataset_id))]
        if old_fp == fingerprint or others:
            why = (f"datasets {others} hold its {old_dim}-d vectors" if others
                   else "the fingerprint is unchanged, so this is not a new model")
            raise DimensionMismatch(
                f"{path}: model '{name}' is stored with dim {old_dim} but the manifest has dim {dim} ({why}); "
                f"give the new model another name"
            )
        # A new model row, so a new id: the old vectors, dead but not yet vacuumed, then fall outside the new index's
        # predicate (CREATE INDEX still reads dead rows and would fail casting them to the new dimension).
        schema.drop_index(conn, dataset_id, model_id)
        conn.execute("DELETE FROM model WHERE id = %s", (model_id,))  # cascades to its embeddings
        row = None
    if row is None:
        model_id = conn.execute("INSERT INTO model (name, dim, metric, fingerprint) VALUES (%s, %s, %s, %s) "
                                "RETURNING id", (name, dim, metric, fingerprint)).fetchone()[0]
        return model_id
    conn.execute("UPDATE model SET metric = %s, fingerprint = %s WHERE id = %s", (metric, fingerprint, row[0]))
    return row[0]


def _stage_columns(m: manifest_mod.Manifest, ids: list[str], paths: dict[str, str] | None) -> list[list[Any]]:
    """The manifest's rows as `STAGE_COLUMNS` but the vector, column by column."""
    # A unit plays from its source video: `paths` is keyed by source video id.
    sources = m.column("source_video_id") if m.has_units else ids
    units = [m.column(c) if m.has_units else [None] * len(ids) for c in manifest_mod.UNIT_COLUMNS]
    return [ids, m.column("gloss"), m.column("signer"), m.column("split"),
            [paths.get(v) for v in sources] if paths else [None] * len(ids), m.column("pose_path"),
            m.column("frames"), *units]


def _digests(columns: list[list[Any]], vectors: np.ndarray) -> list[bytes]:
    """Per row, a hash of everything a load writes for it: its staged values and its vector's bytes."""
    return [hashlib.blake2b(repr(row).encode() + vectors[i].tobytes(), digest_size=DIGEST_BYTES).digest()
            for i, row in enumerate(zip(*columns))]


def _stored_digests(conn: psycopg.Connection, dataset_id: int, model_id: int) -> dict[str, bytes | None]:
    """The (dataset, model)'s stored rows: video id -> the digest it was loaded with (None when unknown)."""
    return dict(conn.execute(
        "SELECT v.video_id, g.digest FROM embedding e JOIN video v ON v.id = e.video_pk "
        "LEFT JOIN embedding_digest g ON g.video_pk = e.video_pk AND g.model_id = e.model_id "
        "WHERE e.dataset_id = %s AND e.model_id = %s", (dataset_id, model_id)).fetchall())


def _copy_stage(conn: psycopg.Connection, columns: list[list[Any]], vectors: np.ndarray, digests: list[bytes],
                send: list[int]) -> None:
    """COPY rows `send` (positions in `columns`) into the transaction's staging table."""
    conn.execute(
        "CREATE TEMP TABLE stage (video_id text NOT NULL, gloss text, signer text, split text, path text, "
        "pose_path text, frames integer, source_video_id text, segment_index integer, start_frame integer, "
        "end_frame integer, start_s double precision, end_s double precision, vec vector NOT NULL, "
        "digest bytea NOT NULL) ON COMMIT DROP"
    )
    with conn.cursor() as cur, cur.copy(f"COPY stage ({', '.join(STAGE_COLUMNS)}, digest) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types([*STAGE_TYPES, "bytea"])
        for i in send:
            copy.write_row((*(column[i] for column in columns), vectors[i], digests[i]))
    conn.execute("CREATE UNIQUE INDEX ON stage (video_id)")
    conn.execute("ANALYZE stage")  # temp tables get no autovacuum statistics; the merge joins need them


def _vector_changes(conn: psycopg.Connection, dataset_id: int, model_id: int) -> int:
    """Staged rows whose vector is new or differs from the stored one (graph inserts if the index is kept)."""
    return conn.execute(
        """
        SELECT count(*) FROM stage s
          LEFT JOIN video v ON v.dataset_id = %(d)s AND v.video_id = s.video_id
          LEFT JOIN embedding e ON e.video_pk = v.id AND e.model_id = %(m)s
         WHERE e.vec IS DISTINCT FROM s.vec
        """,
        {"d": dataset_id, "m": model_id},
    ).fetchone()[0]


def _columns(prefix: str) -> sql.Composed:
    return sql.SQL(", ").join(sql.SQL(prefix) + sql.Identifier(c) for c in VIDEO_COLUMNS)


# Insert new videos, update changed ones (RETURNING only rows it wrote: inserted, or metadata changed).
_UPSERT_VIDEOS = sql.SQL(
    """
    INSERT INTO video AS v (dataset_id, video_id, {cols})
    SELECT %(d)s, video_id, {cols} FROM stage
    ON CONFLICT (dataset_id, video_id) DO UPDATE SET ({cols}) = ROW({new})
     WHERE ({old}) IS DISTINCT FROM ({new})
    RETURNING v.id, (xmax = 0) AS inserted
    """
).format(cols=_columns(""), old=_columns("v."), new=_columns("EXCLUDED."))


def _merge(conn: psycopg.Connection, dataset_id: int, model_id: int, gone: list[str]) -> dict[str, int]:
    """Write the staged rows and their digests; delete this model's embeddings of the `gone` video ids."""
    meta_changed = {
        row[0] for row in conn.execute(_UPSERT_VIDEOS, {"d": dataset_id}) if not row[1]
    }
    inserted: set[int] = set()
    vec_changed: set[int] = set()
    for pk, is_new in conn.execute(
        """
        INSERT INTO embedding AS e (video_pk, dataset_id, model_id, vec)
        SELECT v.id, %(d)s, %(m)s, s.vec FROM stage s JOIN video v ON v.dataset_id = %(d)s AND v.video_id = s.video_id
        ON CONFLICT (video_pk, model_id) DO UPDATE SET vec = EXCLUDED.vec WHERE e.vec IS DISTINCT FROM EXCLUDED.vec
        RETURNING e.video_pk, (xmax = 0) AS inserted
        """,
        {"d": dataset_id, "m": model_id},
    ):
        (inserted if is_new else vec_changed).add(pk)
    conn.execute(
        """
        INSERT INTO embedding_digest (video_pk, model_id, digest)
        SELECT v.id, %(m)s, s.digest FROM stage s JOIN video v ON v.dataset_id = %(d)s AND v.video_id = s.video_id
        ON CONFLICT (video_pk, model_id) DO UPDATE SET digest = EXCLUDED.digest
        """,
        {"d": dataset_id, "m": model_id},
    )
    deleted = conn.execute(
        """
        DELETE FROM embedding e USING video v
         WHERE e.video_pk = v.id AND e.dataset_id = %(d)s AND e.model_id = %(m)s AND v.video_id = ANY(%(gone)s)
        """,
        {"d": dataset_id, "m": model_id, "gone": gone},
    ).rowcount
    videos_deleted = conn.execute(
        "DELETE FROM video v WHERE v.dataset_id = %s AND NOT EXISTS (SELECT 1 FROM embedding e WHERE e.video_pk = v.id)",
        (dataset_id,),
    ).rowcount
    return {"inserted": len(inserted), "updated": len((vec_changed | meta_changed) - inserted),
            "deleted": deleted, "videos_deleted": videos_deleted}


def load_manifest(
    url_or_conn: str | psycopg.Connection,
    manifest_path: str | os.PathLike[str],
    *,
    dataset: dict[str, Any],
    model: dict[str, Any],
    receipt_path: str | os.PathLike[str],
    paths: dict[str, str] | None = None,
    full: bool = False,
) -> dict[str, Any]:
    """Load `manifest_path` as (dataset["name"], model["name"]) and write the receipt; returns the receipt.

    dataset = {name, kind, root, metadata}; model = {name, metric}. `paths` maps video_id -> video file (the
    manifest only has pose paths). `full` sends every row whatever the stored digests say (same result, slower).
    Waits for any concurrent load of the same model (into any dataset).
    """
    started = time.perf_counter()
    manifest_path = Path(manifest_path)
    metric = model.get("metric", "cosine")
    if metric not in schema.OPERATORS:
        raise LoadError(f"model '{model['name']}': metric '{metric}' is not one of {', '.join(schema.OPERATORS)}")
    sha256 = _sha256(manifest_path)
    m = manifest_mod.read(manifest_path)
    ids = _check_manifest(m, manifest_path, dataset["name"], model["name"])
    columns, vectors = _stage_columns(m, ids, paths), m.vectors
    digests = _digests(columns, vectors)

    conn = server.connect(url_or_conn) if isinstance(url_or_conn, str) else url_or_conn
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key(model["name"]),))
            dataset_id = conn.execute(
                """
                INSERT INTO dataset (name, kind, root, metadata) VALUES (%s, %s, %s, %s)
                ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, root = EXCLUDED.root, metadata = EXCLUDED.metadata
                RETURNING id
                """,
                (dataset["name"], dataset.get("kind", "unknown"), dataset.get("root"), Jsonb(dataset.get("metadata") or {})),
            ).fetchone()[0]
            old = conn.execute("SELECT metric FROM model WHERE name = %s", (model["name"],)).fetchone()
            model_id = _upsert_model(conn, dataset_id, model["name"], m.dim, metric, m.fingerprint, manifest_path)
            stored = _stored_digests(conn, dataset_id, model_id)
            send = [i for i, (vid, digest) in enumerate(zip(ids, digests)) if full or stored.get(vid) != digest]
            gone = sorted(stored.keys() - set(ids))
            _copy_stage(conn, columns, vectors, digests, send)
            changes = _vector_changes(conn, dataset_id, model_id) + len(gone)
            rebuild = ((old is not None and old[0] != metric)
                       or not schema.index_exists(conn, dataset_id, model_id)
                       or changes > REBUILD_FRACTION * max(len(stored), len(ids)))
            if rebuild:
                schema.drop_index(conn, dataset_id, model_id)  # before the merge: no per-row graph inserts
            counts = _merge(conn, dataset_id, model_id, gone)
            if rebuild:
                schema.create_index(conn, dataset_id, model_id, m.dim, metric, rows=len(ids))
        if counts["inserted"] or counts["updated"] or counts["deleted"]:
            conn.execute("ANALYZE video, embedding")  # plans choose index vs scan from these counts
    finally:
        if isinstance(url_or_conn, str):
            conn.close()

    receipt = {
        "dataset": dataset["name"],
        "model": {"name": model["name"], "dim": m.dim, "metric": metric, "fingerprint": m.fingerprint},
        "manifest": str(manifest_path),
        "manifest_sha256": sha256,
        "rows": len(ids),
        "sent": len(send),
        "inserted": counts["inserted"],
        "updated": counts["updated"],
        "deleted": counts["deleted"],
        "unchanged": len(ids) - counts["inserted"] - counts["updated"],
        "videos_deleted": counts["videos_deleted"],
        "index": {"name": schema.index_name(dataset_id, model_id), "rebuilt": rebuild},
        "schema_version": schema.LATEST,
        "seconds": round(time.perf_counter() - started, 3),
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    atomic.write_json(receipt_path, receipt)
    return receipt
