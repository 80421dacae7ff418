"""The encoder: per-frame features -> linear -> + learned positions -> transformer encoder -> mean over the
(fixed, resampled) frames -> linear -> L2-normalised vector."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Architecture:
    features: int  # per-frame input size (train.features.FEATURES)
    frames: int = 32  # every clip is resampled to this many frames
    width: int = 96
    depth: int = 2
    heads: int = 4
    ff_mult: int = 2
    dropout: float = 0.1
    dim: int = 128  # output embedding size


class PoseEncoder(nn.Module):
    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        self.arch = arch
        self.inp = nn.Sequential(nn.Linear(arch.features, arch.width), nn.LayerNorm(arch.width))
        self.pos = nn.Parameter(torch.randn(1, arch.frames, arch.width) * 0.02)
        layer = nn.TransformerEncoderLayer(
            arch.width, arch.heads, arch.width * arch.ff_mult, arch.dropout,
            activation="gelu", batch_first=True, norm_first=True,
        )  # fmt: skip
        self.encoder = nn.TransformerEncoder(layer, arch.depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(arch.width)
        self.head = nn.Linear(arch.width, arch.dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [B, frames, features] -> [B, dim], unit length."""
        h = self.encoder(self.inp(x) + self.pos)
        return nn.functional.normalize(self.head(self.norm(h).mean(1)), dim=-1)
