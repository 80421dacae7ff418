"""Issue 14, items 2 and 3 through Flask's test client: only the configured host names are served (DNS
rebinding), POSTs only from the app's own pages (cross-site uploads), and a refused upload is named by the file
the user chose, never by the server's temporary path."""

from __future__ import annotations

import contextlib
import html
import io
from pathlib import Path

import numpy as np
import pytest
import yaml

import hostile_poses as hp
from signsearch.web import app as web_app
from signsearch.web import origin_guard
from signsearch.web.backend import Backend, DbState
from workflow_utils import demo_config


@pytest.fixture()
def make_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A test client factory (extra settings) on a fake database listing the demo; searches never reach it."""
    cfg = demo_config()
    cfg["database"]["data_dir"] = str(tmp_path / "pgdata")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SIGNSEARCH_DB_URL", raising=False)
    monkeypatch.setattr(Backend, "connect", lambda self, config: contextlib.nullcontext(object()))
    monkeypatch.setattr(Backend, "db_state", lambda self, config: DbState(True, models={"demo": ["pose-baseline"]}))
    return lambda **settings: web_app.create_app(config, settings=settings).test_client()


def _post(client, name: str, data: bytes, headers: dict[str, str] | None = None):
    form = {"dataset": "demo", "model": "pose-baseline", "mode": "video", "k": "5", "video": (io.BytesIO(data), name)}
    return client.post("/search", data=form, content_type="multipart/form-data", headers=headers or {})


@pytest.mark.parametrize("host", ["localhost", "localhost:8501", "127.0.0.1:8501", "[::1]:8501"])
def test_local_host_names_are_served(make_client, host) -> None:
    assert make_client().get("/healthz", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("host", ["attacker.example:8501", "attacker.example", "127.0.0.1.evil.example", "[bad", ""])
def test_other_host_names_are_refused(make_client, host) -> None:
    page = make_client().get("/search", headers={"Host": host})
    assert page.status_code == 403
    assert "--allow-host" in page.get_data(as_text=True)


def test_allowed_hosts_add_the_serve_host_and_allow_host() -> None:
    hosts = origin_guard.allowed_hosts("0.0.0.0", "Lab-PC.example", "[fe80::1]")
    assert hosts == ["127.0.0.1", "localhost", "::1", "lab-pc.example", "fe80::1"]


def test_an_allowed_extra_host_is_served(make_client) -> None:
    client = make_client(ALLOWED_HOSTS=origin_guard.allowed_hosts("lab-pc.example"))
    assert client.get("/healthz", headers={"Host": "lab-pc.example:8501"}).status_code == 200
    assert client.get("/healthz", headers={"Host": "other.example:8501"}).status_code == 403


def test_cross_site_post_is_refused_before_the_upload_is_read(make_client, monkeypatch) -> None:
    called = []
    monkeypatch.setattr(Backend, "nearest_videos", lambda self, config, **kw: called.append(kw) or [])
    pose = io.BytesIO()
    hp.good_pose().write(pose)
    client = make_client()
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"},
                    {"Origin": "http://localhost:9999"}, {"Referer": "http://evil.example/page.html"}):
        page = _post(client, "q.pose", pose.getvalue(), {"Host": "localhost:8501", **headers})
        assert page.status_code == 403 and "cross-site request refused" in page.get_data(as_text=True), headers
    assert called == []
    same = _post(client, "q.pose", pose.getvalue(), {"Host": "localhost:8501", "Origin": "http://localhost:8501"})
    assert same.status_code == 200 and len(called) == 1
    referer = _post(client, "q.pose", pose.getvalue(),
                    {"Host": "localhost:8501", "Referer": "http://localhost:8501/search?mode=video"})
    assert referer.status_code == 200 and len(called) == 2
    bare = _post(client, "q.pose", pose.getvalue(), {"Host": "localhost:8501"})  # curl, scripts
    assert bare.status_code == 200 and len(called) == 3


def test_unusable_pose_upload_names_the_uploaded_file(make_client) -> None:
    pose = io.BytesIO()
    hp.all_nan_pose().write(pose)
    page = _post(make_client(), "my nan take.pose", pose.getvalue())
    text = html.unescape(page.get_data(as_text=True))
    assert page.status_code == 400
    assert "my nan take.pose: unusable pose (no_person)" in text
    assert "signsearch-upload-" not in text and "query.pose" not in text


def test_unposable_video_upload_names_the_uploaded_file(make_client, tmp_path) -> None:
    """A blank clip passes the upload checks, then MediaPipe finds nobody: the message names the user's file."""
    import av

    path = tmp_path / "blank wall.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        for _ in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), 90, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    page = _post(make_client(), "blank wall.mp4", path.read_bytes())
    text = html.unescape(page.get_data(as_text=True))
    assert page.status_code == 400, text[-2000:]
    assert "blank wall.mp4: cannot pose this video" in text
    assert "signsearch-upload-" not in text and "query.mp4" not in text
