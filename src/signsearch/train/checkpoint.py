"""Trained-model checkpoints: plain tensors and JSON strings in a `torch.save` file, read back with
`torch.load(weights_only=True)`, so loading never imports or runs code named in the file (a checkpoint that
pickles any other object is refused). Saving is byte-for-byte reproducible for the same weights and file name.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from signsearch.atomic import atomic_path
from signsearch.errors import UserError
from signsearch.train.model import Architecture, PoseEncoder

FORMAT = "signsearch-trained-pose-encoder/1"


class CheckpointRefused(UserError):
    """The file is not a plain trained-model checkpoint (wrong format, or it would need pickled code)."""


@dataclass(frozen=True)
class Checkpoint:
    arch: Architecture
    state: dict[str, torch.Tensor]
    info: dict[str, Any]  # hyper-parameters, data summary, validation numbers (JSON-safe)

    def model(self) -> PoseEncoder:
        model = PoseEncoder(self.arch)
        model.load_state_dict(self.state, strict=True)
        return model.eval()


def save(path: str | Path, model: PoseEncoder, info: dict[str, Any]) -> None:
    """Write atomically. Tensors are made contiguous CPU copies so the bytes depend on the values only."""
    payload = {
        "format": FORMAT,
        "architecture": json.dumps(model.arch.__dict__, sort_keys=True),
        "info": json.dumps(info, sort_keys=True, default=str),
        "state": {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()},
    }
    with atomic_path(path) as tmp:
        # Through a handle the archive's inner folder is always 'archive', not named after the temp file.
        with open(tmp, "wb") as handle:
            torch.save(payload, handle)


def load(path: str | Path) -> Checkpoint:
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
        raise CheckpointRefused(
            f"{path}: not a plain trained-model checkpoint (only tensors and JSON are accepted, no pickled "
            f"objects): {str(exc).splitlines()[0]}"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointRefused(f"{path}: not a {FORMAT} checkpoint (retrain it with signsearch)")
    state = payload.get("state")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointRefused(f"{path}: 'state' must map names to tensors")
    try:
        arch = Architecture(**json.loads(payload["architecture"]))
        info = json.loads(payload["info"])
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise CheckpointRefused(f"{path}: unreadable architecture/info: {exc}") from exc
    return Checkpoint(arch, state, info)
