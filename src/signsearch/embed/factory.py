"""Build embedders from model specs, and tell which configured models can run here."""

from __future__ import annotations

import sys

from signsearch.embed.base import Embedder
from signsearch.embed.spec import ModelFilesMissing, ModelSpec, ModelUnavailable


def available_models(specs: dict[str, ModelSpec], *, announce: bool = True) -> dict[str, ModelSpec]:
    """The models whose files are present. A missing one is reported in one line and skipped, unless its entry
    says `required: true`, which makes it an error."""
    ready = {}
    for name, spec in specs.items():
        missing = spec.missing_files()
        if not missing:
            ready[name] = spec
            continue
        message = (
            f"model '{name}' skipped: missing {'; '.join(missing)} "
            "(place the SignCLIP checkpoint and a bert-base-cased folder there; see README 'SignCLIP checkpoints')"
        )
        if spec.required:
            raise ModelUnavailable(message.replace("skipped", "required but unavailable"))
        if announce:
            print(f"signsearch: {message}", file=sys.stderr)
    return ready


def load_embedder(spec: ModelSpec) -> Embedder:
    """Instantiate a model's embedder (heavy imports happen only for the kind asked for)."""
    missing = spec.missing_files()
    if missing:
        raise ModelFilesMissing(spec.name, missing)
    if spec.kind == "pose-baseline":
        from signsearch.embed.baseline import PoseBaselineEmbedder

        return PoseBaselineEmbedder(spec.name, dict(spec.options))
    if spec.kind == "signclip":
        from signsearch.embed.signclip import SignCLIPEmbedder

        return SignCLIPEmbedder(spec)
    if spec.kind == "trained":
        return _trained_embedder(spec)
    raise ModelUnavailable(f"model '{spec.name}': no embedder for kind '{spec.kind}'")


def _trained_embedder(spec: ModelSpec) -> Embedder:
    from signsearch.train.embedder import TrainedEmbedder

    path = spec.files["checkpoint"]
    if not path.is_file():
        raise ModelUnavailable(
            f"trained model '{spec.name}': no checkpoint at {path} yet (the train_model rule writes it: "
            f"snakemake --cores all {path})"
        )
    # None lets TrainedEmbedder take cuda when one is visible; a CPU-only model stays on the CPU.
    return TrainedEmbedder(spec.name, path, spec.device or (None if spec.gpu else "cpu"))
