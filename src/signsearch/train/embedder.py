"""`TrainedEmbedder`: a checkpoint written by `train.api.train_model`, served through the embedder interface."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from pose_format import Pose

from signsearch.embed.signclip.checkpoint import file_sha256
from signsearch.train import checkpoint
from signsearch.train.features import clip_from_pose
from signsearch.train.loop import embed_clips

FEATURE_VERSION = "trained-pose-encoder/1"


class TrainedEmbedder:
    """Front end (pose-baseline normalisation) + the trained encoder. `fingerprint` follows the checkpoint bytes."""

    def __init__(self, name: str, checkpoint_path: str | Path, device: str | None = None) -> None:
        loaded = checkpoint.load(checkpoint_path)
        self.name = name
        self.dim = loaded.arch.dim
        self.fingerprint = f"{FEATURE_VERSION}:{file_sha256(checkpoint_path)[:16]}"
        self.info = loaded.info
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model = loaded.model().to(self.device)

    def embed_poses(self, poses: Sequence[Pose]) -> np.ndarray:
        # One pose per forward pass: BLAS blocking depends on the batch size, and a pose's vector must not.
        out = np.zeros((len(poses), self.dim), np.float32)
        for i, pose in enumerate(poses):
            out[i] = embed_clips(self.model, [clip_from_pose(pose)], self.device)[0]
        return out
