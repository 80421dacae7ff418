"""The web app (`signsearch serve`).

Part 1, Flask test client (fast, no browser, no database): refused uploads (too large, not a video behind a video
name, too long, wrong type), the messages shown when the database is absent or empty and when results are
missing, and the media route serving only files listed in a registry.

Part 2, a real headless browser (Debian's chromium + chromedriver, driven by Selenium) against `signsearch serve`
run as a subprocess on the demo results, which a session fixture builds by running the workflow in a temporary
work dir (~30 s): upload a real video and get results, the results page with its grid, refused uploads in the
browser while the app keeps serving (SIGNSEARCH_WEB_DEMO=<work dir> reuses a built demo instead). Screenshots go to the test's tmp dir, or to $SIGNSEARCH_SCREENSHOTS when set
(`SIGNSEARCH_SCREENSHOTS=docs/screenshots` refreshes the README's).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from signsearch.web import app as web_app
from signsearch.web.backend import Backend, DbState
from signsearch.web.uploads import UploadRefused, check_file, sniff

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
from workflow_utils import demo_config, make_workdir, snakemake, stop_database  # noqa: E402


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

    def search(self, config: Any, **kwargs: Any) -> list[dict[str, Any]]:
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
    monkeypatch.setattr(Backend, "search", fake.search)
    return fake


def _text(page) -> str:
    import html

    return html.unescape(page.get_data(as_text=True))


def _upload(client, name: str, data: bytes, **form: str):
    fields = {"dataset": "demo", "model": "pose-baseline", "mode": "video", "k": "5", **form,
              "video": (io.BytesIO(data), name)}
    return client.post("/search", data=fields, content_type="multipart/form-data")


# -- part 1: test client -------------------------------------------------------------------------------------------
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


# -- part 2: a real browser ----------------------------------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
BROWSER_LIMIT_MB = 50  # the app's default upload limit


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"signsearch serve exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        time.sleep(0.3)
    raise AssertionError(f"signsearch serve did not answer {url} within {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory: pytest.TempPathFactory):
    """The demo's results built by the real workflow, served by `signsearch serve` on a free localhost port."""
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("browser tests need Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver")
    pytest.importorskip("selenium", reason="browser tests need selenium (pip install selenium)")
    reuse = os.environ.get("SIGNSEARCH_WEB_DEMO")  # a work dir whose demo results are built and database running
    work = Path(reuse) if reuse else make_workdir(tmp_path_factory.mktemp("web") / "demo", demo_config())
    try:
        if not reuse:
            snakemake(work)
        port = _free_port()
        log = work / "serve.log"
        bin_dir = str(Path(sys.executable).parent)
        env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"}
        for name in ("SIGNSEARCH_DB_URL", "SIGNSEARCH_WEB_MAX_UPLOAD_MB", "SIGNSEARCH_WEB_MAX_SECONDS"):
            env.pop(name, None)
        with log.open("w") as out:
            proc = subprocess.Popen([sys.executable, "-m", "signsearch.cli", "serve", "--port", str(port)], cwd=work,
                                    stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_http(f"{base}/healthz", proc, log)
            yield {"base": base, "work": work, "proc": proc, "log": log}
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    finally:
        if not reuse:
            stop_database(work, "results/database/pgdata")


@pytest.fixture(scope="session")
def browser(demo_site):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="signsearch-chromium-")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", "--window-size=1280,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(180)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture()
def shots(tmp_path: Path) -> Path:
    target = Path(os.environ.get("SIGNSEARCH_SCREENSHOTS") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


def _screenshot(driver, path: Path) -> None:
    """The whole page, not just the window (Chrome DevTools' captureBeyondViewport)."""
    import base64

    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 6000), "scale": 1}
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip})
    path.write_bytes(base64.b64decode(shot["data"]))
    assert path.stat().st_size > 10_000


def _wait(driver, condition, timeout: float = 180):
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # A submit navigates: an element read during the page change is stale or not there yet; look again.
    ignored = (StaleElementReferenceException, NoSuchElementException)
    return WebDriverWait(driver, timeout, poll_frequency=0.3, ignored_exceptions=ignored).until(condition)


def _alive(demo_site) -> None:
    with urllib.request.urlopen(f"{demo_site['base']}/healthz", timeout=10) as response:
        assert response.read() == b"ok"
    assert demo_site["proc"].poll() is None, demo_site["log"].read_text()[-3000:]


def _choose_upload(driver, path: Path) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, "input[name=mode][value=video]").click()
    driver.find_element(By.ID, "video").send_keys(str(path))


@pytest.mark.slow
def test_browser_upload_a_real_video_and_see_results(demo_site, browser, testdata: Path, shots: Path) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{demo_site['base']}/search")
    assert browser.find_element(By.ID, "dataset").get_attribute("value") == "demo"
    k = browser.find_element(By.NAME, "k")
    k.clear()
    k.send_keys("8")
    _choose_upload(browser, testdata / "videos" / "FOOTBALL.mp4")
    browser.find_element(By.ID, "submit").click()
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#result-cards .card"))
    heading = browser.find_element(By.CSS_SELECTOR, ".results h2").text
    assert "FOOTBALL.mp4" in heading, heading
    cards = browser.find_elements(By.CSS_SELECTOR, "#result-cards .card")
    assert len(cards) == 8
    glosses = [c.find_element(By.CSS_SELECTOR, ".gloss").text for c in cards]
    assert all(g.startswith("SYN-") for g in glosses), glosses
    distances = [float(c.find_element(By.CSS_SELECTOR, ".dist").text) for c in cards]
    assert distances == sorted(distances)
    # the synthetic demo has poses but no video files: every result is a pose animation that plays
    _wait(browser, lambda d: all(int(c.get_attribute("data-frame") or -1) >= 0
                                 for c in d.find_elements(By.CSS_SELECTOR, "canvas[data-pose-url]")), 30)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#result-cards canvas")) == 8
    _screenshot(browser, shots / "search.png")

    # "similar" on a result: a search by stored video id
    cards[0].find_element(By.LINK_TEXT, "similar").click()
    _wait(browser, lambda d: "nearest to synthetic-" in d.find_element(By.CSS_SELECTOR, ".results h2").text)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#result-cards .card")) == 8


@pytest.mark.slow
def test_browser_results_page_shows_the_grid(demo_site, browser, shots: Path) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{demo_site['base']}/results")
    loaded = "return arguments[0].complete && arguments[0].naturalWidth > 0"
    heatmap = browser.find_element(By.ID, "grid-heatmap")
    _wait(browser, lambda d: d.execute_script(loaded, heatmap) if heatmap.tag_name == "img" else True, 30)
    headers = [th.get_attribute("textContent") for th in browser.find_elements(By.CSS_SELECTOR, "table.heat thead th")]
    assert {"full", "test"} <= set(headers), headers
    assert browser.find_elements(By.CSS_SELECTOR, "#metrics-table tr")
    assert browser.find_elements(By.CSS_SELECTOR, "#pairs-table tbody tr")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#compare canvas, #compare video")) == 2
    emap = browser.find_element(By.ID, "embedding-map-img")
    _wait(browser, lambda d: d.execute_script(loaded, emap), 60)
    _screenshot(browser, shots / "results.png")


@pytest.mark.slow
def test_browser_refused_uploads_keep_the_app_serving(demo_site, browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    base = demo_site["base"]
    big = tmp_path / "big.mp4"
    with big.open("wb") as fh:  # sparse: costs no disk
        fh.truncate(BROWSER_LIMIT_MB * 1024 * 1024 + 1024)
    not_video = tmp_path / "clip.mp4"
    not_video.write_text("definitely not a video\n" * 100)
    error = (By.ID, "client-error")

    # too large: refused in the page before uploading
    browser.get(f"{base}/search")
    _choose_upload(browser, big)
    browser.find_element(By.ID, "submit").click()
    _wait(browser, lambda d: d.find_element(*error).is_displayed(), 10)
    assert f"upload limit is {BROWSER_LIMIT_MB} MB" in browser.find_element(*error).text
    assert browser.current_url.endswith("/search")

    # too large, with the page's check switched off: the server's 413 page says it
    browser.execute_script("document.getElementById('search-form').setAttribute('data-max-bytes', '0')")
    browser.find_element(By.ID, "submit").click()
    _wait(browser, lambda d: "larger than the upload limit" in d.find_element(*error).text, 60)
    _alive(demo_site)

    # not a video behind a video name: the server looks inside and refuses
    browser.get(f"{base}/search")
    _choose_upload(browser, not_video)
    browser.find_element(By.ID, "submit").click()
    _wait(browser, lambda d: "is not a video" in d.find_element(*error).text, 60)
    _alive(demo_site)

    # and it still searches
    browser.get(f"{base}/search?dataset=demo&model=pose-baseline&mode=id&id=synthetic-g00-s00-t0&k=3")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#result-cards .card")) == 3
