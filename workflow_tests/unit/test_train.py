"""Trainable pose encoder (issue 11): determinism, safe checkpoints, sampler, augmentation, losses, embedder."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from pose_format import Pose

from signsearch.datasets import synthetic
from signsearch.embed.base import Embedder
from signsearch.errors import UserError
from signsearch.train import checkpoint
from signsearch.train.api import Record, hold_out_signers, train_model
from signsearch.train.augment import Augmentation
from signsearch.train.embedder import TrainedEmbedder
from signsearch.train.features import FEATURES, Clip, clip_from_pose, frame_features
from signsearch.train.loop import TrainConfig
from signsearch.train.losses import LOSSES, metric_loss
from signsearch.train.sampler import GlossSignerSampler

TINY = TrainConfig(
    frames=8, width=16, depth=1, heads=2, ff_mult=2, dim=16, glosses_per_batch=3, clips_per_gloss=2,
    epochs=3, warmup_epochs=1, patience=5, threads=1,
)  # fmt: skip


@pytest.fixture(scope="module")
def poses() -> dict[tuple[int, int, int], Pose]:
    return {(g, s, t): synthetic.build_pose(0, g, s, t) for g in range(4) for s in range(5) for t in range(2)}


@pytest.fixture(scope="module")
def records(poses) -> tuple[list[Record], list[Record]]:
    """Signers 0-2 train, signers 3-4 validate."""
    recs = [Record(p, f"g{g}", f"s{s}", "synthetic", "train") for (g, s, t), p in poses.items()]
    return [r for r in recs if r.signer < "s3"], [r for r in recs if r.signer >= "s3"]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_fixed_seed_gives_identical_checkpoint(records, tmp_path):
    train, val = records
    a = train_model(train, tmp_path / "a", TINY, validation=val, progress=False)
    b = train_model(train, tmp_path / "b", TINY, validation=val, progress=False)
    c = train_model(train, tmp_path / "c", replace(TINY, seed=1), validation=val, progress=False)
    assert _sha(a.checkpoint) == _sha(b.checkpoint)
    assert _sha(a.checkpoint) != _sha(c.checkpoint)
    assert not torch.are_deterministic_algorithms_enabled()  # the caller's global state is restored
    for name in ("training.tsv", "curve.png", "model_card.md"):
        assert (tmp_path / "a" / name).stat().st_size > 0
    card = (tmp_path / "a" / "model_card.md").read_text()
    assert "s3" in card and "seed: 0" in card and "map_at_10" in card and _sha(a.checkpoint) in card
    assert len((tmp_path / "a" / "training.tsv").read_text().splitlines()) == 1 + len(a.outcome.history)


def test_config_round_trips_through_a_dict():
    cfg = replace(TINY, loss="triplet", augmentation=Augmentation(rotation_deg=5.0))
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_validation_signers_must_be_held_out(records, tmp_path):
    train, val = records
    with pytest.raises(UserError, match="validation signers also in training"):
        train_model(train, tmp_path, TINY, validation=val + train[:1], progress=False)
    with pytest.raises(UserError, match=">= 2 of its signers"):
        train_model(train, tmp_path, TINY, validation=[r for r in val if r.signer == "s3"], progress=False)
    kept, held = hold_out_signers(train + val, fraction=0.4, seed=0)
    assert {r.signer for r in kept}.isdisjoint({r.signer for r in held}) and len({r.signer for r in held}) == 2


class _Payload:
    """Any class at all: a weights-only load must refuse to rebuild it."""

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))

    def __init__(self, marker: Path):
        self.marker = str(marker)


def test_checkpoint_with_pickled_object_is_refused(records, tmp_path):
    train, _ = records
    good = train_model(train, tmp_path / "m", replace(TINY, epochs=1), progress=False).checkpoint
    payload = torch.load(good, weights_only=True)
    marker = tmp_path / "code-ran"
    evil = tmp_path / "evil.pt"
    torch.save({**payload, "extra": _Payload(marker)}, evil)
    with pytest.raises(UserError, match="no pickled objects"):
        checkpoint.load(evil)
    with pytest.raises(UserError):
        TrainedEmbedder("evil", evil)
    assert not marker.exists()
    foreign = tmp_path / "foreign.pt"
    torch.save({"state": payload["state"]}, foreign)
    with pytest.raises(UserError, match="not a"):
        checkpoint.load(foreign)


def test_embedder_round_trip(records, poses, tmp_path):
    train, val = records
    path = train_model(train, tmp_path / "m", TINY, validation=val, progress=False).checkpoint
    pose_file = tmp_path / "clip.pose"
    with open(pose_file, "wb") as handle:
        poses[(1, 3, 0)].write(handle)
    embedder = TrainedEmbedder("tiny", path, device="cpu")
    assert isinstance(embedder, Embedder)
    assert embedder.dim == TINY.dim and embedder.fingerprint.startswith("trained-pose-encoder/1:")
    read_back = Pose.read(pose_file.read_bytes())
    x = embedder.embed_poses([read_back, poses[(0, 0, 0)], poses[(2, 1, 1)]])
    assert x.shape == (3, TINY.dim) and x.dtype == np.float32
    assert np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(x[1:2], embedder.embed_poses([poses[(0, 0, 0)]]))  # independent of the batch
    assert embedder.embed_poses([]).shape == (0, TINY.dim)


def test_sampler_draws_p_glosses_by_k_clips_across_signers():
    glosses = [f"g{g}" for g in range(5) for s in range(4) for t in range(3)]
    signers = [f"s{s}" for g in range(5) for s in range(4) for t in range(3)]
    sampler = GlossSignerSampler(glosses, signers, p=3, k=4, batches=20, seed=7)
    batches = list(sampler)
    assert len(batches) == 20
    for batch in batches:
        per_gloss = Counter(glosses[i] for i in batch)
        assert len(batch) == 12 and len(per_gloss) == 3 and set(per_gloss.values()) == {4}
        for g in per_gloss:
            assert len({signers[i] for i in batch if glosses[i] == g}) == 4  # 4 signers, K = 4: one clip each
    assert batches == list(GlossSignerSampler(glosses, signers, p=3, k=4, batches=20, seed=7))
    assert batches != list(GlossSignerSampler(glosses, signers, p=3, k=4, batches=20, seed=8))


def test_sampler_skips_single_signer_glosses():
    glosses = ["a"] * 4 + ["b"] * 4 + ["solo"] * 4
    signers = ["x", "x", "y", "y"] * 2 + ["x"] * 4
    drawn = {glosses[i] for batch in GlossSignerSampler(glosses, signers, 2, 2, 10, 0) for i in batch}
    assert drawn == {"a", "b"}


def test_augmentation_keeps_shapes_and_finite_features(poses):
    clip = clip_from_pose(poses[(0, 1, 0)])
    aug = Augmentation()
    rng = np.random.default_rng(0)
    outs = [aug(clip, rng) for _ in range(20)]
    for out in outs:
        assert out.hands.shape[0] == 2 and out.hands.shape[2:] == (21, 3) and out.body.shape[1:] == (7, 2)
        assert 2 <= out.frames <= clip.frames
        f = frame_features(out, 16)
        assert f.shape == (16, FEATURES) and f.dtype == np.float32 and np.isfinite(f).all()
    assert not np.array_equal(frame_features(outs[0], 16), frame_features(outs[1], 16))
    again = aug(clip, np.random.default_rng(0))
    assert np.array_equal(np.nan_to_num(again.hands), np.nan_to_num(outs[0].hands))
    no_hands = Clip(np.full_like(clip.hands, np.nan), clip.body)
    assert np.isfinite(frame_features(no_hands, 8)).all()


@pytest.mark.parametrize("kind", LOSSES)
def test_losses_prefer_separated_embeddings(kind):
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    signers = torch.tensor([0, 1, 0, 1, 0, 1])
    separated = torch.nn.functional.normalize(torch.eye(3)[labels] + 0.01 * torch.randn(6, 3), dim=1)
    mixed = torch.nn.functional.normalize(torch.eye(3)[torch.tensor([0, 1, 2, 0, 1, 2])], dim=1)
    good = metric_loss(separated, labels, signers, kind)
    bad = metric_loss(mixed, labels, signers, kind)
    assert torch.isfinite(good) and torch.isfinite(bad) and good < bad


def test_trained_model_generalises_to_unseen_signers(realsigns, tmp_path):
    """Real data, minutes at most: a small model on the conftest's train signers, scored on its test signers."""
    from signsearch.train.validation import cross_signer_scores

    folder, table = realsigns
    recs = [Record(folder / r.path, r.gloss, r.signer, "realsigns", r.split) for r in table.itertuples()]
    train, val = hold_out_signers([r for r in recs if r.split == "train"], fraction=0.2, seed=0)
    test = [r for r in recs if r.split == "test"]
    cfg = replace(TrainConfig(), width=48, dim=64, epochs=12, patience=4, threads=1)
    result = train_model(train, tmp_path / "m", cfg, validation=val, progress=False)
    embedder = TrainedEmbedder("small", result.checkpoint, device="cpu")
    vectors = embedder.embed_poses([Pose.read(Path(r.source).read_bytes()) for r in test])
    scores = cross_signer_scores(vectors, [r.gloss for r in test], [r.signer for r in test])
    assert scores["p_at_1"] > 0.4 and scores["map_at_10"] > 0.3  # chance P@1 is about 0.14
