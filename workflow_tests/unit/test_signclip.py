"""SignCLIP inference against the original MMPT code's test vectors (testdata/signclip, tiny random checkpoint).

Tolerances are the testdata README's: features, embeddings and intermediates atol 1e-5, scores 1e-4, word
pieces / caps / cmasks exact.
"""

from __future__ import annotations

import importlib
import json
import logging
import shutil
import sys
from pathlib import Path

import numpy as np
import numpy.ma as ma
import pytest
import torch
from pose_format import Pose
from pose_format.numpy import NumPyPoseBody

from signsearch.embed.base import TextEmbedder
from signsearch.embed.factory import load_embedder
from signsearch.embed.signclip import LongInputError, SignCLIPEmbedder
from signsearch.embed.signclip.checkpoint import CheckpointError, load_weights, map_state_dict, read_state_dict
from signsearch.embed.signclip.embedder import windows
from signsearch.embed.signclip.features import point_indices, pose_features
from signsearch.embed.signclip.text import caption, text_batch
from signsearch.embed.spec import ModelFilesMissing, model_spec
from signsearch.errors import UserError

ATOL, SCORE_ATOL = 1e-5, 1e-4
POSES = ["house", "hand_estimation_84322c38"]
SYNTHETIC = ["synthetic_T1", "synthetic_T37", "synthetic_T256", "synthetic_T300"]


@pytest.fixture(scope="module")
def sc(testdata: Path) -> Path:
    return testdata / "signclip"


def _cfg(sc: Path, **extra) -> dict:
    return {"kind": "signclip", "checkpoint": str(sc / "checkpoint/checkpoint_best.pt"),
            "tokenizer": str(sc / "bert-tiny-cased"), "prompt": "{text}", "batch_size": 1, **extra}  # fmt: skip


@pytest.fixture(scope="module")
def embedder(sc: Path) -> SignCLIPEmbedder:
    return SignCLIPEmbedder(model_spec("tiny", _cfg(sc)))


@pytest.fixture(scope="module")
def inputs(sc: Path) -> dict[str, Pose | np.ndarray]:
    found: dict[str, Pose | np.ndarray] = {n: Pose.read((sc / f"inputs/{n}.pose").read_bytes()) for n in POSES}
    found.update({n: np.load(sc / f"inputs/{n}.npy") for n in SYNTHETIC})
    return found


@pytest.fixture(scope="module")
def expected_video(sc: Path) -> dict[str, np.ndarray]:
    return dict(np.load(sc / "expected/video_embeddings.npz"))


@pytest.fixture(scope="module")
def prompts(sc: Path) -> list[dict]:
    return json.loads((sc / "expected/text_prompts.json").read_text())


def _features(item: Pose | np.ndarray) -> np.ndarray:
    return pose_features(item) if isinstance(item, Pose) else item


def test_manifest_order_is_what_we_test(sc: Path):
    manifest = json.loads((sc / "manifest.json").read_text())
    assert [v["name"] for v in manifest["video_inputs"]] == POSES + SYNTHETIC


@pytest.mark.parametrize("name", POSES)
def test_pose_features(sc, inputs, name):
    got = pose_features(inputs[name])
    expected = np.load(sc / f"expected/features_{name}.npy")
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=ATOL)


def test_video_embeddings_batch_size_1(embedder, inputs, expected_video):
    assert embedder.dim == 32
    for name in POSES:
        np.testing.assert_allclose(embedder.embed_poses([inputs[name]])[0], expected_video[name], rtol=0, atol=ATOL)
    for name in SYNTHETIC:  # synthetic_T300: its first 256 frames (long_inputs: truncate)
        np.testing.assert_allclose(embedder.embed_features([inputs[name]])[0], expected_video[name], rtol=0, atol=ATOL)


@pytest.mark.parametrize("batch_size", [2, 4, 32])
def test_mixed_length_batches_match_batch_size_1(sc, inputs, expected_video, batch_size):
    model = SignCLIPEmbedder(model_spec("tiny", _cfg(sc, batch_size=batch_size)))
    names = POSES + SYNTHETIC + ["synthetic_T1", "house"]  # repeats land in other batches, with other partners
    got = model.embed_features([_features(inputs[n]) for n in names])
    assert got.dtype == np.float32 and got.shape == (len(names), 32)
    for row, name in zip(got, names):
        np.testing.assert_allclose(row, expected_video[name], rtol=0, atol=ATOL)
    poses = model.embed_poses([inputs["hand_estimation_84322c38"], inputs["house"]])
    np.testing.assert_allclose(poses, np.stack([expected_video[n] for n in reversed(POSES)]), rtol=0, atol=ATOL)


def test_text_pieces_caps_cmasks_exact(sc, embedder, prompts):
    expected = np.load(sc / "expected/text_embeddings.npz")
    for entry in prompts:
        cap = caption(embedder.tokenizer, entry["prompt"])
        assert cap.pieces == entry["wordpieces"]
        assert int(cap.cmask.sum()) - 3 == entry["num_wordpieces_used"]
        np.testing.assert_array_equal(cap.caps, expected["caps"][entry["index"]])
        np.testing.assert_array_equal(cap.cmask, expected["cmasks"][entry["index"]])


@pytest.mark.parametrize("batch_size", [1, 5])
def test_text_embeddings(sc, prompts, batch_size):
    model = SignCLIPEmbedder(model_spec("tiny", _cfg(sc, batch_size=batch_size)))
    expected = np.load(sc / "expected/text_embeddings.npz")["embeddings"]
    got = model.embed_texts([entry["prompt"] for entry in prompts])
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=ATOL)


def test_prompt_format_is_applied(sc, prompts):
    model = SignCLIPEmbedder(model_spec("tiny", _cfg(sc, prompt="<en> <ase> {text}")))
    expected = np.load(sc / "expected/text_embeddings.npz")["embeddings"]
    assert prompts[0]["prompt"] == "<en> <ase> house"
    np.testing.assert_allclose(model.embed_texts(["house"])[0], expected[0], rtol=0, atol=ATOL)


def test_scores(sc, embedder, inputs, prompts):
    videos = embedder.embed_features([_features(inputs[n]) for n in POSES + SYNTHETIC])
    texts = embedder.embed_texts([entry["prompt"] for entry in prompts])
    np.testing.assert_allclose(videos @ texts.T, np.load(sc / "expected/scores.npy"), rtol=0, atol=SCORE_ATOL)


def test_debug_intermediates(sc, embedder, inputs, prompts):
    debug = np.load(sc / "expected/debug_intermediates.npz")
    model = embedder.model
    assert str(debug["video_input"]) == "synthetic_T37"
    frames = torch.from_numpy(inputs["synthetic_T37"])[None]
    lengths = torch.tensor([37])
    with torch.inference_mode():
        np.testing.assert_allclose(model.videomlp(frames)[0].numpy(), debug["video_mlp_out"], rtol=0, atol=ATOL)
        video = model.video_inputs(frames, lengths)
        np.testing.assert_array_equal(video.position_ids[0].numpy(), debug["video_position_ids"])
        embedded = model.video_bert.embeddings(inputs_embeds=video.inputs_embeds, position_ids=video.position_ids,
                                               token_type_ids=torch.zeros_like(video.position_ids))  # fmt: skip
        np.testing.assert_allclose(embedded[0].numpy(), debug["video_embedding_out"], rtol=0, atol=ATOL)
        hidden, _ = model.video_hidden(frames, lengths)
        np.testing.assert_allclose(hidden[0].numpy(), debug["video_last_hidden"], rtol=0, atol=ATOL)

        prompt = prompts[int(debug["text_prompt_index"])]["prompt"]
        ids, mask = text_batch([caption(embedder.tokenizer, prompt)])
        np.testing.assert_array_equal(ids[0].numpy(), debug["text_input_ids"])
        embedded = model.text_bert.embeddings(input_ids=ids, token_type_ids=torch.zeros_like(ids))
        np.testing.assert_allclose(embedded[0].numpy(), debug["text_embedding_out"], rtol=0, atol=ATOL)
        hidden, _ = model.text_hidden(ids, mask)
        np.testing.assert_allclose(hidden[0].numpy(), debug["text_last_hidden"], rtol=0, atol=ATOL)


def test_factory_builds_a_text_embedder(sc):
    model = load_embedder(model_spec("tiny", _cfg(sc)))
    assert isinstance(model, SignCLIPEmbedder) and isinstance(model, TextEmbedder)


def test_fingerprint_is_checkpoint_hash_and_policy(sc, embedder):
    assert embedder.fingerprint.startswith("signclip:") and embedder.fingerprint.endswith(":truncate")
    other = SignCLIPEmbedder(model_spec("tiny", _cfg(sc, long_inputs="window")))
    assert other.fingerprint.split(":")[1] == embedder.fingerprint.split(":")[1]
    assert other.fingerprint != embedder.fingerprint


# --- long inputs ---------------------------------------------------------------------------------------


def test_window_spans():
    assert windows(256, 256, "error") == [(0, 256)]
    assert windows(300, 256, "truncate") == [(0, 256)]
    assert windows(300, 256, "window") == [(0, 256), (44, 300)]
    assert windows(384, 256, "window") == [(0, 256), (128, 384)]
    assert windows(600, 256, "window") == [(0, 256), (128, 384), (256, 512), (344, 600)]


def test_truncate_is_logged(embedder, inputs, caplog):
    with caplog.at_level(logging.WARNING, logger="signsearch.embed.signclip"):
        embedder.embed_features([inputs["synthetic_T37"], inputs["synthetic_T300"]])
    assert "1 of 2 inputs exceed 256 frames" in caplog.text and "first 256" in caplog.text


def test_window_policy_is_the_mean_of_windows(sc, embedder, inputs, caplog):
    long = inputs["synthetic_T300"]
    model = SignCLIPEmbedder(model_spec("tiny", _cfg(sc, long_inputs="window", batch_size=3)))
    with caplog.at_level(logging.WARNING, logger="signsearch.embed.signclip"):
        got = model.embed_features([inputs["synthetic_T37"], long])
    assert "sliding windows" in caplog.text
    parts = embedder.embed_features([long[:256], long[44:]])
    np.testing.assert_allclose(got[1], parts.mean(0), rtol=0, atol=ATOL)
    np.testing.assert_allclose(got[0], embedder.embed_features([inputs["synthetic_T37"]])[0], rtol=0, atol=ATOL)


def test_error_policy_names_the_frame_count(sc, inputs):
    model = SignCLIPEmbedder(model_spec("tiny", _cfg(sc, long_inputs="error")))
    with pytest.raises(LongInputError, match="300 frames") as error:
        model.embed_features([inputs["synthetic_T37"], inputs["synthetic_T300"]])
    assert isinstance(error.value, UserError)
    assert model.embed_features([inputs["synthetic_T256"]]).shape == (1, 32)


# --- checkpoint loading --------------------------------------------------------------------------------


def test_foreign_classes_in_the_pickle_are_not_needed_nor_run(sc, tmp_path, expected_video, inputs):
    checkpoint = torch.load(sc / "checkpoint/checkpoint_best.pt", map_location="cpu", weights_only=False)
    module_dir = tmp_path / "modules"
    module_dir.mkdir()
    (module_dir / "throwaway_fairseq_meters.py").write_text(
        "import os\n"
        "class AverageMeter:\n"
        "    def __init__(self): self.sum, self.count = 3.0, 2\n"
        "class Trap:\n"
        "    def __init__(self, path): self.path = path\n"
        "    def __reduce__(self): return (os.makedirs, (self.path,))\n"
    )
    sys.path.insert(0, str(module_dir))
    try:
        meters = importlib.import_module("throwaway_fairseq_meters")
        trap = tmp_path / "executed"
        checkpoint["extra_state"]["meters"] = {"train_loss": meters.AverageMeter()}
        checkpoint["extra_state"]["trap"] = meters.Trap(str(trap))  # unpickling it would call os.makedirs
        torch.save(checkpoint, tmp_path / "checkpoint_best.pt")
    finally:
        sys.path.remove(str(module_dir))
        sys.modules.pop("throwaway_fairseq_meters", None)
        shutil.rmtree(module_dir)
    with pytest.raises(ModuleNotFoundError):
        torch.load(tmp_path / "checkpoint_best.pt", map_location="cpu", weights_only=False)

    model = SignCLIPEmbedder(model_spec("foreign", _cfg(sc, checkpoint=str(tmp_path / "checkpoint_best.pt"))))
    assert not trap.exists()
    np.testing.assert_allclose(model.embed_features([inputs["synthetic_T37"]])[0], expected_video["synthetic_T37"],
                               rtol=0, atol=ATOL)  # fmt: skip


def test_checkpoint_keys_map_strictly(sc, embedder):
    state = read_state_dict(sc / "checkpoint/checkpoint_best.pt")
    mapped = map_state_dict(state)
    assert not [k for k in mapped if "pooler" in k or k.endswith("position_ids")]
    assert set(mapped) == set(embedder.model.state_dict())

    with pytest.raises(CheckpointError, match="video_projection"):
        map_state_dict({**state, "mmmodel.video_projection.linear.weight": torch.zeros(32, 32)})
    incomplete = dict(mapped)
    del incomplete["videomlp.LayerNorm.weight"]
    with pytest.raises(CheckpointError, match="missing: videomlp.LayerNorm.weight"):
        load_weights(embedder.model, incomplete)


def test_video_depth_comes_from_the_checkpoint(sc, tmp_path, embedder):
    checkpoint = torch.load(sc / "checkpoint/checkpoint_best.pt", map_location="cpu", weights_only=False)
    checkpoint["model"] = {k: v for k, v in checkpoint["model"].items() if ".bert.encoder.layer.1." not in k}
    torch.save(checkpoint, tmp_path / "one_video_layer.pt")
    model = SignCLIPEmbedder(model_spec("shallow", _cfg(sc, checkpoint=str(tmp_path / "one_video_layer.pt"))))
    assert len(model.model.video_bert.encoder.layer) == 1 and len(model.model.text_bert.encoder.layer) == 2
    assert model.embed_features([np.ones((5, 609), np.float32)]).shape == (1, 32)


# --- missing files and bad inputs -----------------------------------------------------------------------


def test_missing_files_are_reported_clearly(sc, tmp_path):
    spec = model_spec("absent", _cfg(sc, checkpoint=str(tmp_path / "nowhere/checkpoint_best.pt")))
    assert spec.missing_files() == [f"checkpoint: {tmp_path / 'nowhere/checkpoint_best.pt'}"]
    with pytest.raises(ModelFilesMissing) as error:
        load_embedder(spec)
    assert isinstance(error.value, FileNotFoundError) and isinstance(error.value, UserError)
    assert str(tmp_path / "nowhere/checkpoint_best.pt") in str(error.value) and "checkpoint_best.pt" in str(error.value)

    (tmp_path / "tok").mkdir()
    (tmp_path / "tok/config.json").write_text("{}")
    tokenizer_only = model_spec("t", _cfg(sc, tokenizer=str(tmp_path / "tok")))
    assert tokenizer_only.missing_files() == [f"tokenizer: {tmp_path / 'tok/vocab.txt'}"]
    assert model_spec("t", {"kind": "signclip"}).missing_files() == ["checkpoint: (not set)", "tokenizer: (not set)"]
    assert model_spec("t", _cfg(sc)).missing_files() == []


def test_pose_without_frames_or_shoulders(inputs):
    house = inputs["house"]
    data, conf = ma.getdata(house.body.data), np.asarray(house.body.confidence)
    empty = Pose(house.header, NumPyPoseBody(fps=25, data=data[:0], confidence=conf[:0]))
    with pytest.raises(ValueError, match="no frames"):
        pose_features(empty)

    conf = conf.copy()
    conf[:, :, 11:13] = 0  # shoulders never seen: the original passes raw pixels through
    masked = ma.masked_array(data, mask=np.repeat((conf == 0)[..., None], data.shape[-1], axis=-1))
    got = pose_features(Pose(house.header, NumPyPoseBody(fps=25, data=masked, confidence=conf)))
    expected = data[:, 0][:, point_indices(house.header)[0], :3].copy()
    expected[:, 25:33] = 0
    np.testing.assert_array_equal(got, expected.reshape(len(expected), -1))
