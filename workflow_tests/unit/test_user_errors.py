"""A user error ends as one line on stderr in the CLI (exit 2) and as its message on a 4xx page in the web app,
never a traceback or a 500. The case: a pose longer than 256 frames searched with a SignCLIP model whose
`long_inputs` is `error` (its `LongInputError` was on neither list before issue 13). No database is needed:
the query is embedded, and refused, before the database is asked anything."""

from __future__ import annotations

import contextlib
import html
from pathlib import Path

import numpy as np
import pytest
import yaml
from pose_format import Pose
from pose_format.numpy import NumPyPoseBody

from signsearch import cli
from signsearch.db import server
from signsearch.web import app as web_app
from signsearch.web.backend import Backend, DbState
from workflow_utils import demo_config

MODEL = "signclip-strict"


@pytest.fixture()
def project(testdata: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(config, a 300-frame .pose) in an empty project folder; the database is never reached."""
    sc = testdata / "signclip"
    config = demo_config()
    config["models"][MODEL] = {"kind": "signclip", "checkpoint": str(sc / "checkpoint/checkpoint_best.pt"),
                               "tokenizer": str(sc / "bert-tiny-cased"), "long_inputs": "error"}
    config["database"]["data_dir"] = str(tmp_path / "pgdata")
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    house = Pose.read((sc / "inputs/house.pose").read_bytes())
    repeats = -(-300 // len(house.body.data))
    data = np.ma.concatenate([house.body.data] * repeats)[:300]
    confidence = np.concatenate([house.body.confidence] * repeats)[:300]
    long_pose = tmp_path / "long.pose"
    with long_pose.open("wb") as fh:
        Pose(house.header, NumPyPoseBody(fps=house.body.fps, data=data, confidence=confidence)).write(fh)

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SIGNSEARCH_DB_URL", raising=False)
    monkeypatch.setattr(Backend, "connect", lambda self, config: contextlib.nullcontext(object()))
    monkeypatch.setattr(Backend, "db_state", lambda self, config: DbState(True, models={"demo": [MODEL]}))
    return config_path, long_pose


def test_cli_prints_a_long_input_error_in_one_line(project, monkeypatch, capsys) -> None:
    config_path, long_pose = project
    monkeypatch.setattr(server, "resolve_url", lambda data_dir, start: "postgresql://unused")
    monkeypatch.setattr(server, "connect", lambda url: contextlib.nullcontext(object()))
    code = cli.main(["--config", str(config_path), "search", "--dataset", "demo", "--model", MODEL,
                     "--video", str(long_pose)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"signsearch: {long_pose}: input has 300 frames"), err  # names the input (issue 14)
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


def test_web_shows_a_long_input_error_with_400(project) -> None:
    config_path, long_pose = project
    client = web_app.create_app(config_path).test_client()
    page = client.post("/search", content_type="multipart/form-data", data={
        "dataset": "demo", "model": MODEL, "mode": "video", "k": "5",
        "video": (long_pose.open("rb"), "long.pose"),
    })
    text = html.unescape(page.get_data(as_text=True))
    assert page.status_code == 400
    assert "input has 300 frames" in text and "long_inputs: truncate or window" in text
    assert f'value="{MODEL}" selected' in text  # the form keeps its values
