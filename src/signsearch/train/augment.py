"""Training-time augmentation of a `Clip` (body frame): rotation, shear, scale, time stretch, frame drop and
missing-hand frames. Every draw comes from the caller's numpy Generator, so a seed fixes the whole run."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from signsearch.train.features import Clip


@dataclass(frozen=True)
class Augmentation:
    rotation_deg: float = 15.0  # uniform in +-
    shear: float = 0.15  # x += shear * y, uniform in +-
    scale: float = 0.15  # uniform factor in 1 +- scale, x and y drawn separately (aspect change)
    time_stretch: float = 0.25  # time warp t -> t ** g, g in [1/(1+s), 1+s]; plus a crop of up to s/2 of the ends
    frame_drop: float = 0.15  # share of frames removed
    hand_drop: float = 0.15  # per hand and frame, probability the hand is not detected

    def __call__(self, clip: Clip, rng: np.random.Generator) -> Clip:
        if clip.frames == 0:
            return clip
        hands, body = self._spatial(clip, rng)
        idx = self._time(clip.frames, rng)
        hands, body = hands[:, idx].copy(), body[idx]
        drop = rng.random(hands.shape[:2]) < self.hand_drop
        hands[drop] = np.nan
        return Clip(hands, body)

    def _spatial(self, clip: Clip, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        a = np.deg2rad(rng.uniform(-self.rotation_deg, self.rotation_deg))
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        shear = np.array([[1.0, rng.uniform(-self.shear, self.shear)], [0.0, 1.0]])
        scale = np.diag(rng.uniform(1 - self.scale, 1 + self.scale, 2))
        m = (rot @ shear @ scale).astype(np.float32)
        hands = clip.hands.copy()
        hands[..., :2] = hands[..., :2] @ m.T
        return hands, clip.body @ m.T

    def _time(self, frames: int, rng: np.random.Generator) -> np.ndarray:
        """Frame indices of the augmented clip (repeats stretch, gaps drop)."""
        crop = self.time_stretch / 2
        lo, hi = rng.uniform(0, crop), 1 - rng.uniform(0, crop)
        gamma = np.exp(rng.uniform(-np.log1p(self.time_stretch), np.log1p(self.time_stretch)))
        t = lo + (hi - lo) * np.linspace(0, 1, frames) ** gamma
        idx = np.round(t * (frames - 1)).astype(int)
        keep = rng.random(frames) >= self.frame_drop
        keep[[0, -1]] = True
        return idx[keep]
