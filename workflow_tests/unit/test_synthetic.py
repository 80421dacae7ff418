"""The synthetic demo dataset: valid holistic .pose files, deterministic bytes, rows_for == generate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pose_format import Pose

from signsearch.datasets import synthetic

ARGS = {"glosses": 4, "signers": 4, "takes": 2, "seed": 3}


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("synthetic")
    return out, synthetic.generate(out, **ARGS)


def _read(path) -> Pose:
    return Pose.read(Path(path).read_bytes())


def test_rows_for_matches_generate(generated):
    out, rows = generated
    listed = synthetic.rows_for(ARGS["glosses"], ARGS["signers"], ARGS["takes"], ARGS["seed"])
    assert [{**r, "pose_path": str(out / r["pose_path"])} for r in listed] == rows
    assert len(rows) == 4 * 4 * 2
    assert len({r["video_id"] for r in rows}) == len(rows)


def test_rows_are_clearly_synthetic_and_split_by_signer(generated):
    _, rows = generated
    for r in rows:
        assert r["video_id"].startswith("synthetic-g") and r["gloss"].startswith("SYN-") and r["signer"].startswith("synthetic-")
    split_of = {}
    for r in rows:
        assert split_of.setdefault(r["signer"], r["split"]) == r["split"]
    assert sorted(set(split_of.values())) == ["test", "train"]
    assert split_of["synthetic-signer-03"] == "test"


def test_files_are_standard_holistic_poses(generated):
    _, rows = generated
    for r in rows:
        pose = _read(r["pose_path"])
        assert [(c.name, len(c.points)) for c in pose.header.components] == [
            ("POSE_LANDMARKS", 33), ("FACE_LANDMARKS", 468), ("LEFT_HAND_LANDMARKS", 21),
            ("RIGHT_HAND_LANDMARKS", 21), ("POSE_WORLD_LANDMARKS", 33),
        ]  # fmt: skip
        assert pose.body.data.shape == (r["frames"], 1, 576, 3)
        assert pose.body.fps == 30
        assert (pose.header.dimensions.width, pose.header.dimensions.height) == (640, 480)
        assert np.isfinite(np.ma.getdata(pose.body.data)).all()
    # Hands are missing at rest (below the frame) and visible while signing.
    pose = _read(rows[0]["pose_path"])
    hands = pose.body.confidence[:, 0, 501:543]
    assert (hands == 0).any() and (hands > 0).any()


def test_deterministic_bytes(generated, tmp_path):
    out, rows = generated
    again = synthetic.generate(tmp_path, **ARGS)
    for a, b in zip(rows, again):
        assert Path(a["pose_path"]).read_bytes() == Path(b["pose_path"]).read_bytes()
    # one file alone (as a workflow shard writes it) is identical too, and independent of the dataset's size
    row = synthetic.rows_for(ARGS["glosses"] + 2, ARGS["signers"], ARGS["takes"], ARGS["seed"])[0]
    synthetic.generate_one(row, tmp_path / "one.pose")
    assert (tmp_path / "one.pose").read_bytes() == Path(rows[0]["pose_path"]).read_bytes()


def test_other_seed_differs(generated, tmp_path):
    _, rows = generated
    other = synthetic.generate(tmp_path, glosses=1, signers=1, takes=1, seed=ARGS["seed"] + 1)
    assert Path(other[0]["pose_path"]).read_bytes() != Path(rows[0]["pose_path"]).read_bytes()


def test_baseline_retrieves_sensibly(generated):
    from signsearch.embed.baseline import PoseBaselineEmbedder

    _, rows = generated
    x = PoseBaselineEmbedder().embed_poses([_read(r["pose_path"]) for r in rows])
    gloss = np.array([r["gloss"] for r in rows])
    signer = np.array([r["signer"] for r in rows])
    sim = x @ x.T
    sim[signer[:, None] == signer[None, :]] = -np.inf  # cross-signer only
    p1 = float((gloss[sim.argmax(1)] == gloss).mean())
    assert p1 > 2.0 / ARGS["glosses"], p1
