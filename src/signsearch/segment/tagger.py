"""The sign segmentation model (TorchScript BIO tagger of sign-language-processing/segmentation, MIT).

The user places `model.pth` at a configured path; it is never downloaded. Preprocessing follows the model's
README exactly (pose-format 0.15): body + both hands, shoulder normalisation, legs hidden, person 0, masked
points as zeros. The whole sequence goes in at once (a recurrent tagger made for full videos).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pose_format import Pose
from pose_format.utils.generic import pose_hide_legs, pose_normalization_info

from signsearch.errors import UserError

COMPONENTS = ["POSE_LANDMARKS", "LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS"]
POINTS = 75  # 33 body + 21 + 21 hand points


@dataclass(frozen=True)
class Tags:
    """Per-frame log-probabilities over (O, B, I), float32 [frames, 3]."""

    sign: np.ndarray
    sentence: np.ndarray


def model_input(pose: Pose) -> np.ndarray:
    """The model's input for person 0 of `pose`: float32 [frames, 75, 3], masked or non-finite points as 0."""
    pose = pose.get_components(COMPONENTS)
    pose = pose.normalize(pose_normalization_info(pose.header))
    pose_hide_legs(pose)
    data = pose.body.data[:, 0]
    x = np.ma.filled(data, 0.0) if np.ma.isMaskedArray(data) else np.asarray(data)
    # Poses without shoulders normalise to inf/NaN; the model saw zeros for anything undetected.
    return np.nan_to_num(np.asarray(x, np.float32)[..., :3], nan=0.0, posinf=0.0, neginf=0.0)


class SignTagger:
    """Loads the TorchScript model once (CPU) and tags poses with it."""

    def __init__(self, path: str | Path, threads: int | None = None):
        import torch

        self.path = Path(path)
        if not self.path.is_file():
            raise UserError(
                f"segmentation model not found: {self.path} (copy the sign segmentation model.pth there; "
                "it is not downloaded)"
            )
        if threads is not None:
            torch.set_num_threads(threads)
        try:
            self._model = torch.jit.load(str(self.path), map_location="cpu").eval()
        except Exception as exc:  # torch raises RuntimeError/ValueError/zip errors for a wrong or broken file
            raise UserError(
                f"segmentation model unreadable: {self.path} ({type(exc).__name__}; replace it with the sign "
                "segmentation model.pth, a TorchScript file)"
            ) from None
        self._torch = torch

    def tag_array(self, x: np.ndarray) -> Tags:
        """Tag a model input [frames, 75, 3] (see `model_input`)."""
        if x.ndim != 3 or x.shape[1:] != (POINTS, 3):
            raise ValueError(f"model input must be [frames, {POINTS}, 3], got {list(x.shape)}")
        with self._torch.inference_mode():
            out = self._model(self._torch.from_numpy(np.ascontiguousarray(x, np.float32)).unsqueeze(0))
        return Tags(sign=out["sign"][0].numpy().copy(), sentence=out["sentence"][0].numpy().copy())

    def tag(self, pose: Pose) -> Tags:
        return self.tag_array(model_input(pose))
