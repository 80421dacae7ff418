"""Versioned schema migrations and the HNSW index DDL.

Layout decision: ONE `embedding` table whose `vec` column is an untyped `vector`, so models of any dimension share
it, with one partial expression HNSW index per (dataset, model):

    CREATE INDEX embedding_hnsw_d<dataset>_m<model> ON embedding
        USING hnsw ((vec::vector(<dim>)) vector_<metric>_ops) WHERE dataset_id = <d> AND model_id = <m>

An HNSW index needs a fixed dimension, hence the cast to the model's dimension; the partial predicate keeps each
index to the rows it can serve. Per (dataset, model) rather than per model because every load and every query is
per (dataset, model): a load rebuilds only its own index and a filtered query never walks other datasets' vectors.
Compared with one table per model, foreign keys, deletes and listings stay plain SQL with no generated table names.
Queries must repeat the exact cast and write the two ids as literals (see `query.py`) for the planner to match the
index. `embedding.dataset_id` duplicates `video.dataset_id` for that predicate; a composite foreign key keeps the two
equal.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

# Each migration runs once, in order, in its own transaction. Never edit a released one: append a new one.
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "pgvector and the dataset/video/model/embedding tables",
        """
        CREATE EXTENSION IF NOT EXISTS vector;
        CREATE TABLE dataset (
            id serial PRIMARY KEY,
            name text NOT NULL UNIQUE,
            kind text NOT NULL,
            root text,
            metadata jsonb NOT NULL DEFAULT '{}'
        );
        CREATE TABLE video (
            id bigserial PRIMARY KEY,
            dataset_id integer NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,
            video_id text NOT NULL,
            gloss text,
            signer text,
            split text,
            path text,
            pose_path text,
            frames integer,
            UNIQUE (dataset_id, video_id),
            UNIQUE (id, dataset_id)
        );
        CREATE TABLE model (
            id serial PRIMARY KEY,
            name text NOT NULL UNIQUE,
            dim integer NOT NULL CHECK (dim BETWEEN 1 AND 16000),
            metric text NOT NULL CHECK (metric IN ('cosine', 'l2', 'ip')),
            fingerprint text NOT NULL
        );
        CREATE TABLE embedding (
            video_pk bigint NOT NULL,
            dataset_id integer NOT NULL,
            model_id integer NOT NULL REFERENCES model (id) ON DELETE CASCADE,
            vec vector NOT NULL,
            PRIMARY KEY (video_pk, model_id),
            FOREIGN KEY (video_pk, dataset_id) REFERENCES video (id, dataset_id) ON DELETE CASCADE
        );
        CREATE INDEX embedding_dataset_model ON embedding (dataset_id, model_id);
        """,
    ),
    (
        2,
        "units: a video row may be a sign segment or trimmed clip of a source video (issue 10)",
        """
        ALTER TABLE video
            ADD COLUMN IF NOT EXISTS source_video_id text,
            ADD COLUMN IF NOT EXISTS segment_index integer,
            ADD COLUMN IF NOT EXISTS start_frame integer,
            ADD COLUMN IF NOT EXISTS end_frame integer,
            ADD COLUMN IF NOT EXISTS start_s double precision,
            ADD COLUMN IF NOT EXISTS end_s double precision;
        """,
    ),
    (
        3,
        "a digest of what each embedding row was loaded from, so a reload sends only changed rows (issue 15)",
        """
        CREATE TABLE IF NOT EXISTS embedding_digest (
            video_pk bigint NOT NULL,
            model_id integer NOT NULL,
            digest bytea NOT NULL,
            PRIMARY KEY (video_pk, model_id),
            FOREIGN KEY (video_pk, model_id) REFERENCES embedding (video_pk, model_id) ON DELETE CASCADE
        );
        """,
    ),
)
LATEST = MIGRATIONS[-1][0]

# Session-level advisory lock key serialising migrations across processes ("ssmigrat" as ASCII).
_MIGRATION_LOCK = 0x73736D6967726174

OPERATORS = {"cosine": "<=>", "l2": "<->", "ip": "<#>"}
OPCLASSES = {"cosine": "vector_cosine_ops", "l2": "vector_l2_ops", "ip": "vector_ip_ops"}
# An HNSW build whose graph outgrows maintenance_work_mem spills to disk and crawls, so the build gets memory for its
# graph: pgvector 0.8.5 (m = 16) uses 4 bytes per dimension + ~720 bytes per row (measured: "no longer fits after N
# tuples" at 8 and 16 MB, 768-d and 1,202-d), counted here as 1 KB plus 25% headroom. Within [64 MB, 2 GB]: 2 GB
# holds ~290k rows of 1,202-d (83,399 x 1,202 asks 580 MB); a bigger build spills, slower but correct.
HNSW_ROW_OVERHEAD = 1024
HNSW_MEMORY_MIN, HNSW_MEMORY_MAX = 64 << 20, 2 << 30


def hnsw_build_memory(rows: int, dim: int) -> int:
    """maintenance_work_mem (bytes) for building the HNSW graph of `rows` vectors of size `dim` in memory."""
    wanted = int(rows * (4 * dim + HNSW_ROW_OVERHEAD) * 1.25)
    return min(max(wanted, HNSW_MEMORY_MIN), HNSW_MEMORY_MAX)


def current_version(conn: psycopg.Connection) -> int:
    if conn.execute("SELECT to_regclass('schema_migrations')").fetchone()[0] is None:
        return 0
    return conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]


def migrate(conn: psycopg.Connection) -> int:
    """Apply pending migrations (idempotent; safe when several processes start at once); return the version."""
    if current_version(conn) == LATEST:
        return LATEST
    with conn.transaction():
        # Transaction-level lock: concurrent migrators queue here and re-check the version after it is theirs.
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
    for version, description, ddl in MIGRATIONS:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            if conn.execute("SELECT 1 FROM schema_migrations WHERE version = %s", (version,)).fetchone():
                continue
            conn.execute(ddl)
            conn.execute("INSERT INTO schema_migrations (version, description) VALUES (%s, %s)", (version, description))
    return current_version(conn)


def index_name(dataset_id: int, model_id: int) -> str:
    return f"embedding_hnsw_d{dataset_id}_m{model_id}"


def vector_expr(dim: int) -> sql.Composable:
    """The indexed expression `vec::vector(dim)`; queries must spell it identically to use the index."""
    return sql.SQL("vec::vector({})").format(sql.Literal(int(dim)))


def drop_index(conn: psycopg.Connection, dataset_id: int, model_id: int) -> None:
    conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(index_name(dataset_id, model_id))))


def index_exists(conn: psycopg.Connection, dataset_id: int, model_id: int) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (index_name(dataset_id, model_id),)).fetchone()[0]


def create_index(conn: psycopg.Connection, dataset_id: int, model_id: int, dim: int, metric: str, rows: int) -> None:
    """Build the (dataset, model) HNSW index over its `rows` vectors; call inside the load's transaction so it
    commits with the data."""
    memory = f"{hnsw_build_memory(rows, dim) >> 20}MB"
    conn.execute(sql.SQL("SET LOCAL maintenance_work_mem = {}").format(sql.Literal(memory)))
    conn.execute(
        sql.SQL("CREATE INDEX {name} ON embedding USING hnsw (({expr}) {ops}) WHERE dataset_id = {d} AND model_id = {m}")
        .format(name=sql.Identifier(index_name(dataset_id, model_id)), expr=vector_expr(dim),
                ops=sql.SQL(OPCLASSES[metric]), d=sql.Literal(int(dataset_id)), m=sql.Literal(int(model_id)))
    )
