"""SignCLIP (MMPT) inference without fairseq: `.pose` files and text embedded into one vector space.

Modules: `features` (pose -> (T, 609)), `checkpoint` (weights out of a fairseq checkpoint, safely), `model`
(the two BERT towers and their pooling), `text` (prompts, tokenizer, captions), `embedder` (`SignCLIPEmbedder`:
batching and the long-input policy). The files a model needs are checked by `signsearch.embed.spec` (no torch);
everything here loads on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LongInputError", "SignCLIPEmbedder"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from signsearch.embed.signclip import embedder

        return getattr(embedder, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
