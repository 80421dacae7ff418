"""The results page at ASL Citizen's size (issue 15) in a real headless Chromium: 2,731 glosses, one model, the
four subsets evaluated by the real cell and grid code (asl_grid: clustered synthetic vectors, 3 takes a gloss).
The page stays a page: the 15 hardest glosses of 2,731 with a link to all of them, the top 10 confused pairs of
thousands, every figure loaded and within the window, and nothing wider than the window at 1400 or 400 px, even
with every folded section open. Timings are bench/bench_results_page.py's."""

from __future__ import annotations

from pathlib import Path

import pytest

import asl_grid
from workflow_utils import CHROMEDRIVER, CHROMIUM, chromium, run_js, serve_wsgi

pytestmark = pytest.mark.slow

WIDTHS = [1400, 400]
OVERFLOW = ("var w = document.documentElement.clientWidth; return {page: document.documentElement.scrollWidth, "
            "visible: w, wide: [...document.querySelectorAll('body *')].filter(e => e.offsetParent !== null && "
            "!e.closest('.scroll') && e.getBoundingClientRect().right > w + 1).slice(0, 5).map(e => e.tagName + '.' "
            "+ e.className)};")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("browser tests need Debian's chromium and chromium-driver: "
                    "apt-get install -y chromium chromium-driver")
    pytest.importorskip("selenium", reason="browser tests need selenium (pip install selenium)")
    from signsearch.web.app import create_app

    root = tmp_path_factory.mktemp("asl-grid")
    asl_grid.build(root, 3 * asl_grid.GLOSSES)
    with serve_wsgi(create_app(None, settings={"RESULTS_DIR": str(root / "results")})) as base, \
            chromium("1400,1000") as driver:
        driver.set_page_load_timeout(120)
        yield {"base": base, "driver": driver, "root": root}


@pytest.mark.parametrize("width", WIDTHS)
def test_the_results_page_at_2731_glosses_shows_the_hardest_and_links_to_all(site, width: int) -> None:
    from selenium.webdriver.common.by import By

    driver = site["driver"]
    driver.set_window_size(max(width, 500), 1000)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": 1000, "deviceScaleFactor": 1, "mobile": False})
    driver.get(f"{site['base']}/results?dataset={asl_grid.DATASET}&subset=full")
    assert "the 15 hardest of 2,731 glosses" in driver.find_element(By.ID, "per-gloss-count").text
    assert len(driver.find_elements(By.CSS_SELECTOR, "#per-gloss-table tbody tr")) == 15
    total = sum(1 for _ in open(Path(site["root"]) / "results/eval" / asl_grid.DATASET / asl_grid.MODEL / "full"
                                / "confusions.tsv")) - 1
    assert total > 1000 and f"the top 10 of {total:,}" in driver.find_element(By.ID, "confusions").text
    assert len(driver.find_elements(By.CSS_SELECTOR, "#pairs-table tbody tr")) == 10
    # the whole per-gloss table is one link away
    lines = run_js(driver, "var r = await fetch(document.getElementById('per-gloss-download').href); "
                           "done((await r.text()).trim().split('\\n').length);")
    assert lines == 1 + asl_grid.GLOSSES
    # every figure loaded, drawn no wider than the window; nothing sticks out, even with every section open
    driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = true);")
    figures = run_js(driver, "var imgs = [...document.querySelectorAll('img.figure')]; "
                             "for (var i = 0; i < 200 && imgs.some(im => !im.complete); i++) await sleep(50); "
                             "done(imgs.map(im => [im.id, im.naturalWidth, im.getBoundingClientRect().right]));")
    assert {f[0] for f in figures} >= {"grid-heatmap", "metric-bars", "top-confusions", "embedding-map-img"}
    visible = driver.execute_script("return document.documentElement.clientWidth")
    assert all(natural > 0 and right <= visible + 1 for _, natural, right in figures), figures
    overflow = driver.execute_script(OVERFLOW)
    assert overflow["page"] <= overflow["visible"] and not overflow["wide"], overflow
