"""Metadata tables: unknown columns are named in a warning (sample_id is an id), and symlink loops are one
file:line problem each, never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from signsearch import cli
from signsearch.datasets import ingest


def _folder(root: Path, table: str) -> dict:
    (root / "v").mkdir()
    for name in ("a.mp4", "b.mp4"):
        (root / "v" / name).write_bytes(b"\x00")
    (root / "meta.csv").write_text(table)
    return {"kind": "folder", "path": str(root), "metadata": "meta.csv"}


def test_sample_id_is_the_id_and_unknown_columns_are_named(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cfg = _folder(tmp_path, "sample_id,path,gloss,handshape,Notes\nS-1,v/a.mp4,HOUSE,B,x\nS-2,v/b.mp4,SOUP,5,y\n")
    table = ingest.read("d", cfg)
    assert list(table["video_id"]) == ["S-1", "S-2"]
    err = capsys.readouterr().err
    assert "ignoring column(s) handshape, Notes" in err and str(tmp_path / "meta.csv") in err
    assert "accepted columns are video_id, path, gloss, signer, split" in err and "sample_id" in err


def test_sample_id_beside_video_id_is_ignored_with_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cfg = _folder(tmp_path, "video_id,sample_id,path\nV-1,S-1,v/a.mp4\nV-2,S-2,v/b.mp4\n")
    assert list(ingest.read("d", cfg)["video_id"]) == ["V-1", "V-2"]
    assert "ignoring column(s) sample_id;" in capsys.readouterr().err


def test_known_columns_only_warn_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ingest.read("d", _folder(tmp_path, "video_id,path,gloss,signer,split\nA,v/a.mp4,G,s,test\nB,v/b.mp4,G,s,test\n"))
    assert capsys.readouterr().err == ""


def test_metadata_row_on_a_symlink_loop_is_a_line_problem(tmp_path: Path) -> None:
    cfg = _folder(tmp_path, "path,gloss\nv/a.mp4,HOUSE\nv/loop.mp4,SOUP\n")
    os.symlink("loop.mp4", tmp_path / "v" / "loop.mp4")
    with pytest.raises(ingest.DatasetError) as err:
        ingest.read("d", cfg)
    assert [str(p) for p in err.value.problems] == [
        f"{tmp_path / 'meta.csv'}:3: symlink loop: {tmp_path / 'v' / 'loop.mp4'} (fix the link or delete the row)"]


def test_symlink_loop_in_a_folder_without_metadata_is_reported(tmp_path: Path) -> None:
    (tmp_path / "HOUSE.mp4").write_bytes(b"\x00")
    os.symlink("b.mov", tmp_path / "a.mov")
    os.symlink("a.mov", tmp_path / "b.mov")
    with pytest.raises(ingest.DatasetError) as err:
        ingest.read("d", {"kind": "folder", "path": str(tmp_path)})
    assert [p.file for p in err.value.problems] == [str(tmp_path / "a.mov"), str(tmp_path / "b.mov")]
    assert all("symlink loop" in p.reason and "fix or delete the link" in p.reason for p in err.value.problems)


def test_validate_reports_the_loop_without_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    data = tmp_path / "data"
    data.mkdir()
    cfg = _folder(data, "path\nv/a.mp4\nv/loop.mp4\n")
    os.symlink("loop.mp4", data / "v" / "loop.mp4")
    config = tmp_path / "config.yaml"
    models = {"pose-baseline": {"kind": "pose-baseline"}}
    config.write_text(yaml.safe_dump({"datasets": {"mine": cfg}, "models": models}))
    assert cli.main(["--config", str(config), "validate"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "RuntimeError" not in err
    assert f"{data / 'meta.csv'}:3: symlink loop: {data / 'v' / 'loop.mp4'}" in err
