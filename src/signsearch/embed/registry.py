"""Build embedders from the config's `models:` entries, and tell which models can run here."""

from __future__ import annotations

import logging
import sys
from typing import Any

from signsearch.embed.base import Embedder

log = logging.getLogger(__name__)

KINDS = ("pose-baseline", "signclip")


class ModelUnavailable(RuntimeError):
    """A configured model cannot be used (its files are missing); the message says where to put them."""


def missing_files(cfg: dict[str, Any]) -> list[str]:
    """Paths a model needs that are absent (cheap: nothing is loaded)."""
    if cfg["kind"] != "signclip":
        return []
    from signsearch.embed.signclip.files import missing_files as signclip_missing

    return signclip_missing(cfg)


def available_models(models: dict[str, dict[str, Any]], *, announce: bool = True) -> dict[str, dict[str, Any]]:
    """The configured models whose files are present. A missing one is reported in one line and skipped,
    unless its entry says `required: true`, which makes it an error."""
    ready = {}
    for name, cfg in models.items():
        missing = missing_files(cfg)
        if not missing:
            ready[name] = cfg
            continue
        message = (
            f"model '{name}' skipped: missing {'; '.join(missing)} "
            "(place the SignCLIP checkpoint and a bert-base-cased folder there; see README 'SignCLIP checkpoints')"
        )
        if cfg.get("required"):
            raise ModelUnavailable(message.replace("skipped", "required but unavailable"))
        if announce:
            print(f"signsearch: {message}", file=sys.stderr)
    return ready


def load_embedder(name: str, cfg: dict[str, Any], device: str | None = None) -> Embedder:
    """Instantiate the embedder of a `models:` entry (heavy imports happen only for the kind asked for)."""
    kind = cfg["kind"]
    if kind == "pose-baseline":
        from signsearch.embed.baseline import PoseBaselineEmbedder

        return PoseBaselineEmbedder(name, cfg.get("options") or {})
    if kind == "signclip":
        missing = missing_files(cfg)
        if missing:
            raise ModelUnavailable(f"model '{name}': missing {'; '.join(missing)}")
        from signsearch.embed.signclip import SignCLIPEmbedder

        return SignCLIPEmbedder(name, cfg, device=device)
    raise ModelUnavailable(f"model '{name}': unknown kind '{kind}' (use one of {', '.join(KINDS)})")
