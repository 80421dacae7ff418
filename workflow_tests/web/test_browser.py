"""The web app in a real headless browser (Debian's chromium + chromedriver, driven by Selenium) against
`signsearch serve` run as a subprocess on the demo results, which a session fixture builds by running the workflow
in a temporary work dir (~30 s): upload a real video and get results, the results page with its grid, refused
uploads in the browser while the app keeps serving (SIGNSEARCH_WEB_DEMO=<work dir> reuses a built demo instead).
Screenshots go to the test's tmp dir, or to $SIGNSEARCH_SCREENSHOTS when set
(`SIGNSEARCH_SCREENSHOTS=docs/screenshots` refreshes the README's).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from workflow_utils import CHROMEDRIVER, CHROMIUM, chromium, demo_config, make_workdir, snakemake, stop_database

pytestmark = pytest.mark.slow

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


# Module scope: the site, its database and the browser (whose pages keep animating) stop after these tests.
@pytest.fixture(scope="module")
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


@pytest.fixture(scope="module")
def browser(demo_site):
    with chromium("1280,1000", "--disable-quic") as driver:
        driver.set_page_load_timeout(180)
        yield driver


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

    # the map's points: hovering one names its video and gloss, clicking it searches with that video
    from selenium.webdriver.common.action_chains import ActionChains

    box = browser.find_element(By.ID, "embedding-map-box")
    _wait(browser, lambda d: int(box.get_attribute("data-points") or 0) > 0, 30)
    point = browser.execute_script("""
        const img = arguments[0];
        return fetch(img.parentElement.dataset.pointsUrl).then(r => r.json()).then(data => {
          const p = data.points[0];
          return {id: p.video_id, gloss: p.gloss, dx: img.clientLeft + p.x * img.clientWidth - img.offsetWidth / 2,
                  dy: img.clientTop + p.y * img.clientHeight - img.offsetHeight / 2};
        });""", emap)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", emap)
    ActionChains(browser).move_to_element_with_offset(emap, round(point["dx"]), round(point["dy"])).perform()
    tip = browser.find_element(By.ID, "embedding-map-tip")
    _wait(browser, lambda d: tip.is_displayed(), 10)
    assert point["id"] in tip.text and (point["gloss"] or "") in tip.text, tip.text
    ActionChains(browser).click().perform()
    _wait(browser, lambda d: f"nearest to {point['id']}" in d.find_element(By.CSS_SELECTOR, ".results h2").text, 60)
    assert browser.find_elements(By.CSS_SELECTOR, "#result-cards .card")


def test_browser_browse_by_gloss_plays_and_searches(demo_site, browser) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{demo_site['base']}/browse")
    first = browser.find_element(By.CSS_SELECTOR, "#gloss-table tbody a")
    gloss = first.text
    first.click()
    _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#gloss-videos h2").text.startswith(gloss))
    cards = browser.find_elements(By.CSS_SELECTOR, "#gloss-videos .card")
    assert cards
    _wait(browser, lambda d: all(int(c.get_attribute("data-frame") or -1) >= 0
                                 for c in d.find_elements(By.CSS_SELECTOR, "#gloss-videos canvas[data-pose-url]")), 30)
    vid = cards[0].get_attribute("data-video-id")
    cards[0].find_element(By.LINK_TEXT, "search with it").click()
    _wait(browser, lambda d: f"nearest to {vid}" in d.find_element(By.CSS_SELECTOR, ".results h2").text, 60)


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
