"""The web app through Flask's test client (fast: no browser, no database): refused uploads (too large, not a
video behind a video name, too long, wrong type), the messages shown when the database is absent or empty and when
results are missing, user errors as 4xx pages, and the media route serving only files listed in a registry."""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from signsearch.web import app as web_app
from signsearch.web.backend import Backend, DbState
from signsearch.web.uploads import UploadRefused, check_file, sniff
from workflow_utils import demo_config


# -- helpers ------------------------------------------------------------------------------------------------------
def _write_config(root: Path) -> Path:
    import yaml

    cfg = demo_config()
    cfg["database"]["data_dir"] = str(root / "pgdata")  # a server that is certainly not running
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _tiny_video(path: Path, seconds: float, fps: int = 10, size: int = 64) -> Path:
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(int(seconds * fps)):
            img = np.full((size, size, 3), (i * 7) % 255, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


class _FakeSearch:
    """A database that lists the demo and records searches (so a refused upload is shown never to reach it)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def db_state(self, config: Any) -> DbState:
        return DbState(True, models={"demo": ["pose-baseline"]})

    def nearest_videos(self, config: Any, **kwargs: Any) -> list[dict[str, Any]]:
        self.calls.append(kwargs)
        return [{"rank": 1, "video_id": "v1", "gloss": "HOUSE", "signer": "s1", "split": "test", "path": None,
                 "pose_path": None, "distance": 0.125}]


@pytest.fixture()
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A test client in an empty project folder (no results, no database), upload limit 1 MB, 2 s."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SIGNSEARCH_DB_URL", raising=False)
    app = web_app.create_app(_write_config(tmp_path), settings={"MAX_CONTENT_LENGTH": 1024 * 1024,
                                                                 "MAX_UPLOAD_SECONDS": 2.0})
    return app.test_client()


@pytest.fixture()
def fake_db(monkeypatch: pytest.MonkeyPatch) -> _FakeSearch:
    fake = _FakeSearch()
    monkeypatch.setattr(Backend, "db_state", fake.db_state)
    monkeypatch.setattr(Backend, "nearest_videos", fake.nearest_videos)
    return fake


def _text(page) -> str:
    import html

    return html.unescape(page.get_data(as_text=True))


def _upload(client, name: str, data: bytes, **form: str):
    fields = {"dataset": "demo", "model": "pose-baseline", "mode": "video", "k": "5", **form,
              "video": (io.BytesIO(data), name)}
    return client.post("/search", data=fields, content_type="multipart/form-data")


def test_search_page_says_to_start_the_database_when_it_is_not_running(site) -> None:
    page = site.get("/search")
    text = _text(page)
    assert page.status_code == 200
    assert "not reachable" in text and "is not running" in text
    assert "make demo" in text  # nothing was ever loaded here: build first
    assert 'id="submit" disabled' in text
    assert site.get("/healthz").data == b"ok"


def test_search_page_says_to_run_the_workflow_when_the_database_is_empty(site, monkeypatch) -> None:
    from signsearch.db import query

    monkeypatch.setattr(Backend, "connect", lambda self, config: contextlib.nullcontext(object()))
    monkeypatch.setattr(query, "list_datasets", lambda conn: [])
    text = site.get("/search").get_data(as_text=True)
    assert "holds no embeddings yet" in text and "make demo" in text and "snakemake --cores 2" in text


def test_results_page_says_what_to_run_without_results(site) -> None:
    page = site.get("/results")
    text = _text(page)
    assert page.status_code == 200
    assert "no evaluation results yet" in text and "make demo" in text


def test_oversized_upload_is_refused_with_a_message(site, fake_db) -> None:
    page = _upload(site, "big.mp4", b"\0" * (1024 * 1024 + 10))
    assert page.status_code == 413
    assert "larger than the upload limit of 1 MB" in _text(page)
    assert fake_db.calls == []
    assert site.get("/healthz").data == b"ok"


def test_text_behind_a_video_name_is_refused(site, fake_db) -> None:
    page = _upload(site, "clip.mp4", b"this is not a video, just some text\n" * 50)
    assert page.status_code == 400
    assert "'clip.mp4' is not a video" in _text(page)
    # the right magic bytes but no decodable video behind them
    fake = b"\0\0\0\x18ftypisom" + os.urandom(4000)
    page = _upload(site, "fake.mp4", fake)
    assert page.status_code == 400 and "cannot be decoded" in _text(page)
    # a WebM named .mp4
    page = _upload(site, "odd.mp4", b"\x1a\x45\xdf\xa3" + os.urandom(100))
    assert page.status_code == 400 and "named .mp4 but its content is a WebM" in _text(page)
    page = _upload(site, "notes.txt", b"hello")
    assert page.status_code == 400 and "not an accepted file type" in _text(page)
    assert fake_db.calls == []
    assert site.get("/healthz").data == b"ok"


def test_too_long_video_is_refused_and_a_short_one_searched(site, fake_db, tmp_path) -> None:
    long_clip = _tiny_video(tmp_path / "long.mp4", seconds=3)
    page = _upload(site, "long.mp4", long_clip.read_bytes())
    assert page.status_code == 400 and "the limit is 2 s" in _text(page)
    assert fake_db.calls == []
    short = _tiny_video(tmp_path / "short.mp4", seconds=1)
    page = _upload(site, "short.mp4", short.read_bytes())
    text = _text(page)
    assert page.status_code == 200, text
    assert "HOUSE" in text and "0.1250" in text
    assert len(fake_db.calls) == 1 and Path(fake_db.calls[0]["video"]).suffix == ".mp4"
    assert not Path(fake_db.calls[0]["video"]).exists(), "the upload must be deleted after the search"


def test_upload_checks(tmp_path: Path) -> None:
    assert sniff(b"\0\0\0\x20ftypmp42") == "iso"
    assert sniff(b"\x1a\x45\xdf\xa3....") == "ebml"
    assert sniff(b"RIFF\0\0\0\0AVI LIST") == "riff"
    assert sniff(b"<html>") is None
    empty = tmp_path / "e.mp4"
    empty.write_bytes(b"")
    with pytest.raises(UploadRefused, match="empty"):
        check_file(empty, "e.mp4", max_bytes=10**6, max_seconds=20)
    bad_pose = tmp_path / "x.pose"
    bad_pose.write_bytes(b"not a pose")
    with pytest.raises(UploadRefused, match="not a readable .pose"):
        check_file(bad_pose, "x.pose", max_bytes=10**6, max_seconds=20)
    clip = _tiny_video(tmp_path / "ok.mp4", seconds=1.5)
    checked = check_file(clip, "ok.mp4", max_bytes=10**6, max_seconds=20)
    assert checked.kind == "video" and 1.0 <= checked.duration <= 2.0


def test_media_route_serves_only_registry_files(site, tmp_path: Path) -> None:
    video = _tiny_video(tmp_path / "clip.mp4", seconds=1)
    (tmp_path / "secret.txt").write_text("not for the web")
    reg = tmp_path / "results" / "mine"
    reg.mkdir(parents=True)
    pd.DataFrame({"video_id": ["a/b/CLIP", "GONE"], "path": [str(video), str(tmp_path / "gone.mp4")],
                  "gloss": ["CLIP", "GONE"], "pose_path": [None, None]}).to_parquet(reg / "registry.parquet")
    # served only as a posed video of a video dataset inside its folder (test_web_media.py: the refusals)
    (reg / "dataset.json").write_text(json.dumps({"kind": "folder", "root": str(tmp_path)}))
    pd.DataFrame({"video_id": ["a/b/CLIP", "GONE"], "status": ["ok", "ok"]}).to_parquet(reg / "poses.parquet")
    ok = site.get("/media/video", query_string={"dataset": "mine", "id": "a/b/CLIP"})
    assert ok.status_code == 200 and ok.data == video.read_bytes() and ok.mimetype == "video/mp4"
    part = site.get("/media/video", query_string={"dataset": "mine", "id": "a/b/CLIP"}, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.data) == 100  # seeking in <video> needs ranges
    for dataset, vid in (("mine", "GONE"), ("mine", "nope"), ("..", "a/b/CLIP"), ("mine/../..", "x"),
                         ("mine", str(tmp_path / "secret.txt"))):
        assert site.get("/media/video", query_string={"dataset": dataset, "id": vid}).status_code == 404
    assert site.get("/media/pose.json", query_string={"dataset": "mine", "id": "a/b/CLIP"}).status_code == 404
    assert site.get("/figures/mine/../../secret.png").status_code == 404
    assert site.get("/embedding-map/mine/nothing.png").status_code == 404
