"""The search page on real videos in headless Chromium (issue 16): the 27 Croatian webcam clips (mp4v, which
Chromium refuses) and a long video made of two of them, with previews made by signsearch.media, searched by the
real pose-baseline embedder on the clips' real poses (media_site.MemorySearch stands in for the database).

At 1400 px and 400 px: every result video and the query play (readyState, currentTime advancing, no media
error), nothing overflows horizontally at 400 px, a segment result plays from its start and loops inside its
range, and an uploaded clip is shown beside its results and plays. README screenshots come from the pose-format
sample clips FOOTBALL and SOUP (MIT) only: SIGNSEARCH_SCREENSHOTS=docs/screenshots refreshes them; the Croatian
screenshots stay in the test's tmp dir.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import pytest

from media_site import MemorySearch, Unit, Video, build_results, read_pose, serve, write_manifest
from signsearch.media.fragments import time_range_label
from signsearch.segment.concat import concat_poses, concat_videos
from workflow_utils import CHROMEDRIVER, CHROMIUM, chromium, demo_config, run_js

pytestmark = pytest.mark.slow  # ~1-2 min: previews of 29 videos, a browser, playback in real time, one posing

WIDTHS = [1400, 400]


def _long_video(clips: list[Video], tmp: Path, name: str, codec: str) -> list[Unit]:
    """One video of `clips` back to back, and one segment unit per clip (its gloss unknown, as for long videos)."""
    path = tmp / f"{name}.mp4"
    truth = concat_videos([c.path for c in clips], [c.gloss for c in clips], path, codec=codec)
    pose, _ = concat_poses([read_pose(c.pose_path) for c in clips], [c.gloss for c in clips])
    pose_path = tmp / f"{name}.pose"
    with pose_path.open("wb") as fh:
        pose.write(fh)
    source = Video(name, path, pose_path, None, clips[0].signer, clips[0].split)
    from media_site import slice_pose

    return [Unit(f"{name}#{i:03d}", source, slice_pose(pose, t.start_frame, t.end_frame), t.start_s, t.end_s)
            for i, t in enumerate(truth)]


def _site_units(videos: list[Video], long_units: list[Unit]) -> list[Unit]:
    return [Unit(v.video_id, v, read_pose(v.pose_path), gloss=v.gloss) for v in videos] + long_units


@pytest.fixture(scope="module")
def croatian_site(testdata: Path, tmp_path_factory: pytest.TempPathFactory):
    root = testdata / "videos" / "croatian"
    if not (root / "metadata.csv").is_file():
        pytest.skip("the Croatian clips are absent from the test material (videos/croatian)")
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("browser tests need Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver")
    pytest.importorskip("selenium", reason="browser tests need selenium (pip install selenium)")
    tmp = tmp_path_factory.mktemp("croatian-site")
    meta = pd.read_csv(root / "metadata.csv")
    videos = [Video(r.sample_id, root / r.path, root / r.pose_path, r.gloss, r.signer, r.split)
              for r in meta.itertuples()]
    by_id = {v.video_id: v for v in videos}
    long_units = _long_video([by_id["hr-bijelo-0000"], by_id["hr-crn-0000"]], tmp, "hr-long", "mpeg4")
    search = MemorySearch("croatian", _site_units(videos, long_units), demo_config())
    layout = build_results(tmp, "croatian", videos + [long_units[0].source], root)
    write_manifest(layout, search)
    _evaluate(layout, "croatian", {"full": [v.video_id for v in videos], "one_take": [v.video_id for v in videos][::3]})
    with serve(tmp, search) as base:
        yield {"base": base, "search": search, "segment": long_units[1], "videos": videos, "tmp": tmp}


def _evaluate(layout, dataset: str, subsets: dict[str, list[str]]) -> None:
    """Evaluation cells and the grid of the manifest, as the workflow's evaluate and grid jobs write them."""
    from signsearch import manifest
    from signsearch.evaluate.cell import evaluate_cell, write_cell
    from signsearch.evaluate.grid import aggregate_grid
    from media_site import MODEL

    m = manifest.read(layout.manifest(dataset, MODEL))
    for name, ids in subsets.items():
        write_cell(evaluate_cell(m, ids, subset_name=name, dataset=dataset), layout.cell(dataset, MODEL, name))
    aggregate_grid([layout.cell_dir(dataset, MODEL, name) for name in subsets], layout.report(dataset))


@pytest.fixture(scope="module")
def browser(croatian_site):
    with chromium("1400,1000") as driver:
        driver.set_script_timeout(60)
        driver.set_page_load_timeout(120)
        yield driver


# Play every video of the query panel and the result cards; report what each did.
PLAY_ALL = """
  var videos = [...document.querySelectorAll(args[0])];
  for (var i = 0; i < 200 && videos.some(v => v.readyState < 1 && !v.error); i++) await sleep(50);
  var t0 = videos.map(v => v.currentTime);
  videos.forEach(v => { v.play().catch(e => null); });
  // many videos share the browser's 6 connections to the app: allow each up to 20 s to start, then 0.3 s of play
  for (var i = 0; i < 400 && videos.some((v, j) => !v.error && v.currentTime - t0[j] <= 0.3); i++) await sleep(50);
  done(videos.map((v, i) => ({id: v.closest('[id]') && v.closest('[id]').id, ready: v.readyState,
    error: v.error && (v.error.code + ' ' + v.error.message), advanced: v.currentTime - t0[i], paused: v.paused,
    width: v.clientWidth, hidden: v.hidden})));
"""

# The page's width against the viewport's (`window`, with its scrollbar; `visible`, without it), and what sticks out.
OVERFLOW = "var w = document.documentElement.clientWidth; return {page: document.documentElement.scrollWidth, " \
           "window: window.innerWidth, visible: w, wide: [...document.querySelectorAll('body *')].filter(e => " \
           "e.getBoundingClientRect().right > w + 1).slice(0, 5).map(e => e.tagName + '.' + e.className)};"


def _assert_played(states: list[dict], width: int) -> None:
    assert states, "no videos on the page"
    for s in states:
        assert s["error"] is None and not s["hidden"], s
        assert s["ready"] >= 2 and s["advanced"] > 0.3, s
        assert 50 < s["width"] <= width, s


def _viewport(driver, width: int, height: int = 1000) -> None:
    """A viewport exactly `width` CSS px wide (headless Chromium keeps windows at least 500 px wide)."""
    driver.set_window_size(max(width, 500), height)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


def _screenshot(driver, path: Path) -> None:
    import base64

    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    # the whole height is laid out without a scrollbar: as wide as the window, not as the scrolled content
    width = max(size["width"], driver.execute_script("return window.innerWidth"))
    clip = {"x": 0, "y": 0, "width": width, "height": min(size["height"], 6000), "scale": 1}
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                             "clip": clip})
    path.write_bytes(base64.b64decode(shot["data"]))


def _search_by_id(driver, base: str, video_id: str, k: int = 10) -> None:
    driver.get(f"{base}/search?dataset=croatian&model=pose-baseline&mode=id&id={video_id}&k={k}")


@pytest.mark.parametrize("width", WIDTHS)
def test_every_result_and_the_query_play_and_nothing_overflows(croatian_site, browser, width: int,
                                                               tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    _viewport(browser, width)
    _search_by_id(browser, croatian_site["base"], "hr-crn-0001")
    cards = browser.find_elements(By.CSS_SELECTOR, "#result-cards .card")
    assert len(cards) == 10
    ids = [c.get_attribute("data-video-id") for c in cards]
    # the other takes of the sign first (and the long video's segment cut from one of them, as near as it)
    assert {"hr-crn-0000", "hr-crn-0002"} <= set(ids[:3]), ids
    panel = browser.find_element(By.ID, "query-panel")
    assert "crn" in panel.text and "Dokicasilenovsky(1 person, webcam)" in panel.text  # signer text in full
    assert browser.find_elements(By.CSS_SELECTOR, "#result-cards .badge.same")
    assert "lower is closer" in browser.find_element(By.ID, "distance-help").text
    states = run_js(browser, PLAY_ALL, "#query-panel video, #result-cards video")
    assert len(states) == 11, states
    _assert_played(states, width)
    overflow = browser.execute_script(OVERFLOW)
    assert overflow["page"] <= overflow["visible"] and overflow["window"] == width, overflow
    _screenshot(browser, tmp_path / f"croatian-{width}.png")  # a test artifact only: the clips are not ours to show


@pytest.mark.parametrize("width", WIDTHS)
def test_a_segment_result_plays_from_its_start_and_loops_in_its_range(croatian_site, browser, width: int) -> None:
    from selenium.webdriver.common.by import By

    segment = croatian_site["segment"]
    _viewport(browser, width)
    _search_by_id(browser, croatian_site["base"], "hr-crn-0001")
    card = browser.find_element(By.CSS_SELECTOR, f"#result-cards .card[data-video-id='{segment.video_id}']")
    assert time_range_label(segment.start_s, segment.end_s) in card.text  # "00:01.5–00:03.5"
    player = card.find_element(By.CSS_SELECTOR, ".player")
    state = run_js(browser, """
      var root = args[0], v = root.querySelector("video");
      for (var i = 0; i < 200 && v.readyState < 1 && !v.error; i++) await sleep(50);
      root.querySelector(".player-play").click();
      await sleep(300);
      var first = v.currentTime, seen = [];
      for (var i = 0; i < 120; i++) { seen.push(v.currentTime); await sleep(25); }   // 3 s: the 2 s range loops
      done({first: first, seen: seen, error: v.error && v.error.message, paused: v.paused});
    """, player)
    start, end = segment.start_s, segment.end_s
    assert state["error"] is None and not state["paused"], state
    assert start - 0.05 <= state["first"] < start + 0.6, (start, state["first"])  # shortly after play: at start
    seen = state["seen"]
    assert min(seen) >= start - 0.05 and max(seen) <= end + 0.1, (start, end, min(seen), max(seen))
    assert any(b < a - 0.5 for a, b in zip(seen, seen[1:])), seen  # went back to the start: it loops


@pytest.mark.parametrize("width", WIDTHS)
def test_an_uploaded_clip_is_shown_beside_its_results_and_plays(croatian_site, browser, width: int,
                                                                tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    clip = next(v for v in croatian_site["videos"] if v.video_id == "hr-zuta-0001")
    _viewport(browser, width)
    browser.get(f"{croatian_site['base']}/search?dataset=croatian&model=pose-baseline")
    browser.find_element(By.CSS_SELECTOR, "input[name=mode][value=video]").click()
    browser.find_element(By.ID, "video").send_keys(str(clip.path))
    began = time.perf_counter()
    browser.find_element(By.ID, "submit").click()
    WebDriverWait(browser, 120, 0.2).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#query-panel video"))
    print(f"upload to results ({width} px): {time.perf_counter() - began:.2f} s")
    glosses = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#result-cards .card .gloss")]
    assert glosses[0] == "zuta", glosses
    cards = browser.find_elements(By.CSS_SELECTOR, "#result-cards .card")
    assert "this is the query itself" in cards[0].text  # the clip is in the dataset: distance ~0
    _assert_played(run_js(browser, PLAY_ALL, "#query-panel video, #result-cards video"), width)
    overflow = browser.execute_script(OVERFLOW)
    assert overflow["page"] <= overflow["visible"] and overflow["window"] == width, overflow
    _screenshot(browser, tmp_path / f"croatian-upload-{width}.png")


# -- README screenshots: the pose-format sample clips (MIT) only ----------------------------------------------------
@pytest.fixture(scope="module")
def samples_site(testdata: Path, tmp_path_factory: pytest.TempPathFactory):
    clips = {name: (testdata / "videos" / f"{name}.mp4", testdata / "poses" / f"{name}.mediapipe-regenerated.pose")
             for name in ("FOOTBALL", "SOUP")}
    if not all(v.is_file() and p.is_file() for v, p in clips.values()):
        pytest.skip("FOOTBALL/SOUP videos or poses absent from the test material")
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("browser tests need Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver")
    tmp = tmp_path_factory.mktemp("samples-site")
    videos = [Video(name, v, p, name, "pose-format sample", "test") for name, (v, p) in clips.items()]
    long_units = _long_video(videos, tmp, "sentence", "libx264")
    search = MemorySearch("samples", _site_units(videos, long_units), demo_config())
    layout = build_results(tmp, "samples", videos + [long_units[0].source], testdata / "videos")
    write_manifest(layout, search)
    with serve(tmp, search) as base:
        yield base


def test_readme_screenshots_of_real_playing_video(samples_site, testdata: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    target = Path(os.environ.get("SIGNSEARCH_SCREENSHOTS") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    for width, name in ((1400, "search_video.png"), (400, "search_video_narrow.png")):
        with chromium("1400,900") as driver:
            _viewport(driver, width, 900)
            driver.get(f"{samples_site}/search?dataset=samples&model=pose-baseline&k=4")
            driver.find_element(By.CSS_SELECTOR, "input[name=mode][value=video]").click()
            driver.find_element(By.ID, "video").send_keys(str(testdata / "videos" / "FOOTBALL.mp4"))
            driver.find_element(By.ID, "submit").click()
            WebDriverWait(driver, 120, 0.2).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#query-panel video"))
            states = run_js(driver, PLAY_ALL, "#query-panel video, #result-cards video")
            _assert_played(states, width)
            overflow = driver.execute_script(OVERFLOW)
            assert overflow["page"] <= overflow["visible"] and overflow["window"] == width, overflow
            run_js(driver, "document.querySelectorAll('video').forEach(v => v.pause()); done(1);")
            _screenshot(driver, target / name)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_results_page_fits_and_its_videos_play(croatian_site, browser, width: int, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    _viewport(browser, width)
    browser.get(f"{croatian_site['base']}/results?dataset=croatian&model=pose-baseline&subset=one_take")
    assert "n/a: no query could be evaluated" in browser.find_element(By.ID, "metrics-table").text
    browser.get(f"{croatian_site['base']}/results?dataset=croatian&model=pose-baseline&subset=full")
    assert "Precision at 10 (P@10)" in browser.find_element(By.ID, "metrics-table").text
    states = run_js(browser, PLAY_ALL, "#compare video")
    _assert_played(states, width)
    overflow = browser.execute_script(OVERFLOW)
    assert overflow["page"] <= overflow["visible"] and overflow["window"] == width, overflow
    _screenshot(browser, tmp_path / f"croatian-results-{width}.png")


@pytest.mark.parametrize("width", WIDTHS)
def test_browse_by_gloss_plays_the_gloss_videos_and_fits(croatian_site, browser, width: int) -> None:
    from selenium.webdriver.common.by import By

    _viewport(browser, width)
    browser.get(f"{croatian_site['base']}/browse?dataset=croatian&q=crn")
    links = browser.find_elements(By.CSS_SELECTOR, "#gloss-table tbody a")
    assert [a.text for a in links] == ["crn"], [a.text for a in links]
    links[0].click()
    cards = browser.find_elements(By.CSS_SELECTOR, "#gloss-videos .card")
    assert {"hr-crn-0000", "hr-crn-0001", "hr-crn-0002"} <= {c.get_attribute("data-video-id") for c in cards}
    _assert_played(run_js(browser, PLAY_ALL, "#gloss-videos video"), width)
    overflow = browser.execute_script(OVERFLOW)
    assert overflow["page"] <= overflow["visible"] and overflow["window"] == width, overflow
