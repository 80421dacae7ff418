"""The results page, its figures and tables at ASL Citizen's size (2,731 glosses) against a small grid (20 glosses),
measured in one run: the four cells (full, test, 400x10, 20x5) of one model from clustered synthetic vectors
(workflow_tests/web/asl_grid.py, the real evaluate_cell and grid job), then the app (create_app, Flask test client
and a real headless Chromium when installed).

Prints per size: cell and grid job seconds, cell file and figure sizes (bytes, pixels), /results server time
(first and median of 5 warm requests) and HTML size, rows the page renders, the embedding map's PNG and JSON, the
whole per-gloss TSV download, and Chromium's load time (median of 3) and horizontal overflow (every folded
section open) at 1400 and 400 CSS px; then the large / small ratios. The machine may be shared: times are wall seconds of this run only.

    .venv/bin/python bench/bench_results_page.py [--videos 20000] [--no-browser]
"""

from __future__ import annotations

import argparse
import logging
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO / "workflow_tests"), str(REPO / "workflow_tests" / "web")]

import asl_grid  # noqa: E402
from PIL import Image  # noqa: E402

from signsearch.layout import Layout  # noqa: E402

OVERFLOW = ("var w = document.documentElement.clientWidth; return {page: document.documentElement.scrollWidth, "
            "visible: w, wide: [...document.querySelectorAll('body *')].filter(e => e.offsetParent !== null && "
            "!e.closest('.scroll') && e.getBoundingClientRect().right > w + 1).slice(0, 5)"
            ".map(e => e.tagName + '#' + e.id + '.' + e.className)};")
TIMING = ("var t = performance.getEntriesByType('navigation')[0]; "
          "return {dom: t.domContentLoadedEventEnd, load: t.loadEventEnd};")


def _get(client, url: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return time.perf_counter() - started, response.data


def measure(root: Path, videos: int, glosses: int, browser: bool) -> dict[str, float]:
    out: dict[str, float] = {}
    for step, seconds in asl_grid.build(root, videos, glosses).items():
        out[f"{step.split(' (')[0]} s"] = seconds
    layout = Layout(root / "results")
    cell = layout.cell(asl_grid.DATASET, asl_grid.MODEL, "full")
    for path in cell.values():
        out[f"full {path.name} kB"] = path.stat().st_size / 1e3
    for name, path in layout.report_figures(asl_grid.DATASET).items():
        with Image.open(path) as img:
            out[f"{name}.png kB"], out[f"{name}.png px high"] = path.stat().st_size / 1e3, img.height

    from signsearch.web.app import create_app

    app = create_app(None, settings={"RESULTS_DIR": str(root / "results")})
    client = app.test_client()
    page = f"/results?dataset={asl_grid.DATASET}"
    out["/results first s"], html = _get(client, page)
    out["/results warm s"] = statistics.median(_get(client, page)[0] for _ in range(5))
    out["/results other pair s"] = _get(client, page + "&subset=test&pair=3")[0]
    out["/results HTML kB"] = len(html) / 1e3
    out["/results <tr>"] = html.count(b"<tr")
    per_gloss = re.search(rb'id="per-gloss-table">(.*?)</table>', html, re.S).group(1)
    out["per-gloss rows shown"] = per_gloss.count(b"<tr>") - 1  # the header's
    maps = f"/embedding-map/{asl_grid.DATASET}/{asl_grid.MODEL}"
    out["map png s"], png = _get(client, maps + ".png")
    out["map png kB"] = len(png) / 1e3
    out["map json s"], points = _get(client, maps + ".json")
    out["map json kB"] = len(points) / 1e3
    out["per-gloss TSV s"], tsv = _get(client, f"/cell-table/{asl_grid.DATASET}/{asl_grid.MODEL}/full/per_gloss.tsv")
    out["per-gloss TSV rows"] = tsv.count(b"\n") - 1
    if browser:
        out |= _browser(app, page)
    return out


def _browser(app, page: str) -> dict[str, float]:
    from workflow_utils import CHROMEDRIVER, CHROMIUM, chromium, serve_wsgi

    if not (CHROMIUM and CHROMEDRIVER):
        print("no chromium/chromedriver: browser numbers skipped")
        return {}
    out = {}
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log between the numbers
    with serve_wsgi(app) as base, chromium("1400,1000") as driver:
        driver.get(base + page)  # warm: the map is rendered and cached once
        for width in (1400, 400):
            driver.set_window_size(max(width, 500), 1000)
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": width, "height": 1000, "deviceScaleFactor": 1, "mobile": False})
            loads, dom = [], []
            for _ in range(3):
                started = time.perf_counter()
                driver.get(base + page)
                loads.append(time.perf_counter() - started)
                dom.append(driver.execute_script(TIMING)["dom"])
            out[f"chromium {width}px load s"] = statistics.median(loads)
            out[f"chromium {width}px DOMContentLoaded ms"] = statistics.median(dom)
            driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = true);")
            overflow = driver.execute_script(OVERFLOW)
            out[f"chromium {width}px overflow px"] = overflow["page"] - overflow["visible"]
            if overflow["wide"]:
                print(f"{width}px: wider than the window: {overflow['wide']}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=20000, help="videos of the large grid (2,731 glosses)")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-results-page-") as tmp:
        small = measure(Path(tmp) / "small", 200, 20, not args.no_browser)
        large = measure(Path(tmp) / "large", args.videos, asl_grid.GLOSSES, not args.no_browser)
    print(f"{'':34} {'20 glosses':>12} {f'{asl_grid.GLOSSES:,} glosses':>14} {'ratio':>8}")
    for key in large:
        a, b = small.get(key, float("nan")), large[key]
        ratio = f"{b / a:8.1f}" if a else f"{'-':>8}"
        print(f"{key:34} {a:12.3f} {b:14.3f} {ratio}")


if __name__ == "__main__":
    main()
