"""The embedder interface shared by every model kind (pose-baseline, signclip, ...)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
from pose_format import Pose


@runtime_checkable
class Embedder(Protocol):
    """Turns poses into vectors. Implementations are built by `signsearch.embed.factory.load_embedder`."""

    name: str
    dim: int
    # Changes whenever the vectors would change: a weights checksum, or a feature version for models without weights.
    fingerprint: str

    def embed_poses(self, poses: Sequence[Pose]) -> np.ndarray:
        """Return float32 (len(poses), dim). A pose's vector must not depend on the rest of the batch."""
        ...


@runtime_checkable
class TextEmbedder(Embedder, Protocol):
    """A model with a text tower (SignCLIP): prompts share the vector space of poses. Which kinds have one is
    `ModelSpec.has_text` (`signsearch.embed.spec.TEXT_KINDS`)."""

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Return float32 (len(texts), dim) for raw glosses/phrases; the model applies its own prompt format."""
        ...
