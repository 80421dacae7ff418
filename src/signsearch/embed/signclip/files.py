"""Which files a SignCLIP model entry needs, checked without importing torch (the workflow calls this at parse time)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

TOKENIZER_FILES = ("config.json", "vocab.txt")


class ModelFilesMissing(FileNotFoundError):
    """A SignCLIP checkpoint or tokenizer folder is absent; the message names each path and what belongs there."""

    def __init__(self, name: str, missing: list[str]) -> None:
        self.missing = missing
        super().__init__(
            f"SignCLIP model '{name}': missing {'; '.join(missing)}. Put the MMPT checkpoint (checkpoint_best.pt) "
            "at the entry's `checkpoint` path and a bert-base-cased folder (config.json, vocab.txt, "
            "tokenizer_config.json from huggingface.co/bert-base-cased) at its `tokenizer` path, or point "
            f"models.{name}.checkpoint / .tokenizer in the config at where they are."
        )


def missing_files(cfg: dict[str, Any]) -> list[str]:
    """`key: path` for every needed file or folder that is absent (empty when the model can be loaded)."""
    missing = []
    checkpoint = cfg.get("checkpoint")
    if not checkpoint or not Path(checkpoint).is_file():
        missing.append(f"checkpoint: {checkpoint or '(not set)'}")
    tokenizer = cfg.get("tokenizer")
    if not tokenizer or not Path(tokenizer).is_dir():
        missing.append(f"tokenizer: {tokenizer or '(not set)'}")
    else:
        missing += [f"tokenizer: {Path(tokenizer) / f}" for f in TOKENIZER_FILES if not (Path(tokenizer) / f).is_file()]
    return missing
