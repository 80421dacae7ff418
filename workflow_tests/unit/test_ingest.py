"""Dataset ingestion and stable sharding: every problem is reported with file, line and reason."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from signsearch.datasets import ingest, video_registry
from signsearch.layout import Layout


def _touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x00")


def test_folder_without_table_derives_ids_from_relative_paths(tmp_path: Path) -> None:
    _touch(tmp_path, "a/HOUSE.mp4", "b/HOUSE.mov", "notes.txt")
    table = ingest.read("d", {"kind": "folder", "path": str(tmp_path)})
    assert list(table["video_id"]) == ["a/HOUSE", "b/HOUSE"]
    assert table["source"].eq("video").all()


def test_metadata_table_only_path_required(tmp_path: Path) -> None:
    _touch(tmp_path, "v/1.mp4", "v/2.mp4")
    (tmp_path / "meta.csv").write_text("path,gloss\nv/1.mp4,HOUSE\nv/2.mp4,SOUP\n")
    table = ingest.read("d", {"kind": "folder", "path": str(tmp_path), "metadata": "meta.csv"})
    assert list(table["video_id"]) == ["v/1", "v/2"]
    assert list(table["gloss"]) == ["HOUSE", "SOUP"]
    assert table["signer"].isna().all()


def test_tsv_with_all_columns_and_odd_ids(tmp_path: Path) -> None:
    _touch(tmp_path, "1.mp4")
    odd = "it's \"x\"; DROP TABLE video; --"
    (tmp_path / "meta.tsv").write_text(f"video_id\tpath\tgloss\tsigner\tsplit\n{odd}\t1.mp4\tHOUSE\tp1\ttest\n")
    table = ingest.read("d", {"kind": "folder", "path": str(tmp_path), "metadata": "meta.tsv"})
    assert table.loc[0, "video_id"] == odd and table.loc[0, "split"] == "test"


def test_duplicate_ids_name_file_and_lines(tmp_path: Path) -> None:
    _touch(tmp_path, "1.mp4", "2.mp4")
    (tmp_path / "meta.csv").write_text("video_id,path\nx,1.mp4\nx,2.mp4\n")
    with pytest.raises(ingest.DatasetError) as err:
        ingest.read("d", {"kind": "folder", "path": str(tmp_path), "metadata": "meta.csv"})
    assert f"{tmp_path / 'meta.csv'}:3: duplicate video_id 'x' (first at line 2)" in str(err.value)


def test_missing_files_are_listed_with_their_lines(tmp_path: Path) -> None:
    _touch(tmp_path, "1.mp4")
    (tmp_path / "meta.csv").write_text("path\n1.mp4\ngone.mp4\nalso-gone.mp4\n")
    with pytest.raises(ingest.DatasetError) as err:
        ingest.read("d", {"kind": "folder", "path": str(tmp_path), "metadata": "meta.csv"})
    message = str(err.value)
    assert "2 problem(s)" in message
    assert f"meta.csv:3: file not found: {tmp_path / 'gone.mp4'}" in message
    assert "meta.csv:4: file not found" in message


def test_unreadable_table(tmp_path: Path) -> None:
    (tmp_path / "meta.csv").write_bytes(b"\xff\xfe\x00garbage\x00\x81")
    with pytest.raises(ingest.DatasetError, match=r"meta\.csv: unreadable table"):
        ingest.read("d", {"kind": "folder", "path": str(tmp_path), "metadata": "meta.csv"})


def test_table_without_path_column(tmp_path: Path) -> None:
    (tmp_path / "meta.csv").write_text("file,gloss\n1.mp4,HOUSE\n")
    with pytest.raises(ingest.DatasetError, match=r"meta\.csv:1: no `path` column \(found: file, gloss\)"):
        ingest.read("d", {"kind": "folder", "path": str(tmp_path), "metadata": "meta.csv"})


def test_missing_metadata_table_and_root(tmp_path: Path) -> None:
    with pytest.raises(ingest.DatasetError, match="metadata table not found"):
        ingest.read("d", {"kind": "folder", "path": str(tmp_path), "metadata": "nope.csv"})
    with pytest.raises(ingest.DatasetError, match="dataset folder not found"):
        ingest.read("d", {"kind": "folder", "path": str(tmp_path / "nope")})


def test_unknown_kind() -> None:
    with pytest.raises(ingest.DatasetError, match="unknown dataset kind 'youtube'"):
        ingest.read("d", {"kind": "youtube"})


def _asl_citizen(root: Path) -> None:
    (root / "splits").mkdir(parents=True)
    header = "Participant ID,Video file,Gloss,ASL-LEX Code\n"
    (root / "splits" / "train.csv").write_text(header + "P1,1-HOUSE.mp4,HOUSE,A_01\nP2,2-SOUP.mp4,SOUP,B_02\n")
    (root / "splits" / "val.csv").write_text(header + "P3,3-HOUSE.mp4,HOUSE,A_01\n")
    (root / "splits" / "test.csv").write_text(header + "P4,4-SOUP.mp4,SOUP,B_02\n")
    _touch(root / "videos", "1-HOUSE.mp4", "2-SOUP.mp4", "3-HOUSE.mp4", "4-SOUP.mp4")


def test_asl_citizen_root(tmp_path: Path) -> None:
    _asl_citizen(tmp_path)
    table = ingest.read("asl", {"kind": "asl_citizen", "path": str(tmp_path)})
    assert list(table["video_id"]) == ["1-HOUSE", "2-SOUP", "3-HOUSE", "4-SOUP"]
    assert list(table["split"]) == ["train", "train", "val", "test"]
    assert list(table["signer"]) == ["P1", "P2", "P3", "P4"]


def test_asl_citizen_problems(tmp_path: Path) -> None:
    _asl_citizen(tmp_path)
    (tmp_path / "videos" / "4-SOUP.mp4").unlink()
    (tmp_path / "splits" / "val.csv").write_text("Participant ID,Video file,Gloss\nP1,1-HOUSE.mp4,HOUSE\n")
    with pytest.raises(ingest.DatasetError) as err:
        ingest.read("asl", {"kind": "asl_citizen", "path": str(tmp_path)})
    message = str(err.value)
    assert "val.csv:2: duplicate video '1-HOUSE.mp4'" in message
    assert "test.csv:2: file not found" in message


def test_shards_are_stable_when_videos_are_added_and_removed(tmp_path: Path) -> None:
    videos = tmp_path / "videos"
    _touch(videos, *[f"v{i:02d}.mp4" for i in range(10)])
    cfg = {"kind": "folder", "path": str(videos)}
    results = Layout(tmp_path / "results")
    first = video_registry.sync("d", cfg, results, shard_size=4)
    assert sorted(first["shard"].unique()) == ["s00000", "s00001", "s00002"]
    before = dict(zip(first["video_id"], first["shard"]))
    shard_file = results.shard_table("d", "s00000")
    mtime = shard_file.stat().st_mtime_ns

    _touch(videos, "a-new.mp4", "v99.mp4")
    (videos / "v05.mp4").unlink()
    second = video_registry.sync("d", cfg, results, shard_size=4)
    after = dict(zip(second["video_id"], second["shard"]))
    assert all(after[v] == s for v, s in before.items() if v != "v05")
    assert after["a-new"] == after["v99"] == "s00003"
    assert "v05" not in after
    # untouched shards keep their files byte for byte and mtime, so Snakemake reruns nothing for them
    assert shard_file.stat().st_mtime_ns == mtime
    assert "v05" not in results.shard_table("d", "s00001").read_text()


def test_registry_rewrite_only_on_change(tmp_path: Path) -> None:
    _touch(tmp_path / "v", "1.mp4")
    cfg = {"kind": "folder", "path": str(tmp_path / "v")}
    layout = Layout(tmp_path / "r")
    video_registry.sync("d", cfg, layout, shard_size=4)
    path = layout.registry("d")
    mtime = path.stat().st_mtime_ns
    video_registry.sync("d", cfg, layout, shard_size=4)
    assert path.stat().st_mtime_ns == mtime
    assert pd.read_parquet(path).loc[0, "pose_path"].endswith("poses/s00000/1.pose")
