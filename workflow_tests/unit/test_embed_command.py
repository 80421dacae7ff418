"""Issue 12.12: `signsearch embed` and `signsearch.embed.api.embed_files` embed .pose files and videos with any
configured model, without a database or a workflow run; bad inputs are rows with reasons, never a crash."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from pose_format import Pose

from signsearch import cli
from signsearch.datasets import synthetic
from signsearch.embed.api import embed_files
from signsearch.embed.factory import load_embedder
from signsearch.embed.spec import spec_of
from workflow_utils import demo_config


@pytest.fixture()
def inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """poses/ with two synthetic .pose files (one in a subfolder), a foreign file and an empty one."""
    root = tmp_path / "poses"
    rows = synthetic.rows_for(glosses=2, signers=1, takes=1, seed=3)
    synthetic.generate_one(rows[0], root / "HOUSE.pose")
    synthetic.generate_one(rows[1], root / "sub" / "SOUP.pose")
    (root / "notes.pose").write_text("not a pose\n")
    (root / "empty.mp4").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    return root


def test_embed_files_matches_the_workflows_embedder(inputs: Path) -> None:
    config = demo_config()
    result = embed_files([inputs, "missing.pose"], "pose-baseline", config)
    assert result.ids == ["HOUSE", "sub/SOUP"]
    embedder = load_embedder(spec_of(config, "pose-baseline"))
    expected = embedder.embed_poses([Pose.read((inputs / "HOUSE.pose").read_bytes()),
                                     Pose.read((inputs / "sub" / "SOUP.pose").read_bytes())])
    assert result.vectors.dtype == np.float32 and np.allclose(result.vectors, expected)
    failures = dict(result.failures)
    assert set(failures) == {"missing.pose", str(inputs / "notes.pose"), str(inputs / "empty.mp4")}
    assert failures["missing.pose"] == "file not found"
    assert failures[str(inputs / "notes.pose")].startswith("not a readable .pose file")
    assert failures[str(inputs / "empty.mp4")].startswith("cannot pose this video: unreadable")


def test_cli_writes_npy_per_input_and_failures(inputs: Path, capsys: pytest.CaptureFixture) -> None:
    Path("mine.yaml").write_text(yaml.safe_dump(demo_config()))
    assert cli.main(["embed", str(inputs), "--model", "pose-baseline", "--out", "vectors", "--config", "mine.yaml"]) == 0
    out = capsys.readouterr()
    assert "embedded 2 of 4 inputs with pose-baseline (dim " in out.out
    assert f"not embedded: {inputs / 'notes.pose'}: not a readable .pose file" in out.err
    names = sorted(p.name for p in Path("vectors").iterdir())  # ids made file-safe: 'sub/SOUP' -> sub_SOUP-<hash>
    assert names[:2] == ["HOUSE.npy", "failures.tsv"] and len(names) == 3 and names[2].startswith("sub_SOUP-")
    vector = np.load("vectors/HOUSE.npy")
    assert vector.dtype == np.float32 and vector.ndim == 1
    assert len(Path("vectors/failures.tsv").read_text().splitlines()) == 3  # header + two bad inputs


def test_cli_writes_one_parquet_table(inputs: Path, capsys: pytest.CaptureFixture) -> None:
    Path("mine.yaml").write_text(yaml.safe_dump(demo_config()))
    assert cli.main(["--config", "mine.yaml", "embed", str(inputs / "HOUSE.pose"), str(inputs / "notes.pose"),
                     "--model", "pose-baseline", "--parquet", "out.parquet"]) == 0
    table = pq.read_table("out.parquet").to_pandas()
    assert list(table.columns) == ["id", "path", "status", "reason", "frames", "dim", "vector"]
    assert list(table["status"]) == ["ok", "failed"] and table["reason"].iloc[1].startswith("not a readable")
    assert len(table["vector"].iloc[0]) == table["dim"].iloc[0]


def test_nothing_embeddable_is_one_line(inputs: Path, capsys: pytest.CaptureFixture) -> None:
    Path("mine.yaml").write_text(yaml.safe_dump(demo_config()))
    assert cli.main(["--config", "mine.yaml", "embed", str(inputs / "notes.pose"), "--model", "pose-baseline"]) == 2
    assert "signsearch: no input could be embedded with 'pose-baseline' (1 failed)" in capsys.readouterr().err
    assert cli.main(["--config", "mine.yaml", "embed", str(inputs), "--model", "nope"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err


def test_signclip_embeds_as_the_reference(testdata: Path, tmp_path: Path) -> None:
    sc = testdata / "signclip"
    if not (sc / "checkpoint/checkpoint_best.pt").is_file():
        pytest.skip("SignCLIP test checkpoint absent from the test material")
    config = demo_config()
    config["models"]["signclip-test"] = {"kind": "signclip", "checkpoint": str(sc / "checkpoint/checkpoint_best.pt"),
                                         "tokenizer": str(sc / "bert-tiny-cased")}
    result = embed_files([sc / "inputs/house.pose", sc / "inputs/hand_estimation_84322c38.pose"], "signclip-test", config)
    expected = np.load(sc / "expected/video_embeddings.npz")
    assert result.ids == ["house", "hand_estimation_84322c38"]
    assert np.allclose(result.vectors, np.stack([expected["house"], expected["hand_estimation_84322c38"]]), atol=1e-4)


@pytest.mark.slow
def test_a_real_video_is_posed_then_embedded(testdata: Path, tmp_path: Path) -> None:
    clip = sorted((testdata / "videos/croatian/videos").rglob("*.mp4"))[0]
    result = embed_files([clip], "pose-baseline", demo_config())
    assert result.ids == [clip.stem] and result.failures == []
    assert result.table.column("frames")[0].as_py() > 10
