"""Previews play in a real browser; the mp4v originals do not (issue 16: black boxes).

A static page served by Flask on 127.0.0.1 (Range requests, as the app's media route does) holds <video> cards
driven by src/signsearch/web/static/player.js: the preview of a real Croatian clip (mp4v source), the original
mp4v clip itself, a missing preview, a segment [0.5, 1.0] s, and FOOTBALL.mp4's preview for playing two videos in
sync. Headless Chromium (Debian's chromium + chromium-driver, via Selenium) checks readyState, currentTime and
media errors at 1400 px and 400 px, and the player's speed, segment loop, pause, scrub and fallback.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from signsearch.media.preview import PREVIEW_SUFFIX, make_preview
from workflow_utils import CHROMEDRIVER, CHROMIUM, chromium, run_js, serve_wsgi

PLAYER_JS = Path(__file__).resolve().parents[2] / "src" / "signsearch" / "web" / "static" / "player.js"

pytestmark = pytest.mark.slow  # ~20 s: a browser, real decoding, and waits in real time

PAGE = """<!doctype html><meta charset="utf-8"><title>preview playback</title>
<style>body {{ margin: 0 }} .cards {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 8px }}
video, canvas {{ display: block; width: 100%; aspect-ratio: 4 / 3; background: #111 }} [hidden] {{ display: none }}</style>
<div class="cards">
  <div class="player" id="preview"><video src="/v/preview{suffix}" muted playsinline preload="metadata"></video></div>
  <div class="player" id="original"><video src="/v/original.mp4" muted playsinline preload="metadata"></video>
    <canvas class="pose" data-pose-url="/pose.json" hidden></canvas></div>
  <div class="player" id="missing"><video src="/v/missing{suffix}" muted playsinline preload="metadata"></video>
    <canvas class="pose" data-pose-url="/pose.json" hidden></canvas></div>
  <div class="player" id="segment" data-start="0.5" data-end="1.0">
    <video src="/v/preview{suffix}#t=0.5,1" muted playsinline preload="metadata"></video></div>
  <div class="player" id="query"><video src="/v/football{suffix}" muted playsinline preload="metadata"></video></div>
</div>
<button id="sync" data-play-together="#query #preview">play in sync</button>
<script src="/player.js"></script>
"""


@pytest.fixture(scope="module")
def site(testdata: Path):
    """Previews made here from the real clips, and the page, served on a free localhost port."""
    from flask import Flask, abort, send_file

    clip = testdata / "videos" / "croatian" / "videos" / "bijelo" / "0000.mp4"
    football = testdata / "videos" / "FOOTBALL.mp4"
    if not (clip.is_file() and football.is_file()):
        pytest.skip("the Croatian clips or FOOTBALL.mp4 are absent from the test material")
    tmp = Path(tempfile.mkdtemp(prefix="signsearch-preview-page-"))
    files = {f"preview{PREVIEW_SUFFIX}": make_preview(clip, tmp / f"preview{PREVIEW_SUFFIX}").path,
             f"football{PREVIEW_SUFFIX}": make_preview(football, tmp / f"football{PREVIEW_SUFFIX}").path,
             "original.mp4": clip}

    app = Flask(__name__)
    app.add_url_rule("/", "page", lambda: PAGE.format(suffix=PREVIEW_SUFFIX))
    app.add_url_rule("/player.js", "js", lambda: send_file(PLAYER_JS, mimetype="text/javascript"))

    @app.route("/v/<name>")
    def video(name: str):
        if name not in files:
            abort(404)
        return send_file(files[name], conditional=True)  # Range requests, as browsers use for media

    try:
        with serve_wsgi(app) as base:
            yield base
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def browser(site):
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("browser tests need Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver")
    pytest.importorskip("selenium", reason="browser tests need selenium (pip install selenium)")
    with chromium("1400,1000") as driver:
        driver.set_script_timeout(30)
        yield driver


@pytest.fixture()
def page(browser, site):
    browser.get(site)
    return browser


PLAYBACK = """
  var v = document.querySelector(args[0] + " video");
  await v.play();
  var t0 = v.currentTime; await sleep(1000);
  done({readyState: v.readyState, error: v.error && v.error.code, t0: t0, t1: v.currentTime, paused: v.paused,
        width: v.clientWidth, height: v.clientHeight});
"""


@pytest.mark.parametrize("width", [1400, 400])
def test_the_preview_of_an_mp4v_clip_plays(page, width: int) -> None:
    page.set_window_size(width, 1000)
    for card in ("#preview", "#query"):
        state = run_js(page, PLAYBACK, card)
        assert state["error"] is None, state
        assert state["readyState"] >= 2 and not state["paused"], state
        assert state["t1"] - state["t0"] > 0.5, state  # real time: about 1 s of 1 s
        assert 100 < state["width"] <= width, state


def test_the_original_mp4v_clip_does_not_play_and_falls_back_to_the_pose(page) -> None:
    state = run_js(page, """
      var v = document.querySelector("#original video");
      for (var i = 0; i < 100 && !v.error; i++) await sleep(50);
      var root = document.querySelector("#original");
      done({code: v.error && v.error.code, message: v.error && v.error.message, state: root.dataset.state,
            note: root.querySelector(".player-note").textContent, poseShown: !root.querySelector("canvas").hidden,
            videoHidden: v.hidden});
    """)
    assert state["code"] == 4 and "DEMUXER_ERROR_NO_SUPPORTED_STREAMS" in state["message"], state  # SRC_NOT_SUPPORTED
    assert state["state"] == "fallback" and state["poseShown"] and state["videoHidden"], state
    assert state["note"] == "preview unavailable — showing the pose"
    missing = run_js(page, """
      var root = document.querySelector("#missing");
      for (var i = 0; i < 100 && root.dataset.state !== "fallback"; i++) await sleep(50);
      done({state: root.dataset.state, note: root.querySelector(".player-note").textContent});
    """)
    assert missing == {"state": "fallback", "note": "preview unavailable — showing the pose"}


def test_nothing_autoplays_and_a_card_plays_on_hover_or_click(page) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    assert run_js(page, "await sleep(800); done([...document.querySelectorAll('video')].map(v => v.paused));") == [True] * 5
    card = page.find_element(By.CSS_SELECTOR, "#preview")
    ActionChains(page).move_to_element(card).perform()
    assert run_js(page, "await sleep(300); done(document.querySelector('#preview video').paused);") is False
    ActionChains(page).move_to_element(page.find_element(By.ID, "sync")).perform()
    assert run_js(page, "await sleep(200); done(document.querySelector('#preview video').paused);") is True
    button = page.find_element(By.CSS_SELECTOR, "#preview .player-play")
    button.click()  # the pointer arrives (hover plays), the click pauses: the user has taken over
    ActionChains(page).move_to_element(page.find_element(By.ID, "sync")).perform()
    assert run_js(page, "await sleep(300); done(document.querySelector('#preview video').paused);") is True
    button.click()  # plays, and keeps playing when the pointer leaves
    ActionChains(page).move_to_element(page.find_element(By.ID, "sync")).perform()
    assert run_js(page, "await sleep(300); done(document.querySelector('#preview video').paused);") is False


def test_segment_loops_within_its_range_at_every_speed(page) -> None:
    samples = run_js(page, """
      var root = document.querySelector("#segment"), v = root.querySelector("video");
      var p = SignsearchPlayer.attach(root);
      await p.play();
      var seen = [];
      for (var i = 0; i < 80; i++) { seen.push(v.currentTime); await sleep(25); }   // 2 s: ~4 loops of 0.5 s
      root.querySelector(".player-speed[data-rate='0.25']").click();
      await p.seekStart();
      var t0 = v.currentTime; await sleep(1000); var slow = v.currentTime - t0;
      done({seen: seen, rate: v.playbackRate, slow: slow, error: v.error && v.error.code});
    """)
    seen = samples["seen"]
    assert samples["error"] is None
    assert min(seen) >= 0.5 - 1e-3 and max(seen) <= 1.05, (min(seen), max(seen))
    assert sum(b < a for a, b in zip(seen, seen[1:])) >= 2, seen  # it went back to the start: looped
    assert samples["rate"] == 0.25 and 0.12 < samples["slow"] < 0.4, samples  # 1 s at 0.25x ~ 0.25 s of video


def test_half_speed_pause_scrub_and_loop_off(page) -> None:
    state = run_js(page, """
      var root = document.querySelector("#segment"), v = root.querySelector("video");
      var p = SignsearchPlayer.attach(root);
      root.querySelector(".player-speed[data-rate='0.5']").click();
      await p.play(); await sleep(400);
      root.querySelector(".player-play").click();             // pause
      var paused = v.paused, at = v.currentTime; await sleep(300); var still = v.currentTime === at;
      var scrub = root.querySelector(".player-scrub");
      scrub.value = "0.8"; scrub.dispatchEvent(new Event("input"));
      await new Promise(function (r) { v.addEventListener("seeked", r, {once: true}); });
      var scrubbed = v.currentTime;
      root.querySelector(".player-loop").click();              // loop off: stop at the end of the segment
      await p.play(); await sleep(1200);
      done({rate: v.playbackRate, paused: paused, still: still, scrubbed: scrubbed, endPaused: v.paused,
            end: v.currentTime, loop: root.querySelector(".player-loop").getAttribute("aria-pressed")});
    """)
    assert state["rate"] == 0.5 and state["paused"] and state["still"], state
    assert abs(state["scrubbed"] - 0.8) < 0.05, state
    assert state["loop"] == "false" and state["endPaused"] and abs(state["end"] - 1.0) < 0.05, state


def test_play_in_sync_starts_query_and_result_together(page) -> None:
    from selenium.webdriver.common.by import By

    page.find_element(By.ID, "sync").click()
    state = run_js(page, """
      await sleep(700);
      var q = document.querySelector("#query video"), r = document.querySelector("#preview video");
      done({q: q.currentTime, r: r.currentTime, qp: q.paused, rp: r.paused});
    """)
    assert not state["qp"] and not state["rp"], state
    assert state["q"] > 0.3 and abs(state["q"] - state["r"]) < 0.15, state
