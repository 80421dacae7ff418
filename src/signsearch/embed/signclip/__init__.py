"""SignCLIP (MMPT) inference without fairseq: `.pose` files and text embedded into one vector space.

Modules: `features` (pose -> (T, 609)), `checkpoint` (weights out of a fairseq checkpoint, safely), `model`
(the two BERT towers and their pooling), `text` (prompts, tokenizer, captions), `embedder` (`SignCLIPEmbedder`:
batching and the long-input policy), `files` (`missing_files`, `ModelFilesMissing`).
`missing_files` and `ModelFilesMissing` import without torch; the rest loads on first use.
"""

from __future__ import annotations

from typing import Any

from signsearch.embed.signclip.files import ModelFilesMissing, missing_files

__all__ = ["LongInputError", "ModelFilesMissing", "SignCLIPEmbedder", "missing_files"]


def __getattr__(name: str) -> Any:
    if name in {"SignCLIPEmbedder", "LongInputError"}:
        from signsearch.embed.signclip import embedder

        return getattr(embedder, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
