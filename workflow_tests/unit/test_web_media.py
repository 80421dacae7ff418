"""The web app's media and result cards (Flask test client, no browser, no database): only posed videos inside
their dataset's folder are served (issue 14.1), previews are served with Range requests, a missing preview falls
back to the pose with a note, `kind: poses` datasets show poses (14.11), and result cards explain themselves:
segments play their range and show it, own-gloss results, the query itself and weak matches are marked."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import av
import numpy as np
import pandas as pd
import pytest

from signsearch import manifest
from signsearch.datasets.video_registry import REGISTRY_COLUMNS
from signsearch.layout import Layout
from signsearch.media.preview import PREVIEW_SUFFIX, make_preview
from signsearch.web import app as web_app
from signsearch.web.backend import Backend, DbState
from signsearch.web.distances import pair_distances, typical_between_signs
from workflow_utils import demo_config


def _clip(path: Path, frames: int = 20) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames):
            img = np.full((48, 64, 3), (9 * i) % 255, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _dataset(layout: Layout, name: str, kind: str, root: Path, rows: list[dict[str, Any]], ok: set[str]) -> None:
    table = pd.DataFrame([{c: r.get(c) for c in REGISTRY_COLUMNS} for r in rows])
    layout.registry(name).parent.mkdir(parents=True, exist_ok=True)
    table.astype(object).to_parquet(layout.registry(name), index=False)
    layout.dataset_record(name).write_text(json.dumps({"name": name, "kind": kind, "root": str(root.resolve())}))
    pd.DataFrame({"video_id": [r["video_id"] for r in rows],
                  "status": ["ok" if r["video_id"] in ok else "failed" for r in rows]}).to_parquet(layout.poses(name))


class _FakeDb:
    def __init__(self, rows: dict[str, list[dict[str, Any]]]) -> None:
        self.rows = rows
        self.calls: list[dict[str, Any]] = []

    def db_state(self, config: Any) -> DbState:
        return DbState(True, models={name: ["pose-baseline"] for name in self.rows})

    def nearest_videos(self, config: Any, **kwargs: Any) -> list[dict[str, Any]]:
        self.calls.append(kwargs)
        return self.rows[kwargs["dataset"]][:kwargs["k"]]


def _hit(rank: int, video_id: str, gloss: str, distance: float, **extra: Any) -> dict[str, Any]:
    return {"rank": rank, "video_id": video_id, "gloss": gloss, "signer": "s1", "split": "train", "distance": distance,
            "path": None, "pose_path": None, "source_video_id": None, "start_s": None, "end_s": None, **extra}


@pytest.fixture()
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import yaml

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SIGNSEARCH_DB_URL", raising=False)
    layout = Layout(tmp_path / "results")
    videos = tmp_path / "videos"
    a, b, long = _clip(videos / "a.mp4"), _clip(videos / "b.mp4"), _clip(videos / "long.mp4", 40)
    pose = tmp_path / "p.pose"
    pose.write_bytes(b"")  # a file: the card offers the pose (its content is not read here)
    rows = [
        {"video_id": "a", "path": str(a), "gloss": "HOUSE", "signer": "Dokicasilenovsky trener", "split": "train",
         "shard": "s00000", "pose_path": str(pose)},
        {"video_id": "b", "path": str(b), "gloss": "TREE", "signer": "s2", "split": "test", "shard": "s00000",
         "pose_path": str(pose)},
        {"video_id": "long", "path": str(long), "gloss": None, "signer": "s3", "split": "train", "shard": "s00000",
         "pose_path": str(pose)},
        {"video_id": "shadow", "path": "/etc/passwd", "gloss": "SOUP", "signer": "x", "split": "train",
         "shard": "s00000", "pose_path": str(pose)},
        {"video_id": "posedshadow", "path": "/etc/passwd", "gloss": "SOUP", "signer": "x", "split": "train",
         "shard": "s00000", "pose_path": str(pose)},
        {"video_id": "notvideo", "path": str(videos / "notes.txt"), "gloss": "SOUP", "signer": "x", "split": "train",
         "shard": "s00000", "pose_path": str(pose)},
    ]
    (videos / "notes.txt").write_text("secret")
    _dataset(layout, "clips", "folder", videos, rows, ok={"a", "b", "long", "posedshadow", "notvideo"})
    for vid in ("a", "long"):  # b has no preview yet
        make_preview(videos / f"{vid}.mp4", layout.preview_file("clips", "s00000", vid, PREVIEW_SUFFIX))
    _dataset(layout, "posefiles", "poses", tmp_path, [
        {"video_id": "p", "path": str(pose), "gloss": "HOUSE", "signer": "s1", "split": "train", "shard": "s00000",
         "pose_path": str(pose)}], ok={"p"})
    # a manifest, for the typical distance between different signs: HOUSE near (1, 0), TREE near (0, 1)
    vectors = np.array([[1, 0.05], [1, 0.0], [0.02, 1], [0, 1]], dtype=np.float32)
    meta = {"video_id": ["a", "a2", "b", "b2"], "dataset": ["clips"] * 4, "gloss": ["HOUSE", "HOUSE", "TREE", "TREE"],
            "signer": ["s1"] * 4, "split": ["train"] * 4, "pose_path": ["p"] * 4, "frames": [10] * 4}
    manifest.write(manifest.build(meta, vectors, "pose-baseline", "x"), layout.manifest("clips", "pose-baseline"))

    fake = _FakeDb({
        "clips": [_hit(1, "a", "HOUSE", 0.0), _hit(2, "long#001", None, 0.01, source_video_id="long", start_s=1.25,
                                                    end_s=2.5),
                  _hit(3, "b", "TREE", 1.5)],
        "posefiles": [_hit(1, "p", "HOUSE", 0.1), _hit(2, "p#000", None, 0.2, source_video_id="p", start_s=0.5,
                                                      end_s=1.0)],
    })
    monkeypatch.setattr(Backend, "db_state", fake.db_state)
    monkeypatch.setattr(Backend, "nearest_videos", fake.nearest_videos)
    cfg = demo_config()
    cfg["database"]["data_dir"] = str(tmp_path / "pgdata")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    app = web_app.create_app(tmp_path / "config.yaml", settings={"RESULTS_DIR": str(tmp_path / "results")})
    client = app.test_client()
    client.fake = fake
    return client


@pytest.mark.parametrize("video_id", ["shadow", "posedshadow", "notvideo", "nonexistent", "../a"])
def test_media_video_serves_no_file_outside_posed_videos_of_the_dataset(client, video_id: str) -> None:
    response = client.get(f"/media/video?dataset=clips&id={video_id}")
    assert response.status_code == 404, response.data[:200]
    assert b"root:" not in response.data and b"secret" not in response.data


def test_media_video_serves_a_posed_video_inside_the_folder(client) -> None:
    response = client.get("/media/video?dataset=clips&id=a")
    assert response.status_code == 200 and response.data[4:8] == b"ftyp"


def test_preview_is_served_with_range_requests(client) -> None:
    whole = client.get("/media/preview?dataset=clips&id=a")
    assert whole.status_code == 200 and whole.headers["Accept-Ranges"] == "bytes"
    part = client.get("/media/preview?dataset=clips&id=a", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and len(part.data) == 100 and part.data == whole.data[100:200]
    assert part.headers["Content-Range"].startswith("bytes 100-199/")
    assert client.get("/media/preview?dataset=clips&id=b").status_code == 404  # not made yet
    assert client.get("/media/preview?dataset=posefiles&id=p").status_code == 404
    assert client.get("/media/query/../../etc/passwd").status_code == 404
    assert client.get("/media/query/" + "0" * 32).status_code == 404


def _cards(html: str) -> list[str]:
    return re.findall(r'<li class="card.*?</li>', html, flags=re.S)


def test_result_cards_play_previews_segments_and_explain_distances(client) -> None:
    html = client.get("/search?dataset=clips&model=pose-baseline&mode=id&id=a&k=3").get_data(as_text=True)
    first, segment, third = _cards(html)
    # the query beside the results, with its gloss and full signer text, playing its preview
    panel = re.search(r'<aside class="query-panel".*?</aside>', html, flags=re.S).group(0)
    assert 'id="query-player"' in panel and "/media/preview?dataset=clips&amp;id=a" in panel
    assert "HOUSE" in panel and "Dokicasilenovsky trener" in panel
    # distances explained: the metric named, lower is closer, the typical distance between different signs
    help_text = re.search(r'<p class="help" id="distance-help">(.*?)</p>', html, flags=re.S).group(1)
    assert "cosine distance" in help_text and "lower is closer" in help_text and "typically" in help_text
    assert "this is the query itself" in first and "same gloss" in first and "weak match" not in first
    assert "<video" in first and "/media/preview?dataset=clips&amp;id=a" in first
    assert 'data-start="1.25" data-end="2.5"' in segment and "#t=1.25,2.5" in segment
    assert "00:01.2–00:02.5" in segment or "00:01.3–00:02.5" in segment
    assert "weak match" in third and "same gloss" not in third  # 1.5 > typical (~1.0): farther than other signs
    # b has no preview: its pose, with a note saying why
    assert "<video" not in third and "data-pose-url" in third and "no browser preview" in third
    assert 'data-play-together="#query-player #result-2"' in segment


def test_a_poses_dataset_shows_pose_animations_not_video_players(client) -> None:
    html = client.get("/search?dataset=posefiles&model=pose-baseline&mode=id&id=p&k=2").get_data(as_text=True)
    card, segment = _cards(html)
    assert "<video" not in card and "data-pose-url" in card and "no browser preview" not in card
    assert "<video" not in html
    # a segment of a pose-only dataset animates only its range of the source pose
    assert "id=p&amp;start=0.5&amp;end=1.0" in segment and "00:00.5–00:01.0" in segment


def test_a_segment_animates_only_its_frames() -> None:
    from signsearch.web.pose_render import frame_bounds

    frames = list(range(30))  # a 10 fps pose
    assert frames[slice(*frame_bounds(10.0, 0.5, 1.0))] == [5, 6, 7, 8, 9]
    assert frames[slice(*frame_bounds(10.0, 2.95, 2.96))] == [29]  # never empty inside the pose


def test_typical_distance_between_different_signs() -> None:
    vectors = np.array([[1, 0], [1, 0.1], [0, 1], [0.1, 1]], dtype=np.float64)
    typical = typical_between_signs(vectors, ["A", "A", "B", "B"], "cosine")
    assert 0.85 < typical < 1.0
    assert typical_between_signs(vectors, ["A"] * 4, "cosine") is None
    assert np.allclose(pair_distances(vectors[:1], vectors[2:3], "l2"), [np.sqrt(2)])
    assert np.allclose(pair_distances(vectors[:1], vectors[:1], "ip"), [-1.0])


def test_filters_paging_and_a_shareable_link(client) -> None:
    html = client.get("/search?dataset=clips&model=pose-baseline&mode=id&id=a&k=1&page=2&gloss=TREE&signer=s2"
                      ).get_data(as_text=True)
    call = client.fake.calls[-1]
    assert call["where"] == {"gloss": "TREE", "signer": "s2"} and call["k"] == 2  # page 2 of 1: the first 2
    (card,) = _cards(html)
    assert "#2" in card and "long#001" in card  # the second result only
    assert 'id="prev-page"' in html and 'id="next-page"' in html  # 2 of 3 results shown so far: there are more
    link = re.search(r'<a id="share-link" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "gloss=TREE" in link and "signer=s2" in link and "mode=id" in link and "id=a" in link
    assert client.get(link).status_code == 200
    assert 'list="gloss-list"' in html and '<option value="HOUSE">' in html  # the filters suggest the glosses


def test_an_upload_is_shown_and_kept_for_another_count(client, tmp_path: Path) -> None:
    clip = _clip(tmp_path / "mine.mp4")
    with clip.open("rb") as fh:
        html = client.post("/search", data={"dataset": "clips", "model": "pose-baseline", "mode": "video", "k": "2",
                                            "video": (fh, "mine.mp4")}, content_type="multipart/form-data"
                           ).get_data(as_text=True)
    panel = re.search(r'<aside class="query-panel".*?</aside>', html, flags=re.S).group(0)
    src = re.search(r'<video class="media" src="(/media/query/[0-9a-f]{32}[^"]*)"', panel).group(1)
    preview = client.get(src)
    assert preview.status_code == 200 and preview.data[4:8] == b"ftyp"  # the query's own browser preview
    token = re.search(r'name="upload" id="kept-upload" value="([0-9a-f]{32})"', html).group(1)
    assert "mine.mp4" in html and 'id="kept-note"' in html
    # another count with no new file: the kept upload is searched again, under its own name
    again = client.post("/search", data={"dataset": "clips", "model": "pose-baseline", "mode": "video", "k": "3",
                                         "upload": token}, content_type="multipart/form-data")
    assert again.status_code == 200 and len(_cards(again.get_data(as_text=True))) == 3
    call = client.fake.calls[-1]
    assert call["video_name"] == "mine.mp4" and Path(call["video"]).read_bytes() == clip.read_bytes()
    # and its link (a GET) does the same while the app keeps it; a made-up token is refused
    link = re.search(r'<a id="share-link" href="([^"]+)"', again.get_data(as_text=True)).group(1).replace("&amp;", "&")
    assert f"upload={token}" in link and len(_cards(client.get(link).get_data(as_text=True))) == 3
    refused = client.get(link.replace(token, "f" * 32))
    assert "no file chosen" in refused.get_data(as_text=True)


def test_browse_lists_glosses_with_counts_and_each_gloss_its_searchable_videos(client) -> None:
    html = client.get("/browse?dataset=clips").get_data(as_text=True)
    table = re.search(r'<table class="data" id="gloss-table">.*?</table>', html, flags=re.S).group(0)
    rows = re.findall(r"<th><a href=\"([^\"]+)\">([^<]+)</a></th><td>(\d+)</td><td>(\d+)</td>", table)
    assert [(g, int(n), int(s)) for _, g, n, s in rows] == [("HOUSE", 1, 1), ("SOUP", 3, 1), ("TREE", 1, 1)]
    assert "1 video without a gloss" in html  # "long": no gloss, not listed
    # a gloss's page: its videos play (preview, else the pose) and link to a search with each
    link = dict((g, href) for href, g, _, _ in rows)["HOUSE"].replace("&amp;", "&")
    page = client.get(link).get_data(as_text=True)
    cards = _cards(page)
    assert len(cards) == 1 and 'data-video-id="a"' in cards[0] and "/media/preview?dataset=clips&amp;id=a" in cards[0]
    search = re.search(r'<a href="(/search\?[^"]+)" title="search with this video">', cards[0]).group(1)
    search = search.replace("&amp;", "&")
    assert "mode=id" in search and "id=a" in search
    assert len(_cards(client.get(search).get_data(as_text=True))) == 3  # the search runs (the fake database)
    # look up by a part of the name, any case; nothing found says so
    found = client.get("/browse?dataset=clips&q=ou").get_data(as_text=True)
    assert ">HOUSE</a>" in found and ">SOUP</a>" in found and ">TREE</a>" not in found
    assert "No gloss contains" in client.get("/browse?dataset=clips&q=zzz").get_data(as_text=True)
    # a pose-only dataset browses too; an unknown one falls back to the first
    poses = client.get("/browse?dataset=posefiles&gloss=HOUSE").get_data(as_text=True)
    assert "data-pose-url" in "".join(_cards(poses))
    assert client.get("/browse?dataset=../etc").status_code == 200


def test_map_points_are_where_the_png_draws_them_and_open_a_search(client, tmp_path: Path) -> None:
    import io

    from matplotlib import image

    png = client.get("/embedding-map/clips/pose-baseline.png")
    points = client.get("/embedding-map/clips/pose-baseline.json").get_json()["points"]
    assert {(p["video_id"], p["gloss"]) for p in points} == {("a", "HOUSE"), ("a2", "HOUSE"), ("b", "TREE"),
                                                                ("b2", "TREE")}
    picture = image.imread(io.BytesIO(png.data))
    height, width = picture.shape[:2]
    for p in points:  # a coloured dot (not the white background) under each point
        x, y = int(p["x"] * width), int(p["y"] * height)
        assert 0 < x < width and 0 < y < height
        assert picture[y, x, :3].min() < 0.9, (p, picture[y, x])
    assert client.get("/embedding-map/clips/nothing.json").status_code == 404
    # the results page wires the map to its points and to a search by id
    (tmp_path / "results" / "eval" / "clips").mkdir(parents=True)
    html = client.get("/results?dataset=clips").get_data(as_text=True)
    box = re.search(r'<div class="map" id="embedding-map-box"[^>]*>', html, flags=re.S).group(0)
    assert 'data-points-url="/embedding-map/clips/pose-baseline.json"' in box
    assert "mode=id" in box and "/search?" in box and "map.js" in html
