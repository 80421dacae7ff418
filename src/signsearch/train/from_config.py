"""A `kind: trained` model entry's `train:` block (config schema) -> the `TrainConfig` and the training and
validation records, read from the workflow's registries and pose indexes of exactly the datasets it names."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from signsearch.config import ConfigError
from signsearch.train.api import Record, TrainResult, hold_out_signers, train_model
from signsearch.train.loop import TrainConfig

# Architecture presets of `train.size` (heads stay 4: every width divides by it).
SIZES: dict[str, dict[str, int]] = {
    "tiny": {"width": 64, "depth": 1, "dim": 64},
    "small": {"width": 96, "depth": 2, "dim": 128},
    "base": {"width": 192, "depth": 4, "dim": 256},
}


def train_config(train: Mapping[str, Any], *, device: str = "cpu", threads: int | None = None) -> TrainConfig:
    return TrainConfig(
        **SIZES[train["size"]],
        epochs=train["epochs"],
        patience=train["patience"],
        glosses_per_batch=train["glosses_per_batch"],
        clips_per_gloss=train["clips_per_gloss"],
        lr=train["lr"],
        loss=train["loss"],
        seed=train["seed"],
        device=device,
        threads=threads,
    )


def run_training(
    model: str,
    train: Mapping[str, Any],
    registries: Mapping[str, str | Path],
    poses: Mapping[str, str | Path],
    out_dir: str | Path,
    *,
    device: str = "cpu",
    threads: int | None = None,
) -> TrainResult:
    """The train_model job: records from the named datasets, train, write the model folder."""
    records, validation = training_sets(model, train, registries, poses)
    return train_model(records, out_dir, train_config(train, device=device, threads=threads), validation=validation)


def training_sets(
    model: str, train: Mapping[str, Any], registries: Mapping[str, str | Path], poses: Mapping[str, str | Path]
) -> tuple[list[Record], list[Record]]:
    """(training, validation) records: the `data` datasets' videos with a gloss, a signer and a usable pose, split
    by `validation.splits` or, without them, by a seeded signer hold-out of the training records."""
    val_splits = set(train["validation"]["splits"])
    records: list[Record] = []
    validation: list[Record] = []
    for entry in train["data"]:
        name = entry["dataset"]
        if name not in registries:
            raise ConfigError(f"models.{model}.train.data names dataset '{name}', which is not an active dataset")
        wanted = set(entry["splits"])
        if wanted & val_splits:
            raise ConfigError(f"models.{model}.train: split(s) {sorted(wanted & val_splits)} of '{name}' are both "
                              "training and validation splits")
        for row in _labelled(registries[name], poses[name]).itertuples():
            record = Record(row.pose_path, row.gloss, row.signer, dataset=name, split=row.split)
            if row.split in val_splits:
                validation.append(record)
            elif not wanted or row.split in wanted:
                records.append(record)
    if not records:
        raise ConfigError(f"models.{model}.train: no labelled videos with a pose in the training data")
    if val_splits:
        if not validation:
            raise ConfigError(f"models.{model}.train.validation: no labelled videos in split(s) {sorted(val_splits)}")
        return records, validation
    return hold_out_signers(records, train["validation"]["hold_out_signers"], seed=train["seed"])


def _labelled(registry: str | Path, pose_index: str | Path) -> pd.DataFrame:
    """Registry rows with gloss and signer whose pose came out ok (registry order, so the records are stable)."""
    reg = pq.read_table(registry, columns=["video_id", "gloss", "signer", "split"]).to_pandas()
    ok = pq.read_table(pose_index, columns=["video_id", "pose_path", "status"]).to_pandas()
    ok = ok[ok["status"] == "ok"][["video_id", "pose_path"]]
    reg = reg[reg["gloss"].notna() & (reg["gloss"] != "") & reg["signer"].notna() & (reg["signer"] != "")]
    return reg.merge(ok, on="video_id", how="inner")
