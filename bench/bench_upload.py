"""Upload to results in the web app for a ~3 s webcam clip (mp4v): the query posed in parts on warm workers (issue 16)
against the previous path, posed in one piece in the app's process.

The clip is two Croatian clips back to back (signsearch.segment.concat, mpeg4 as webcams write; 3.5 s). Each
round POSTs it to /search through Flask's test client, the whole request the browser makes: upload checks,
MediaPipe posing, embedding, the query's preview (made in a thread while the clip is posed) and the page.
The database is left out (its kNN takes milliseconds on pgvector; here it answers nothing), so the figure is the
app's own cost. One app per path: "2 parts" has `app.query_pose_workers: 2` (the default: 2 worker processes
started with the app, each poses half the frames), "previous" has 1 (one model in the app's process, loaded per
query). "2 parts, no preview" shows what the query's preview costs while both cores pose. Prints the median and
range of `--rounds` rounds after one warm-up each (the worker processes load their models).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from signsearch import search
from signsearch.web import query_previews


def _clip(testdata: Path, out: Path) -> Path:
    from signsearch.segment.concat import concat_videos

    root = testdata / "videos" / "croatian" / "videos"
    concat_videos([root / "bijelo" / "0000.mp4", root / "crn" / "0000.mp4"], ["bijelo", "crn"], out, codec="mpeg4")
    return out


def _client(work: Path, pose_workers: int):
    from signsearch.config import merge
    from signsearch.layout import Layout
    from signsearch.web import app as web_app
    from signsearch.web.backend import Backend, DbState

    cfg: dict[str, Any] = {}
    for name in ("config.yaml", "demo.yaml"):  # what a bare `snakemake` reads: the base and the demo on top
        merge(cfg, yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / name).read_text()))
    cfg["database"]["data_dir"] = str(work / "pgdata")
    cfg["app"] = {"query_pose_workers": pose_workers}
    config = work / f"config-{pose_workers}.yaml"
    config.write_text(yaml.safe_dump(cfg))
    Layout(work / "results").dataset_dir("bench").mkdir(parents=True, exist_ok=True)
    Backend.db_state = lambda self, config: DbState(True, models={"bench": ["pose-baseline"]})
    Backend.connect = lambda self, config: contextlib.nullcontext()  # no database: the kNN answers nothing
    search.answer = lambda conn, query: []
    app = web_app.create_app(config, settings={"RESULTS_DIR": str(work / "results")})
    return app.test_client(), app.extensions["signsearch"].backend


def _post(client, clip: Path) -> tuple[float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    with clip.open("rb") as fh:
        response = client.post("/search", data={"dataset": "bench", "model": "pose-baseline", "mode": "video", "k": "10",
                                                "video": (fh, "clip.mp4")}, content_type="multipart/form-data")
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert (b"/media/query/" in response.data) == (query_previews.keep is not _NO_PREVIEW)
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    testdata = Path(os.environ.get("SIGNSEARCH_TESTDATA", ""))
    if not (testdata / "videos" / "croatian").is_dir():
        raise SystemExit("set SIGNSEARCH_TESTDATA to the shared test material (videos/croatian)")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        clip = _clip(testdata, work / "clip.mp4")
        (parts, parts_backend), (previous, _) = _client(work, 2), _client(work, 1)
        real_keep = query_previews.keep
        paths = {"2 parts (new)": (parts, real_keep), "previous (1 piece)": (previous, real_keep),
                 "2 parts, no preview": (parts, _NO_PREVIEW)}
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in paths}
        try:
            for client in (parts, previous):
                _post(client, clip)  # warm-up: the worker processes load their models
            for _ in range(args.rounds):  # interleaved, so a change in machine load hits all
                for name, (client, keep) in paths.items():
                    query_previews.keep = keep
                    times[name].append(_post(client, clip))
        finally:
            query_previews.keep = real_keep
            parts_backend.close()
    load = os.getloadavg()[0]
    print(f"upload to results, 3.5 s mp4v clip (480x360, 30 fps), {os.cpu_count()} cores "
          f"(load {load_before:.1f} before, {load:.1f} after), "
          f"{args.rounds} rounds (CPU: the app's process only):")
    for name, values in times.items():
        wall, cpu = [v[0] for v in values], [v[1] for v in values]
        print(f"  {name:22s} wall median {statistics.median(wall):.2f} s (min {min(wall):.2f}, max {max(wall):.2f})"
              f"   CPU median {statistics.median(cpu):.2f} s")


def _NO_PREVIEW(src: Path, name: str, label: str) -> query_previews.Upload:
    """keep() without the preview."""
    return query_previews.Upload("0" * 32, src, name, label)


if __name__ == "__main__":
    main()
