"""The training entry point: labelled records in, a model folder out.

`train_model(records, out_dir, config, validation=...)` writes into `out_dir`:

* `checkpoint.pt`   weights + architecture + info (hyper-parameters, data, validation numbers), tensors and JSON only
* `training.tsv`    one row per epoch (loss, learning rate, validation cross-signer P@1 / mAP@10, clips/s)
* `curve.png`       the training curve
* `model_card.md`   data, splits, signers, hyper-parameters, seed and validation numbers
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pose_format import Pose

from signsearch.atomic import write_text
from signsearch.embed.pose_arrays import HolisticArrays
from signsearch.errors import UserError
from signsearch.layout import MODEL_FILES, files_in
from signsearch.embed.signclip.checkpoint import file_sha256
from signsearch.train import checkpoint
from signsearch.train.features import Clip, clip_from_pose, normalise, read_pose
from signsearch.train.loop import LabelledClips, TrainConfig, TrainOutcome, train
from signsearch.train.report import model_card, write_curve, write_training_table


@dataclass(frozen=True)
class Record:
    """One training clip: a `.pose` path (or an already read Pose / HolisticArrays), its gloss and signer."""

    source: str | Path | Pose | HolisticArrays
    gloss: str
    signer: str
    dataset: str | None = None
    split: str | None = None


@dataclass(frozen=True)
class TrainResult:
    checkpoint: Path
    outcome: TrainOutcome


def hold_out_signers(records: Sequence[Record], fraction: float = 0.2, seed: int = 0) -> tuple[list[Record], list[Record]]:
    """(train, validation): a seeded share of the signers (at least one) goes to validation with all its clips."""
    signers = sorted({r.signer for r in records})
    if len(signers) < 3:
        raise UserError(f"a signer hold-out needs at least 3 signers, got {len(signers)}")
    rng = np.random.default_rng(seed)
    held = set(rng.choice(signers, max(1, round(fraction * len(signers))), replace=False).tolist())
    return [r for r in records if r.signer not in held], [r for r in records if r.signer in held]


def train_model(
    records: Sequence[Record],
    out_dir: str | Path,
    config: TrainConfig = TrainConfig(),
    *,
    validation: Sequence[Record] | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train on `records`, early-stop on `validation` (clips by other signers; None: run every epoch), write the
    model folder. Validation clips whose signer also appears in training are refused: they would leak."""
    validation = list(validation or [])
    overlap = {r.signer for r in records} & {r.signer for r in validation}
    if overlap:
        raise UserError(f"validation signers also in training: {', '.join(sorted(overlap))} (hold out whole signers)")
    if validation and not _cross_signer_pairs(validation):
        raise UserError("validation needs some gloss made by >= 2 of its signers (early stopping scores cross-signer)")
    outcome = train(_labelled(records), _labelled(validation) if validation else None, config, progress=progress)
    files = files_in(Path(out_dir), MODEL_FILES)
    info: dict[str, Any] = {
        "format": checkpoint.FORMAT,
        "config": config.to_dict(),
        "data": {"train": _summary(records), "validation": _summary(validation) if validation else None},
        "best_epoch": outcome.best_epoch,
        "epochs_run": len(outcome.history),
        "validation": outcome.validation,
    }
    checkpoint.save(files["checkpoint"], outcome.model, info)
    write_training_table(files["table"], outcome.history)
    write_curve(files["curve"], outcome.history, outcome.best_epoch)
    write_text(files["card"], model_card(info, file_sha256(files["checkpoint"])))
    return TrainResult(files["checkpoint"], outcome)


def load_clip(source: str | Path | Pose | HolisticArrays) -> Clip:
    if isinstance(source, HolisticArrays):
        return normalise(source)
    return clip_from_pose(source if isinstance(source, Pose) else read_pose(source))


def _labelled(records: Sequence[Record]) -> LabelledClips:
    if not records:
        raise UserError("no training clips")
    return LabelledClips([load_clip(r.source) for r in records], [r.gloss for r in records], [r.signer for r in records])


def _cross_signer_pairs(records: Sequence[Record]) -> bool:
    signers: dict[str, set[str]] = {}
    for r in records:
        signers.setdefault(r.gloss, set()).add(r.signer)
    return any(len(s) >= 2 for s in signers.values())


def _summary(records: Sequence[Record]) -> dict[str, Any]:
    sources = Counter(f"{r.dataset or '-'}/{r.split or '-'}" for r in records)
    return {
        "clips": len(records),
        "glosses": sorted({r.gloss for r in records}),
        "signers": sorted({r.signer for r in records}),
        "sources": dict(sorted(sources.items())),
    }
