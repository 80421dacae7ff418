"""Parity with the shared segmentation test vectors, and the model file's failure modes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pose_format import Pose

from signsearch.errors import UserError
from signsearch.segment.decode import SENTENCE_THRESHOLDS, SIGN_THRESHOLDS, decode_bio
from signsearch.segment.tagger import SignTagger


@pytest.fixture(scope="module")
def tagger(testdata: Path) -> SignTagger:
    path = testdata.parent / "models" / "sign-segmentation" / "model.pth"
    if not path.is_file():
        pytest.skip(f"segmentation model absent: {path}")
    return SignTagger(path, threads=1)


def _pose_of(testdata: Path, name: str) -> Pose:
    for folder in ("segmentation", "poses"):
        if (testdata / folder / name).is_file():
            return Pose.read((testdata / folder / name).read_bytes())
    raise FileNotFoundError(name)


def test_logprobs_match_every_vector(testdata, tagger):
    vectors = sorted((testdata / "segmentation").glob("*.sign_logprobs.npy"))
    assert len(vectors) >= 4
    for sign_file in vectors:
        name = sign_file.name.removesuffix(".sign_logprobs.npy")
        tags = tagger.tag(_pose_of(testdata, f"{name}.pose"))
        for kind, got in (("sign", tags.sign), ("sentence", tags.sentence)):
            expected = np.load(testdata / "segmentation" / f"{name}.{kind}_logprobs.npy")
            assert got.shape == expected.shape, name
            assert np.abs(got - expected).max() <= 1e-4, f"{name} {kind}"


def test_decoded_segments_match_exactly(testdata, tagger):
    expected = json.loads((testdata / "segmentation" / "expected_segments.json").read_text())
    for name, want in expected.items():
        pose = _pose_of(testdata, name)
        tags = tagger.tag(pose)
        assert len(pose.body.data) == want["frames"]
        got_sign = [{"start": s, "end": e} for s, e in decode_bio(tags.sign, **SIGN_THRESHOLDS)]
        got_sentence = [{"start": s, "end": e} for s, e in decode_bio(tags.sentence, **SENTENCE_THRESHOLDS)]
        assert got_sign == want["sign_segments"], name
        assert got_sentence == want["sentence_segments"], name


def test_missing_model_is_one_line_naming_the_path(tmp_path):
    path = tmp_path / "models" / "sign-segmentation" / "model.pth"
    with pytest.raises(UserError) as err:
        SignTagger(path)
    message = str(err.value)
    assert str(path) in message and "\n" not in message and "not downloaded" in message


def test_unreadable_model_is_one_line(tmp_path):
    path = tmp_path / "model.pth"
    path.write_bytes(b"not a torchscript file")
    with pytest.raises(UserError) as err:
        SignTagger(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
