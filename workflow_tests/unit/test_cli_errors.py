"""Issue 14, items 6, 8 and 13: every query the user gets wrong ends as one line naming the input and exit 2
(no traceback), and a query that fails on its own never starts, nor leaves running, a database server.
No database is needed: `server.session` is replaced by one that records whether it was entered."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
import yaml

import hostile_poses as hp
from signsearch import cli
from signsearch.db import server
from workflow_utils import demo_config

BASELINE = ["search", "--dataset", "demo", "--model", "pose-baseline"]


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """A config in an empty project folder; `opened` counts database sessions the CLI entered."""
    config = demo_config()
    config["database"]["data_dir"] = str(tmp_path / "pgdata")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SIGNSEARCH_DB_URL", raising=False)
    opened: list[str] = []

    @contextlib.contextmanager
    def session(data_dir):  # noqa: ANN001, ANN202
        opened.append(str(data_dir))
        raise AssertionError("the database was reached for a query that should fail before it")
        yield ""  # pragma: no cover

    monkeypatch.setattr(server, "session", session)
    return {"config": path, "root": tmp_path, "opened": opened, "cfg": config}


def _run(project: dict, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = cli.main(["--config", str(project["config"]), *args])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("signsearch: "), err
    assert project["opened"] == [], "a database session was opened"
    return err


def test_garbage_pose_file_is_one_line(project, capsys) -> None:
    bad = project["root"] / "garbage.pose"
    bad.write_bytes(b"this is not a pose file at all")
    err = _run(project, capsys, *BASELINE, "--video", str(bad))
    assert "garbage.pose: not a readable .pose file" in err


def test_truncated_pose_file_is_one_line(project, capsys) -> None:
    full = hp.write(hp.good_pose(), project["root"] / "full.pose").read_bytes()
    cut = project["root"] / "cut.pose"
    cut.write_bytes(full[: len(full) // 2])
    err = _run(project, capsys, *BASELINE, "--video", str(cut))
    assert "cut.pose: not a readable .pose file" in err


@pytest.mark.parametrize(("maker", "reason"), [
    (hp.zero_frame_pose, "no_frames"),
    (hp.all_nan_pose, "no_person"),
    (hp.seven_point_pose, "no_hands"),
    (hp.handless_pose, "no_hands"),
])
def test_unusable_query_poses_are_refused(project, capsys, maker, reason) -> None:
    path = hp.write(maker(), project["root"] / f"{maker.__name__}.pose")
    err = _run(project, capsys, *BASELINE, "--video", str(path))
    assert f"{path}: unusable pose ({reason})" in err


@pytest.mark.parametrize("k", ["100000000000000000000", "0", "-3"])
def test_out_of_range_k_is_one_line(project, capsys, k) -> None:
    err = _run(project, capsys, *BASELINE, "--id", "x", "-k", k)
    assert "-k must be a whole number from 1 to" in err


@pytest.mark.parametrize("where", ["split", "colour=red", "=test"])
def test_malformed_where_is_one_line_exit_2(project, capsys, where) -> None:
    err = _run(project, capsys, *BASELINE, "--id", "x", "--where", where)
    assert f"(got '{where}')" in err


def test_unknown_model_never_reaches_the_database(project, capsys) -> None:
    err = _run(project, capsys, "search", "--dataset", "demo", "--model", "nope", "--text", "HOUSE")
    assert "unknown model 'nope'" in err


@pytest.mark.parametrize("url", ["garbage", "a=b=c", "postgresql://[bad"])
def test_malformed_database_url_is_one_line(project, capsys, monkeypatch, url) -> None:
    monkeypatch.undo()  # the real server.session: SIGNSEARCH_DB_URL is used as given
    monkeypatch.chdir(project["root"])
    monkeypatch.setenv("SIGNSEARCH_DB_URL", url)
    code = cli.main(["--config", str(project["config"]), *BASELINE, "--id", "x"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "cannot connect to SIGNSEARCH_DB_URL" in err


def test_session_stops_only_a_server_it_started(monkeypatch, tmp_path) -> None:
    """`signsearch search` leaves the embedded server as it found it: stopped when it had to start it."""
    monkeypatch.delenv("SIGNSEARCH_DB_URL", raising=False)
    stopped: list[str] = []
    monkeypatch.setattr(server, "_start", lambda pgdata: "postgresql://unused")
    monkeypatch.setattr(server, "stop", lambda data_dir, timeout=60.0: stopped.append(str(data_dir)))
    tmp_path = tmp_path.resolve()
    running = {"now": False}
    monkeypatch.setattr(server, "_postmaster", lambda pgdata: object() if running["now"] else None)
    with server.session(tmp_path):
        pass
    assert stopped == [str(tmp_path)]
    running["now"] = True
    with server.session(tmp_path):
        pass
    assert stopped == [str(tmp_path)]  # it was running before: left running


@pytest.mark.slow
def test_search_leaves_no_server_behind(project, capsys, monkeypatch) -> None:
    """Real embedded PostgreSQL: a search that starts it (the database holds nothing) stops it again."""
    monkeypatch.undo()
    monkeypatch.chdir(project["root"])
    monkeypatch.delenv("SIGNSEARCH_DB_URL", raising=False)
    data_dir = project["cfg"]["database"]["data_dir"]
    try:
        code = cli.main(["--config", str(project["config"]), *BASELINE, "--id", "x"])
        err = capsys.readouterr().err
        assert code == 2 and "unknown dataset 'demo'" in err, err
        assert server.status(data_dir)["running"] is False
    finally:
        server.remove(data_dir)


@pytest.mark.parametrize(("maker", "reason"), [(hp.seven_point_pose, "no_hands"), (hp.faceless_pose, "not_holistic")])
def test_non_holistic_pose_on_signclip_is_refused_before_the_model_loads(project, capsys, maker, reason) -> None:
    """SignCLIP reads MediaPipe Holistic points by name (a ValueError traceback before); the pose is refused
    before the checkpoint is even opened, so the model's files need not exist here."""
    project["cfg"]["models"]["signclip-x"] = {"kind": "signclip", "checkpoint": "absent.pt", "tokenizer": "absent"}
    project["config"].write_text(yaml.safe_dump(project["cfg"], sort_keys=False))
    path = hp.write(maker(), project["root"] / "q.pose")
    err = _run(project, capsys, "search", "--dataset", "demo", "--model", "signclip-x", "--video", str(path))
    assert f"{path}: unusable pose ({reason})" in err
