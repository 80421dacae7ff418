"""Prompts -> SignCLIP text-tower input, as MMPT's `TextProcessor` + `Aligner._build_text_seq` build it.

The tokenizer is BERT WordPiece over the bert-base-cased vocab: cased, accents kept, called without special
tokens; the `<en> <ase>` tags are plain text. MMPT's caption is `[CLS] [SEP] pieces[:max_len-3] [SEP] [PAD]...`
(length `max_len`, 64), and the text tower sees it without its second entry.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

try:  # transformers 5: the Python WordPiece tokenizer MMPT used (the default BertTokenizer is now Rust-backed)
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy as WordPieceTokenizer
except ImportError:  # transformers 4
    from transformers import BertTokenizer as WordPieceTokenizer

log = logging.getLogger(__name__)

MAX_TEXT_LEN = 64


def load_tokenizer(folder: str | Path) -> WordPieceTokenizer:
    """WordPiece tokenizer from `folder/vocab.txt`; cased unless `tokenizer_config.json` says otherwise."""
    folder = Path(folder)
    settings_file = folder / "tokenizer_config.json"
    settings = json.loads(settings_file.read_text()) if settings_file.is_file() else {}
    # BertTokenizer defaults to lower-casing; SignCLIP was trained on bert-base-cased, so a bare vocab means cased.
    lower = bool(settings.get("do_lower_case", False))
    if lower:
        log.warning("%s: tokenizer_config.json asks for lower-casing; SignCLIP models were trained cased", folder)
    return WordPieceTokenizer(str(folder / "vocab.txt"), do_lower_case=lower)


def format_prompt(prompt: str, text: str) -> str:
    """`{text}` in the prompt replaced by the text (plain replace: braces in glosses are fine)."""
    return prompt.replace("{text}", text)


@dataclass
class Caption:
    pieces: list[str]
    caps: np.ndarray  # int64 (max_len,)
    cmask: np.ndarray  # bool (max_len,)


def caption(tokenizer: WordPieceTokenizer, text: str, max_len: int = MAX_TEXT_LEN) -> Caption:
    """MMPT's caption for an already-formatted prompt; word pieces beyond `max_len - 3` are dropped."""
    pieces = tokenizer.tokenize(text)
    ids = tokenizer.convert_tokens_to_ids(pieces)[: max_len - 3]
    cls, sep, pad = tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id
    used = [cls, sep, *ids, sep]
    caps = np.full(max_len, pad, np.int64)
    caps[: len(used)] = used
    cmask = np.zeros(max_len, bool)
    cmask[: len(used)] = True
    return Caption(pieces, caps, cmask)


def text_batch(captions: list[Caption]) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask) for the text tower: captions minus their second token, cut to the longest."""
    caps = np.stack([np.delete(c.caps, 1) for c in captions])
    mask = np.stack([np.delete(c.cmask, 1) for c in captions])
    width = int(mask.sum(1).max())  # trailing padding is masked anyway; dropping it saves compute
    return torch.from_numpy(caps[:, :width]), torch.from_numpy(mask[:, :width].astype(np.int64))
