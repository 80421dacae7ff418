"""Issue 14, beyond the list: generated hostile inputs at every reader, against the user-error contract.

Readers: metadata tables (`ingest.read`), .pose bytes (query files, uploads, the pose index), config files
(`signsearch --config FILE validate`), uploads (POST /search), CLI arguments (`signsearch search`) and the
query-string parameters of every web route. Contract: the input is accepted, or refused with a `UserError`
whose first line names it (CLI: exit 2, one `signsearch:` line per problem, no traceback; web: HTTP 4xx, never
500). Examples are bounded (`EXAMPLES` each) so the suite stays in `make test` at well under a minute.
A value the user typed cannot split the one line: line breaks in it are escaped (`signsearch.errors.user_message`).
"""

from __future__ import annotations

import contextlib
import io
import string
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import hostile_poses as hp
from signsearch import cli
from signsearch.datasets import ingest
from signsearch.db import server
from signsearch.db.errors import DatabaseUnavailable
from signsearch.errors import UserError
from signsearch.pose.index import describe_pose
from signsearch.search import embed_file
from signsearch.embed.spec import model_spec
from signsearch.web import app as web_app
from signsearch.web.backend import Backend, DbState
from workflow_utils import demo_config

EXAMPLES = 30
# No shrinking: a failure is reported as generated (shrinking slow examples can take minutes), and no example
# database is written into the checkout.
FAST = settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Text a careless or hostile user types: quotes, separators, control characters, path tricks, non-ASCII.
NASTY = st.lists(st.sampled_from(list(string.printable) + ["\x00", "é", "\u202e", "../", "\ufeff", "；", "💥"]),
                 max_size=30).map("".join)
GOOD_POSE = io.BytesIO()
hp.good_pose().write(GOOD_POSE)
GOOD_POSE_BYTES = GOOD_POSE.getvalue()


@st.composite
def pose_bytes(draw: st.DrawFn) -> bytes:
    """Random bytes, or a real .pose cut short, with bytes flipped, or with garbage appended."""
    kind = draw(st.sampled_from(["random", "cut", "flip", "append"]))
    if kind == "random":
        return draw(st.binary(max_size=300))
    data = bytearray(GOOD_POSE_BYTES)
    if kind == "cut":
        return bytes(data[: draw(st.integers(0, len(data) - 1))])
    if kind == "flip":
        for pos in draw(st.lists(st.integers(0, min(len(data) - 1, 2000)), min_size=1, max_size=8)):
            data[pos] ^= draw(st.integers(1, 255))
        return bytes(data)
    return bytes(data) + draw(st.binary(min_size=1, max_size=50))


def _names_input(exc: BaseException, name: str) -> None:
    first = str(exc).splitlines()[0]
    assert name in first, first


# -- .pose bytes ---------------------------------------------------------------------------------------------------
@FAST
@given(data=pose_bytes())
def test_pose_bytes_as_a_query(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("q") / "hostile.pose"
    path.write_bytes(data)
    spec = model_spec("pose-baseline", {"kind": "pose-baseline"})
    try:
        vector = embed_file(path, spec, name="hostile.pose")
    except UserError as exc:
        _names_input(exc, "hostile.pose")
    else:
        assert vector.shape[0] > 0 and (vector == vector).all()  # accepted: a finite vector


@FAST
@given(data=pose_bytes())
def test_pose_bytes_in_the_pose_index(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("i") / "hostile.pose"
    path.write_bytes(data)
    row = describe_pose("v", str(path))  # never raises: a bad file is a failed row with its reason
    assert row["status"] == "ok" or (row["reason"] and row["detail"])


# -- metadata tables ------------------------------------------------------------------------------------------------
CELL = st.one_of(NASTY, st.sampled_from(["a.mp4", "../a.mp4", "/etc/passwd", "a.mp4\n", "", '"', "a.mp4,b"]))


@st.composite
def metadata_text(draw: st.DrawFn) -> str:
    header = draw(st.lists(st.sampled_from(["video_id", "path", "gloss", "signer", "split", "sample_id", "x", ""]),
                           min_size=0, max_size=6))
    rows = draw(st.lists(st.lists(CELL, min_size=0, max_size=7), max_size=5))
    sep = draw(st.sampled_from([",", "\t", ";"]))
    return "\n".join(sep.join(r) for r in [header, *rows])


@FAST
@given(text=metadata_text(), suffix=st.sampled_from([".csv", ".tsv"]))
def test_metadata_tables(tmp_path_factory: pytest.TempPathFactory, text: str, suffix: str) -> None:
    root = tmp_path_factory.mktemp("ds")
    (root / "a.mp4").write_bytes(b"\x00")
    meta = root / f"meta{suffix}"
    meta.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        table = ingest.read("d", {"kind": "folder", "path": str(root), "metadata": meta.name})
    except ingest.DatasetError as exc:
        assert all(str(p).startswith((str(meta), str(root), "config")) for p in exc.problems), exc.problems
    else:
        assert table["video_id"].is_unique and table["path"].notna().all()


# -- config files ---------------------------------------------------------------------------------------------------
@st.composite
def config_bytes(draw: st.DrawFn) -> bytes:
    """A real config with one key replaced by something hostile, garbage text, or garbage bytes."""
    kind = draw(st.sampled_from(["key", "text", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "text":
        return draw(st.text(max_size=200)).encode("utf-8", "surrogatepass")
    cfg = demo_config()
    section = draw(st.sampled_from(["datasets", "models", "database", "evaluate", "pose", "shard_size"]))
    cfg[section] = draw(st.one_of(NASTY, st.integers(), st.none(), st.lists(NASTY, max_size=3),
                                  st.dictionaries(NASTY, NASTY, max_size=3)))
    return yaml.safe_dump(cfg).encode()


@FAST
@given(data=config_bytes())
def test_config_files(tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str],
                      data: bytes) -> None:
    work = tmp_path_factory.mktemp("cfg")
    path = work / "hostile.yaml"
    path.write_bytes(data)
    with contextlib.chdir(work):
        code = cli.main(["--config", str(path), "validate"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert code in (0, 2), err
    if code == 2:
        assert err.startswith(f"signsearch: {path}: ") and len(err.strip().splitlines()) == 1, err


# -- CLI arguments --------------------------------------------------------------------------------------------------
ARG = st.one_of(NASTY, st.sampled_from(["-k", "--where", "--metric", "--video", "--id", "--text", "--exact", "--json",
                                        "-1", "0", "1e9", "99999999999999999999", "split=", "=x", "gloss=HOUSE",
                                        "missing.pose", "config.yaml", "/dev/null", "."]))
SUFFIXES = st.sampled_from([".pose", ".mp4", ".txt", ""])


@pytest.fixture()
def cli_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A demo config in an empty folder; the database is never there (a UserError, as when it is not running)."""
    cfg = demo_config()
    cfg["database"]["data_dir"] = str(tmp_path / "pgdata")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SIGNSEARCH_DB_URL", raising=False)

    @contextlib.contextmanager
    def no_database(data_dir):  # noqa: ANN001, ANN202
        raise DatabaseUnavailable("no database in this test")
        yield ""  # pragma: no cover

    monkeypatch.setattr(server, "session", no_database)
    return tmp_path / "config.yaml"


@st.composite
def search_query(draw: st.DrawFn) -> list[str]:
    """One well-formed query option with a hostile value: an id, a text, or a hostile file's path."""
    option = draw(st.sampled_from(["--id", "--text", "--video"]))
    if option != "--video":
        return [option, draw(NASTY)]
    path = Path(f"query{draw(SUFFIXES)}")
    path.write_bytes(draw(pose_bytes()))
    return [option, str(path)]


@FAST
@given(query=search_query(), extra=st.lists(ARG, max_size=4), dataset=NASTY,
       model=st.one_of(NASTY, st.just("pose-baseline")), k=st.integers(-10**25, 10**25),
       where=st.lists(NASTY, max_size=2))
def test_cli_search_arguments(cli_project: Path, capsys: pytest.CaptureFixture[str], query: list[str],
                              extra: list[str], dataset: str, model: str, k: int, where: list[str]) -> None:
    argv = ["--config", str(cli_project), "search", "--dataset", dataset, "--model", model, *query, "-k", str(k),
            *(a for w in where for a in ("--where", w)), *extra]
    try:
        code = cli.main(argv)
    except SystemExit as exit_:  # argparse refuses the command line: usage + one error line, exit 2
        code = exit_.code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert code == 2, (argv, err)
    if err.startswith("signsearch: "):  # ours: exactly one line
        assert "\n" not in err.strip(), err
    else:  # argparse's: usage, then its one error line (it echoes the argument as typed)
        assert err.startswith("usage: ") and "error: " in err.strip().split("\n")[-1], err


# -- web: uploads and the query strings of every route ---------------------------------------------------------------
@pytest.fixture()
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    cfg = demo_config()
    cfg["database"]["data_dir"] = str(tmp_path / "pgdata")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SIGNSEARCH_DB_URL", raising=False)
    monkeypatch.setattr(Backend, "connect", lambda self, config: contextlib.nullcontext(object()))
    monkeypatch.setattr(Backend, "db_state", lambda self, config: DbState(True, models={"demo": ["pose-baseline"]}))

    def no_database(self, config, **kwargs):  # noqa: ANN001, ANN003, ANN202 - the real checks, then no database
        from signsearch.search import prepare

        prepare(config, **kwargs)
        raise DatabaseUnavailable("no database in this test")

    monkeypatch.setattr(Backend, "nearest_videos", no_database)
    return web_app.create_app(tmp_path / "config.yaml", settings={"MAX_CONTENT_LENGTH": 1024 * 1024}).test_client()


UPLOAD_NAMES = st.one_of(NASTY, st.builds(lambda stem, ext: stem + ext, NASTY,
                                          st.sampled_from([".mp4", ".pose", ".webm", ".avi", ".MOV", ".txt", ""])))


@FAST
@given(name=UPLOAD_NAMES, data=st.one_of(pose_bytes(), st.binary(max_size=200)),
       form=st.dictionaries(st.sampled_from(["dataset", "model", "mode", "k", "split", "id", "text"]), NASTY))
def test_uploads(client, name: str, data: bytes, form: dict[str, str]) -> None:
    fields = {"dataset": "demo", "model": "pose-baseline", "mode": "video", **form, "video": (io.BytesIO(data), name)}
    page = client.post("/search", data=fields, content_type="multipart/form-data")
    assert page.status_code < 500, page.get_data(as_text=True)[-500:]


ROUTES = ["/", "/search", "/results", "/healthz", "/media/video", "/media/preview", "/media/pose.json"]
PARAMS = st.dictionaries(st.sampled_from(["dataset", "id", "model", "mode", "k", "split", "text", "subset", "metric",
                                          "q", "page"]), NASTY, max_size=5)


@FAST
@given(route=st.sampled_from(ROUTES), params=PARAMS)
def test_query_strings_of_every_route(client, route: str, params: dict[str, str]) -> None:
    page = client.get(route, query_string=params)
    assert page.status_code < 500, (route, params, page.get_data(as_text=True)[-500:])


@FAST
@given(dataset=NASTY, name=NASTY)
def test_path_parameters_of_the_figure_routes(client, dataset: str, name: str) -> None:
    from urllib.parse import quote

    for url in (f"/figures/{quote(dataset, safe='')}/{quote(name, safe='')}.png",
                f"/embedding-map/{quote(dataset, safe='')}/{quote(name, safe='')}.png"):
        page = client.get(url)
        assert page.status_code < 500, (url, page.get_data(as_text=True)[-500:])
