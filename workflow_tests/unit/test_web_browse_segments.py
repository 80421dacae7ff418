"""Browsing a segmented dataset (issue 16): the database holds its signs (units ``<video>#NNN``), not the source
videos, so each video's card links to a search with each of its signs, by time range, and the long recordings
without a gloss are listed too; a trimmed dataset (unit id = video id) keeps the link by video id. Flask test
client, a fake database that, as pgvector, knows only the units."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from signsearch.datasets.video_registry import REGISTRY_COLUMNS
from signsearch.layout import Layout
from signsearch.segment.shard import SEGMENT_SCHEMA, unit_id
from signsearch.web import app as web_app
from signsearch.web.backend import Backend, DbState
from workflow_utils import demo_config


def _segment(video: str, index: int | None, start: float | None, end: float | None, status: str = "ok",
             unit: str | None = None) -> dict[str, Any]:
    unit = unit or (unit_id(video, index) if index is not None else None)
    return {"video_id": video, "segment_index": index, "unit_id": unit,
            "start_frame": None if start is None else int(start * 25),
            "end_frame": None if end is None else int(end * 25),
            "start_s": start, "end_s": end, "confidence": None, "status": status,
            "reason": None if status == "ok" else "no signing found"}


def _dataset(layout: Layout, name: str, root: Path, registry: list[dict[str, Any]],
             segments: list[dict[str, Any]]) -> None:
    layout.registry(name).parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([{c: r.get(c) for c in REGISTRY_COLUMNS} for r in registry]).astype(object).to_parquet(
        layout.registry(name), index=False)
    layout.dataset_record(name).write_text(json.dumps({"name": name, "kind": "poses", "root": str(root)}))
    pq.write_table(pa.Table.from_pylist(segments, schema=SEGMENT_SCHEMA), layout.segments(name))


class _UnitsDb:
    """Answers a search by id only for the ids it holds (the units), as the database does."""

    def __init__(self, units: dict[str, set[str]]) -> None:
        self.units, self.calls = units, []

    def db_state(self, config: Any) -> DbState:
        return DbState(True, models={name: ["pose-baseline"] for name in self.units})

    def nearest_videos(self, config: Any, **kwargs: Any) -> list[dict[str, Any]]:
        self.calls.append(kwargs)
        held = self.units[kwargs["dataset"]]
        if kwargs.get("video_id") not in held:
            return []
        return [{"rank": 1, "video_id": other, "gloss": None, "signer": "s1", "split": "test", "distance": 0.1,
                 "path": None, "pose_path": None, "source_video_id": None, "start_s": None, "end_s": None}
                for other in sorted(held - {kwargs["video_id"]})]


@pytest.fixture()
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SIGNSEARCH_DB_URL", raising=False)
    layout = Layout(tmp_path / "results")
    row = {"signer": "s1", "split": "test", "shard": "s00000", "source": "poses"}
    _dataset(layout, "stories", tmp_path,
             [{"video_id": "story1", "gloss": None, **row}, {"video_id": "story2", "gloss": None, **row},
              {"video_id": "hello_take", "gloss": "HELLO", **row}],
             [_segment("story1", 0, 0.4, 1.2), _segment("story1", 1, 61.3, 62.5),
              _segment("story2", None, None, None, status="none"), _segment("hello_take", 0, 0.2, 0.9)])
    _dataset(layout, "trimmed", tmp_path, [{"video_id": "t1", "gloss": "HELLO", **row}],
             [_segment("t1", None, 0.1, 0.8, unit="t1")])
    fake = _UnitsDb({"stories": {"story1#000", "story1#001", "hello_take#000"}, "trimmed": {"t1", "t2"}})
    monkeypatch.setattr(Backend, "db_state", fake.db_state)
    monkeypatch.setattr(Backend, "nearest_videos", fake.nearest_videos)
    cfg = demo_config()
    cfg["database"]["data_dir"] = str(tmp_path / "pgdata")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    app = web_app.create_app(tmp_path / "config.yaml", settings={"RESULTS_DIR": str(tmp_path / "results")})
    client = app.test_client()
    client.fake = fake
    return client


def _cards(html: str) -> dict[str, str]:
    return dict(re.findall(r'<li class="card" data-video-id="([^"]+)">(.*?)</li>', html, flags=re.S))


def _searches(card: str) -> list[tuple[str, str]]:
    links = re.findall(r'<a[^>]* href="(/search\?[^"]+)"[^>]*>([^<]+)</a>', card)
    return [(href.replace("&amp;", "&"), text) for href, text in links]


def test_a_segmented_video_links_to_a_search_with_each_of_its_signs(client) -> None:
    page = client.get("/browse?dataset=stories&gloss=HELLO").get_data(as_text=True)
    links = _searches(_cards(page)["hello_take"])
    assert [text for _, text in links] == ["1 (00:00.2–00:00.9)"]  # no link by the source id: the database lacks it
    assert "id=hello_take%23000" in links[0][0] and "mode=id" in links[0][0]
    html = client.get(links[0][0]).get_data(as_text=True)
    assert client.fake.calls[-1]["video_id"] == "hello_take#000"
    assert "story1#000" in html  # the search ran and found the other signs


def test_the_long_recordings_without_a_gloss_are_listed_with_their_signs(client) -> None:
    html = client.get("/browse?dataset=stories").get_data(as_text=True)
    link = re.search(r'<a id="unglossed-link" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    cards = _cards(client.get(link).get_data(as_text=True))
    assert set(cards) == {"story1", "story2"}
    signs = _searches(cards["story1"])
    assert [text for _, text in signs] == ["1 (00:00.4–00:01.2)", "2 (01:01.3–01:02.5)"]
    assert [href.split("id=")[1] for href, _ in signs] == ["story1%23000", "story1%23001"]
    assert _searches(cards["story2"]) == [] and "no sign found in this video" in cards["story2"]
    for href, _ in signs:  # every offered search is of a unit the database holds
        client.get(href)
        assert client.fake.calls[-1]["video_id"] in client.fake.units["stories"]


def test_a_trimmed_dataset_keeps_the_search_by_video_id(client) -> None:
    html = client.get("/browse?dataset=trimmed&gloss=HELLO").get_data(as_text=True)
    assert [text for _, text in _searches(_cards(html)["t1"])] == ["search with it"]
    assert "unglossed-link" not in html and "A segmented dataset" not in html
