"""`ModelSpec`: one `models:` entry as every stage sees it, built once from the validated config.

It is the one answer to a model's settings (with the schema's defaults), the files it loads, whether it has a
text tower and what it was trained on. Imports neither torch nor the model code: the workflow builds specs at
parse time and the web app for its forms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signsearch.config import validate_model
from signsearch.errors import UserError
from signsearch.layout import Layout

TEXT_KINDS = frozenset({"signclip"})  # kinds with a text tower: text search, the text-video protocol
# The files each kind loads: entry key -> None for a file, or the names a folder must hold.
KIND_FILES: dict[str, dict[str, tuple[str, ...] | None]] = {
    "signclip": {"checkpoint": None, "tokenizer": ("config.json", "vocab.txt")},
}


class ModelUnavailable(UserError, RuntimeError):
    """A configured model cannot be used here (its files are missing, its kind unknown)."""


class ModelFilesMissing(ModelUnavailable, FileNotFoundError):
    """A model's checkpoint or tokenizer folder is absent; the message names each path and what belongs there."""

    def __init__(self, name: str, missing: list[str]) -> None:
        self.missing = missing
        super().__init__(
            f"SignCLIP model '{name}': missing {'; '.join(missing)}. Put the MMPT checkpoint (checkpoint_best.pt) "
            "at the entry's `checkpoint` path and a bert-base-cased folder (config.json, vocab.txt, "
            "tokenizer_config.json from huggingface.co/bert-base-cased) at its `tokenizer` path, or point "
            f"models.{name}.checkpoint / .tokenizer in the config at where they are."
        )


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str
    metric: str  # distance of the model's vector space (database index, search default)
    batch_size: int
    long_inputs: str  # error | truncate | window (signclip)
    device: str | None  # None: cuda when `gpu` and one is visible, else cpu (decided when the model loads)
    gpu: bool
    files: Mapping[str, Path]  # the files it loads, by entry key (checkpoint, tokenizer)
    has_text: bool
    trained_on: tuple[tuple[str, tuple[str, ...]], ...]  # (dataset, splits; () = every split), `train` data included
    prompt: str
    options: Mapping[str, Any]
    required: bool
    cfg: Mapping[str, Any]  # the validated entry, defaults filled in (what the workflow passes to its jobs)

    def missing_files(self) -> list[str]:
        """`key: path` for every needed file or folder that is absent (cheap: nothing is loaded)."""
        missing = []
        for key, inside in KIND_FILES.get(self.kind, {}).items():
            path = self.files.get(key)
            if path is None or not (path.is_file() if inside is None else path.is_dir()):
                missing.append(f"{key}: {path or '(not set)'}")
            elif inside:
                missing += [f"{key}: {path / name}" for name in inside if not (path / name).is_file()]
        return missing

    @property
    def training_datasets(self) -> list[str]:
        """The datasets a `kind: trained` model trains on, in `train.data` order ([] for other kinds)."""
        train = self.cfg.get("train") if self.kind == "trained" else None
        return list(dict.fromkeys(d["dataset"] for d in train["data"])) if train else []

    def saw_in_training(self, dataset: str, splits: Sequence[str | None]) -> bool:
        """True when the model was trained on some of these videos (`trained_on` or the `train` data and validation
        splits name the dataset and split)."""
        wanted = {s for s in splits if s}
        return any(ds == dataset and (not trained or set(trained) & wanted) for ds, trained in self.trained_on)


def model_spec(name: str, entry: Mapping[str, Any]) -> ModelSpec:
    """The spec of one `models:` entry (validated again, so a hand-written entry gets the schema's defaults)."""
    cfg = validate_model(name, dict(entry))
    return ModelSpec(
        name=name,
        kind=cfg["kind"],
        metric=cfg["metric"],
        batch_size=cfg["batch_size"],
        long_inputs=cfg["long_inputs"],
        device=cfg.get("device"),
        gpu=cfg["gpu"],
        files=_files(name, cfg),
        has_text=cfg["kind"] in TEXT_KINDS,
        trained_on=_trained_on(cfg),
        prompt=cfg["prompt"],
        options=cfg["options"],
        required=cfg["required"],
        cfg=cfg,
    )


def _files(name: str, cfg: Mapping[str, Any]) -> dict[str, Path]:
    if cfg["kind"] == "trained":  # written by the train_model rule, so never "missing" before the run
        return {"checkpoint": Layout().model_files(name)["checkpoint"]}
    return {key: Path(cfg[key]) for key in KIND_FILES.get(cfg["kind"], {}) if cfg.get(key)}


def _trained_on(cfg: Mapping[str, Any]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The hand-written `trained_on` plus, for kind trained, what its `train` block reads: the training splits and
    the validation splits (early stopping saw them); a dataset trained on without splits counts whole."""
    seen = [(t["dataset"], tuple(t.get("splits") or ())) for t in cfg["trained_on"]]
    train = cfg.get("train") if cfg["kind"] == "trained" else None
    if train:
        validation = tuple(train["validation"]["splits"])
        seen += [(d["dataset"], tuple(d["splits"]) + validation if d["splits"] else ()) for d in train["data"]]
    return tuple(seen)


def model_specs(config: Mapping[str, Any]) -> dict[str, ModelSpec]:
    """Every configured model's spec, in config order."""
    return {name: model_spec(name, entry) for name, entry in config["models"].items()}


def spec_of(config: Mapping[str, Any], name: str) -> ModelSpec:
    """The spec of a model named by the user; an unknown name is a `ModelUnavailable` listing the configured ones."""
    if name not in config["models"]:
        raise ModelUnavailable(f"unknown model '{name}' (configured: {', '.join(config['models'])})")
    return model_spec(name, config["models"][name])
