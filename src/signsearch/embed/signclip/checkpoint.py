"""Read the weights out of a fairseq/MMPT SignCLIP checkpoint without fairseq, and without running its pickle.

A training checkpoint is a `torch.save` dict (`args`, `cfg`, `model`, `optimizer_history`, `extra_state`,
`last_optimizer_state`, ...). Only `model` matters: an OrderedDict of tensors whose keys start with `mmmodel.`.
The other entries may pickle classes this environment does not have (fairseq meters, omegaconf nodes), so the
unpickler resolves only an allow-list of harmless globals (tensor rebuild helpers, containers, numpy scalars)
and turns every other global into an inert stub, so no code the file names outside that list is imported or run.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import pickle
import re
import types
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from signsearch.errors import UserError

log = logging.getLogger(__name__)

PREFIX = "mmmodel."
VIDEO_MLP, VIDEO_BERT, TEXT_BERT = "video_encoder.videomlp.", "video_encoder.bert.", "text_encoder."
# Present in every real checkpoint but unused at inference (MMPT pools itself; transformers 3.x kept position_ids
# as a persistent buffer).
IGNORED_SUFFIXES = ("embeddings.position_ids",)
IGNORED_PREFIXES = ("pooler.",)
_VIDEO_LAYER = re.compile(re.escape(VIDEO_BERT) + r"encoder\.layer\.(\d+)\.")


class CheckpointError(UserError, ValueError):
    """The checkpoint does not hold a SignCLIP model of the expected layout."""


class _Stub:
    """Stands in for a class or function the checkpoint names but that is not on the allow-list."""

    def __new__(cls, *args: Any, **kwargs: Any) -> _Stub:
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        self.__dict__["_state"] = state


def _allowed(module: str, name: str) -> Any | None:
    """The object for an allow-listed global, else None."""
    if (module, name) in {
        ("collections", "OrderedDict"),
        ("argparse", "Namespace"),
        ("_codecs", "encode"),
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "slice"),
        ("builtins", "complex"),
        ("torch", "Size"),
        ("torch", "device"),
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
    }:
        return getattr(importlib.import_module(module), name)
    if module == "torch._utils" and name in {"_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter"}:
        return getattr(importlib.import_module(module), name)
    if module == "torch" and isinstance(getattr(torch, name, None), torch.dtype):
        return getattr(torch, name)
    if module in {"numpy.core.multiarray", "numpy._core.multiarray"} and name in {"scalar", "_reconstruct"}:
        # numpy 2 moved numpy.core to numpy._core; either spelling may be in the file.
        for candidate in ("numpy._core.multiarray", "numpy.core.multiarray"):
            try:
                return getattr(importlib.import_module(candidate), name)
            except (ImportError, AttributeError):
                continue
    if module == "numpy.dtypes" and name.endswith("DType"):
        return getattr(importlib.import_module(module), name, None)
    return None


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        found = _allowed(module, name)
        if found is not None:
            return found
        log.info("checkpoint: %s.%s is not needed for inference; replaced by an inert stub", module, name)
        return type(name, (_Stub,), {"__module__": f"stub.{module}"})


def _load(file: Any, **kwargs: Any) -> Any:
    return _Unpickler(file, **kwargs).load()


# torch.load(pickle_module=...) subclasses `Unpickler` and defers unknown globals to our find_class.
_safe_pickle = types.ModuleType("signsearch_safe_pickle")
_safe_pickle.Unpickler = _Unpickler  # type: ignore[attr-defined]
_safe_pickle.load = _load  # type: ignore[attr-defined]


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The raw `model` state dict of a checkpoint (keys as stored, `mmmodel.` prefix included)."""
    path = Path(path)
    # mmap: a real file is ~2.6 GB, two thirds of it Adam moments we never touch.
    checkpoint = torch.load(
        path, map_location="cpu", pickle_module=_safe_pickle, weights_only=False, mmap=zipfile.is_zipfile(path)
    )
    state = checkpoint.get("model") if isinstance(checkpoint, Mapping) else None
    if state is None and isinstance(checkpoint, Mapping) and all(torch.is_tensor(v) for v in checkpoint.values()):
        state = checkpoint  # a bare state dict
    if not isinstance(state, Mapping) or not state:
        raise CheckpointError(f"{path}: no 'model' state dict (is this a SignCLIP/MMPT checkpoint?)")
    return {key: value for key, value in state.items()}


def video_depth(state: Mapping[str, torch.Tensor]) -> int:
    """Number of video-tower layers, read off `encoder.layer.<i>` (the training config, not config.json, sets it)."""
    indices = {int(m.group(1)) for key in state if (m := _VIDEO_LAYER.match(key.removeprefix(PREFIX)))}
    if not indices:
        raise CheckpointError("checkpoint has no video_encoder.bert.encoder.layer.* weights")
    if indices != set(range(max(indices) + 1)):
        raise CheckpointError(f"checkpoint video layers are not contiguous: {sorted(indices)}")
    return max(indices) + 1


def map_state_dict(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename checkpoint keys onto `SignCLIPModel` (`videomlp.*`, `video_bert.*`, `text_bert.*`).

    Poolers and legacy `position_ids` buffers are dropped; any other key that has no place raises, so a
    checkpoint with e.g. a projection head is not silently served without it.
    """
    mapped, foreign = {}, []
    for key, tensor in state.items():
        name = key.removeprefix(PREFIX)
        for source, target in ((VIDEO_MLP, "videomlp."), (VIDEO_BERT, "video_bert."), (TEXT_BERT, "text_bert.")):
            if name.startswith(source):
                rest = name[len(source) :]
                if target != "videomlp." and (rest.startswith(IGNORED_PREFIXES) or rest.endswith(IGNORED_SUFFIXES)):
                    break
                mapped[target + rest] = tensor.float() if tensor.is_floating_point() else tensor
                break
        else:
            foreign.append(key)
    if foreign:
        raise CheckpointError(f"unexpected checkpoint weights (not part of SignCLIP inference): {_some(foreign)}")
    return mapped


def load_weights(model: torch.nn.Module, mapped: Mapping[str, torch.Tensor]) -> None:
    """Load strictly: every parameter of `model` must come from the checkpoint, with its exact shape."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(mapped))
    unexpected = sorted(set(mapped) - set(expected))
    wrong = [
        f"{k} {tuple(mapped[k].shape)} != {tuple(expected[k].shape)}"
        for k in sorted(set(mapped) & set(expected))
        if mapped[k].shape != expected[k].shape
    ]
    problems = [
        f"{label}: {_some(keys)}"
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", wrong))
        if keys
    ]
    if problems:
        raise CheckpointError(
            "checkpoint does not match the model built from config.json: " + "; ".join(problems)
        )
    model.load_state_dict(mapped, strict=True)


def file_sha256(path: str | Path, chunk: int = 1 << 24) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _some(keys: list[str], limit: int = 8) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", ... ({len(keys)} in all)" if len(keys) > limit else "")
