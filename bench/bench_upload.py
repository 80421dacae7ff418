"""Upload to results in the web app for a ~3 s webcam clip (mp4v), with and without the query's preview.

The clip is two Croatian clips back to back (signsearch.segment.concat, mpeg4 as webcams write; 3.5 s). Each
round POSTs it to /search through Flask's test client, the whole request the browser makes: upload checks,
MediaPipe posing, embedding, the query's preview (made in a thread while the clip is posed) and the page.
The database's kNN (milliseconds on pgvector) is replaced by an empty answer, so the figure is the app's own
cost. "previous" is the same request with the query preview switched off, i.e. the path before issue 16.
Prints the median and range of `--rounds` rounds after one warm-up (MediaPipe's model load).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from signsearch.web import query_previews


def _clip(testdata: Path, out: Path) -> Path:
    from signsearch.segment.concat import concat_videos

    root = testdata / "videos" / "croatian" / "videos"
    concat_videos([root / "bijelo" / "0000.mp4", root / "crn" / "0000.mp4"], ["bijelo", "crn"], out, codec="mpeg4")
    return out


def _client(work: Path):
    from signsearch.search import prepare
    from signsearch.web import app as web_app
    from signsearch.web.backend import Backend, DbState
    from signsearch.layout import Layout

    from signsearch.config import merge

    cfg: dict[str, Any] = {}
    for name in ("config.yaml", "demo.yaml"):  # what a bare `snakemake` reads: the base and the demo on top
        merge(cfg, yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / name).read_text()))
    cfg["database"]["data_dir"] = str(work / "pgdata")
    (work / "config.yaml").write_text(yaml.safe_dump(cfg))
    Layout(work / "results").dataset_dir("bench").mkdir(parents=True, exist_ok=True)
    Backend.db_state = lambda self, config: DbState(True, models={"bench": ["pose-baseline"]})

    def nearest(self: Any, config: dict, upload: bool = False, **kwargs: Any) -> list:
        prepare(config, **kwargs)  # posing and embedding, as for the database; the kNN itself is left out
        return []

    Backend.nearest_videos = nearest
    return web_app.create_app(work / "config.yaml", settings={"RESULTS_DIR": str(work / "results")}).test_client()


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
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        clip = _clip(testdata, work / "clip.mp4")
        client = _client(work)
        _post(client, clip)  # warm-up: MediaPipe loads its model once per process
        real_start = query_previews.keep
        times: dict[str, list[tuple[float, float]]] = {"with query preview": [], "previous (no query preview)": []}
        for _ in range(args.rounds):  # interleaved, so a change in machine load hits both
            query_previews.keep = real_start
            times["with query preview"].append(_post(client, clip))
            query_previews.keep = _NO_PREVIEW
            times["previous (no query preview)"].append(_post(client, clip))
        query_previews.keep = real_start
    load = os.getloadavg()[0]
    print(f"upload to results, 3.5 s mp4v clip (480x360, 30 fps), {os.cpu_count()} cores (load {load:.1f}), "
          f"{args.rounds} rounds:")
    for name, values in times.items():
        wall, cpu = [v[0] for v in values], [v[1] for v in values]
        print(f"  {name:28s} wall median {statistics.median(wall):.2f} s (min {min(wall):.2f}, max {max(wall):.2f})"
              f"   CPU median {statistics.median(cpu):.2f} s")


def _NO_PREVIEW(src: Path, name: str, label: str) -> query_previews.Upload:
    """keep() without the preview: the request as it was before the query was shown."""
    return query_previews.Upload("0" * 32, src, name, label)


if __name__ == "__main__":
    main()
