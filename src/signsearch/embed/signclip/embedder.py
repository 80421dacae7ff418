"""`SignCLIPEmbedder`: a `models:` entry of kind signclip as a `TextEmbedder`.

Long inputs. The model has learned positions for at most `max_video_len` (256) frames. Per model,
`long_inputs` says what happens to a longer pose:

* `truncate` (default): its first 256 frames are embedded, as the SignCLIP demo's `--max_frames` and MMPT's
  training/test loaders do.
* `window`: it is cut into 256-frame windows (`max_video_len`) with stride 128 (half of it), the last window
  aligned to the pose's end; each window is embedded on its own and the embedding is the plain mean of the
  window embeddings. The whole sign is seen, at the cost of a vector the model was never trained to produce.
* `error`: `LongInputError` naming the frame count.

Whenever truncation or windowing is applied, one log line per call says to how many inputs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from pose_format import Pose
from transformers import BertConfig

from signsearch.embed.signclip.checkpoint import (
    file_sha256,
    load_weights,
    map_state_dict,
    read_state_dict,
    video_depth,
)
from signsearch.embed.signclip.features import pose_features
from signsearch.embed.signclip.model import FEATURE_DIM, MAX_VIDEO_LEN, SignCLIPModel
from signsearch.embed.signclip.text import (
    MAX_TEXT_LEN,
    WordPieceTokenizer,
    caption,
    format_prompt,
    load_tokenizer,
    text_batch,
)
from signsearch.config import ConfigError
from signsearch.embed.spec import ModelSpec
from signsearch.errors import UserError

log = logging.getLogger(__name__)


class LongInputError(UserError, ValueError):
    """An input is longer than the model's `max_video_len` and the model's policy is `error`."""


def windows(frames: int, max_len: int, policy: str) -> list[tuple[int, int]]:
    """(start, stop) frame ranges to embed for an input of `frames` frames under `policy`."""
    if frames <= max_len:
        return [(0, frames)]
    if policy == "error":
        raise LongInputError(
            f"input has {frames} frames, more than the model's {max_len}; "
            "set long_inputs: truncate or window for this model to embed it"
        )
    if policy == "truncate":
        return [(0, max_len)]
    stride = max_len // 2
    starts = list(range(0, frames - max_len + 1, stride))
    if starts[-1] + max_len < frames:
        starts.append(frames - max_len)
    return [(start, start + max_len) for start in starts]


def _lengths(spec: ModelSpec) -> tuple[int, int]:
    """(max_video_len, max_text_len) of a model, after checking its signclip options."""
    options = dict(spec.options)
    lengths = int(options.pop("max_video_len", MAX_VIDEO_LEN)), int(options.pop("max_text_len", MAX_TEXT_LEN))
    if options:
        raise ConfigError(f"model '{spec.name}': unknown signclip options {sorted(options)}")
    return lengths


class SignCLIPEmbedder:
    """SignCLIP pose and text towers from an MMPT checkpoint and a bert-base-cased folder (config + vocab).

    From the spec: `files` (checkpoint, tokenizer), `prompt`, `long_inputs`, `batch_size`, `device`/`gpu`, and
    `options`: `max_video_len` (256) and `max_text_len` (64), which only models trained with other values
    (SignCLIP-BSL: 32 and 32) need. Build it with `signsearch.embed.factory.load_embedder`, which checks the files.
    """

    def __init__(self, spec: ModelSpec) -> None:
        max_video_len, _ = _lengths(spec)  # a config mistake fails before the slow load
        folder = spec.files["tokenizer"]
        tokenizer = load_tokenizer(folder)
        state = read_state_dict(spec.files["checkpoint"])
        linear1 = state.get("mmmodel.video_encoder.videomlp.linear1.weight")
        model = SignCLIPModel(
            BertConfig.from_json_file(folder / "config.json"),
            video_depth(state),
            in_dim=FEATURE_DIM if linear1 is None else linear1.shape[1],
            max_video_len=max_video_len,
            cls_id=tokenizer.cls_token_id,
            sep_id=tokenizer.sep_token_id,
        )
        load_weights(model, map_state_dict(state))
        self._configure(spec, model, tokenizer)
        self.checkpoint: Path | None = spec.files["checkpoint"]

    @classmethod
    def from_model(cls, spec: ModelSpec, model: SignCLIPModel, tokenizer: WordPieceTokenizer) -> SignCLIPEmbedder:
        """An embedder around an in-memory model (benchmarks); it has no checkpoint, hence no fingerprint."""
        embedder = cls.__new__(cls)
        embedder._configure(spec, model, tokenizer)
        embedder.checkpoint = None
        return embedder

    def _configure(self, spec: ModelSpec, model: SignCLIPModel, tokenizer: WordPieceTokenizer) -> None:
        _, self.max_text_len = _lengths(spec)
        self.long_inputs = spec.long_inputs
        self.name = spec.name
        self.prompt = spec.prompt
        self.batch_size = spec.batch_size
        gpu = spec.gpu and torch.cuda.is_available()
        self.device = torch.device(spec.device or ("cuda" if gpu else "cpu"))
        self.tokenizer = tokenizer
        self.model = model.eval().to(self.device)
        self.dim: int = model.dim

    @cached_property
    def fingerprint(self) -> str:
        """Checkpoint checksum + the long-input policy (both change pose vectors); hashed on first use."""
        if self.checkpoint is None:
            raise AttributeError(f"model '{self.name}' was built in memory: it has no checkpoint to fingerprint")
        return f"signclip:{file_sha256(self.checkpoint)[:16]}:{self.long_inputs}"

    def embed_poses(self, poses: Sequence[Pose]) -> np.ndarray:
        return self.embed_features([pose_features(pose) for pose in poses])

    def embed_features(self, features: Sequence[np.ndarray]) -> np.ndarray:
        """float32 (n, dim) for preprocessed (T, 609) inputs, under the model's long-input policy."""
        max_len, in_dim = self.model.max_video_len, self.model.in_dim
        pieces: list[tuple[int, np.ndarray]] = []
        long = 0
        for owner, array in enumerate(features):
            array = np.asarray(array, np.float32)
            if array.ndim != 2 or array.shape[1] != in_dim or len(array) == 0:
                raise ValueError(f"input {owner}: expected shape (T >= 1, {in_dim}), got {array.shape}")
            spans = windows(len(array), max_len, self.long_inputs)
            long += len(array) > max_len
            pieces += [(owner, array[start:stop]) for start, stop in spans]
        if long:
            how = "their first" if self.long_inputs == "truncate" else "the mean over sliding windows of"
            log.warning("%s: %d of %d inputs exceed %d frames; embedded %s %d frames",
                        self.name, long, len(features), max_len, how, max_len)  # fmt: skip

        sums = np.zeros((len(features), self.dim), np.float64)
        counts = np.zeros(len(features), np.int64)
        # Longest first, so each batch pads little; the result does not depend on the order.
        order = sorted(range(len(pieces)), key=lambda i: -len(pieces[i][1]))
        with torch.inference_mode():
            for begin in range(0, len(order), self.batch_size):
                chunk = [pieces[i] for i in order[begin : begin + self.batch_size]]
                lengths = [len(array) for _, array in chunk]
                batch = np.zeros((len(chunk), max(lengths), in_dim), np.float32)
                for row, (_, array) in enumerate(chunk):
                    batch[row, : len(array)] = array
                vectors = self.model.embed_video(
                    torch.from_numpy(batch).to(self.device), torch.tensor(lengths, device=self.device)
                )
                for (owner, _), vector in zip(chunk, vectors.cpu().numpy()):
                    sums[owner] += vector
                    counts[owner] += 1
        return (sums / np.maximum(counts, 1)[:, None]).astype(np.float32)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """float32 (n, dim) for glosses/phrases, each put into the model's `prompt` first."""
        captions = [caption(self.tokenizer, format_prompt(self.prompt, text), self.max_text_len) for text in texts]
        cut = sum(len(c.pieces) > self.max_text_len - 3 for c in captions)
        if cut:
            log.info("%s: %d texts cut to their first %d word pieces", self.name, cut, self.max_text_len - 3)
        out = np.zeros((len(captions), self.dim), np.float32)
        order = sorted(range(len(captions)), key=lambda i: -int(captions[i].cmask.sum()))
        with torch.inference_mode():
            for begin in range(0, len(order), self.batch_size):
                rows = order[begin : begin + self.batch_size]
                ids, mask = text_batch([captions[i] for i in rows])
                out[rows] = self.model.embed_text(ids.to(self.device), mask.to(self.device)).cpu().numpy()
        return out
