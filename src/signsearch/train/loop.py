"""The training loop: AdamW with linear warmup then cosine decay, P x K batches across signers, augmentation,
early stopping on the validation signers' cross-signer mAP@10 (the best epoch's weights are kept).

Deterministic on CPU for a fixed seed: model init and dropout draw from a forked, seeded torch RNG, batches and
augmentation from numpy Generators seeded from the same seed, and `torch.use_deterministic_algorithms(True)` is
on for the duration (the caller's global torch state is restored afterwards). Bit-identical results need the same
torch version and thread count; on a GPU the run is reproducible only as far as cuDNN/cuBLAS allow.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from signsearch.train.augment import Augmentation
from signsearch.train.features import FEATURES, Clip, frame_features
from signsearch.train.losses import metric_loss
from signsearch.train.model import Architecture, PoseEncoder
from signsearch.train.sampler import GlossSignerSampler
from signsearch.train.validation import cross_signer_scores


@dataclass(frozen=True)
class TrainConfig:
    """Every hyper-parameter of a training run (the model card lists them all)."""

    frames: int = 32
    width: int = 96
    depth: int = 2
    heads: int = 4
    ff_mult: int = 2
    dropout: float = 0.1
    dim: int = 128
    loss: str = "supcon"  # supcon | infonce | triplet
    temperature: float = 0.1  # supcon / infonce
    margin: float = 0.2  # triplet
    cross_signer_positives: bool = True
    glosses_per_batch: int = 8  # P
    clips_per_gloss: int = 4  # K
    batches_per_epoch: int | None = None  # default: enough for each training clip once per epoch
    epochs: int = 60
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_epochs: int = 3
    patience: int = 15  # epochs without a better validation mAP@10 before stopping
    augmentation: Augmentation = field(default_factory=Augmentation)
    seed: int = 0
    device: str = "cpu"
    threads: int | None = None  # torch CPU threads during training (None: leave as is)

    def architecture(self) -> Architecture:
        return Architecture(FEATURES, self.frames, self.width, self.depth, self.heads, self.ff_mult, self.dropout, self.dim)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        values = dict(values)
        if isinstance(values.get("augmentation"), dict):
            values["augmentation"] = Augmentation(**values["augmentation"])
        return cls(**values)


@dataclass(frozen=True)
class LabelledClips:
    clips: Sequence[Clip]
    glosses: Sequence[str]
    signers: Sequence[str]


@dataclass
class TrainOutcome:
    model: PoseEncoder
    history: list[dict[str, Any]]  # one row per epoch
    best_epoch: int
    validation: dict[str, float] | None  # cross-signer scores of the kept weights on the validation clips


def embed_clips(model: PoseEncoder, clips: Sequence[Clip], device: str = "cpu", batch: int = 256) -> np.ndarray:
    """float32 [len(clips), dim] with the model in eval mode."""
    model.eval()
    out = []
    with torch.no_grad():
        for lo in range(0, len(clips), batch):
            x = np.stack([frame_features(c, model.arch.frames) for c in clips[lo : lo + batch]])
            out.append(model(torch.from_numpy(x).to(device)).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.arch.dim), np.float32)


def train(train_set: LabelledClips, val_set: LabelledClips | None, cfg: TrainConfig, progress: bool = True) -> TrainOutcome:
    with _deterministic(cfg.seed, cfg.threads, cfg.device):
        return _train(train_set, val_set, cfg, progress)


def _train(train_set: LabelledClips, val_set: LabelledClips | None, cfg: TrainConfig, progress: bool) -> TrainOutcome:
    model = PoseEncoder(cfg.architecture()).to(cfg.device)
    gloss_ids = {g: i for i, g in enumerate(sorted(set(train_set.glosses)))}
    signer_ids = {s: i for i, s in enumerate(sorted(set(train_set.signers)))}
    labels = torch.tensor([gloss_ids[g] for g in train_set.glosses], device=cfg.device)
    signers = torch.tensor([signer_ids[s] for s in train_set.signers], device=cfg.device)
    per_batch = cfg.glosses_per_batch * cfg.clips_per_gloss
    batches = cfg.batches_per_epoch or max(1, math.ceil(len(train_set.clips) / per_batch))
    sampler = GlossSignerSampler(
        train_set.glosses, train_set.signers, cfg.glosses_per_batch, cfg.clips_per_gloss, batches, cfg.seed
    )
    aug_rng = np.random.default_rng([cfg.seed, 1])
    optimiser = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total, warmup = cfg.epochs * batches, cfg.warmup_epochs * batches
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: _lr_factor(step, warmup, total))

    history: list[dict[str, Any]] = []
    best: tuple[float, int, dict[str, torch.Tensor] | None, dict[str, float] | None] = (-1.0, 0, None, None)
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        start, losses, clips_seen = time.perf_counter(), [], 0
        bar = tqdm(sampler, desc=f"epoch {epoch}/{cfg.epochs}", leave=False, disable=not progress, unit="batch")
        for idx in bar:
            x = np.stack([frame_features(cfg.augmentation(train_set.clips[i], aug_rng), cfg.frames) for i in idx])
            z = model(torch.from_numpy(x).to(cfg.device))
            loss = metric_loss(
                z, labels[idx], signers[idx], cfg.loss,
                temperature=cfg.temperature, margin=cfg.margin, cross_signer=cfg.cross_signer_positives,
            )  # fmt: skip
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(float(loss.detach()))
            clips_seen += len(idx)
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
        seconds = time.perf_counter() - start
        row: dict[str, Any] = {
            "epoch": epoch, "lr": optimiser.param_groups[0]["lr"], "train_loss": float(np.mean(losses)),
            "seconds": seconds, "clips_per_s": clips_seen / max(seconds, 1e-9),
        }  # fmt: skip
        if val_set is not None and len(val_set.clips):
            scores = cross_signer_scores(
                embed_clips(model, val_set.clips, cfg.device), val_set.glosses, val_set.signers
            )
            row |= {"val_p_at_1": scores["p_at_1"], "val_map_at_10": scores["map_at_10"]}
            if scores["map_at_10"] > best[0]:
                best = (scores["map_at_10"], epoch, copy.deepcopy(model.state_dict()), scores)
        history.append(row)
        if progress:
            tqdm.write(_describe(row))
        if val_set is not None and best[2] is not None and epoch - best[1] >= cfg.patience:
            break
    if best[2] is not None:
        model.load_state_dict(best[2])
        best_epoch, validation = best[1], best[3]
    else:
        best_epoch, validation = history[-1]["epoch"], None
    return TrainOutcome(model.eval(), history, best_epoch, validation)


def _lr_factor(step: int, warmup: int, total: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))


def _describe(row: dict[str, Any]) -> str:
    text = f"epoch {row['epoch']}: loss {row['train_loss']:.4f}, {row['clips_per_s']:.0f} clips/s"
    if "val_map_at_10" in row:
        text += f", validation cross-signer P@1 {row['val_p_at_1']:.3f} mAP@10 {row['val_map_at_10']:.3f}"
    return text


@contextlib.contextmanager
def _deterministic(seed: int, threads: int | None, device: str) -> Iterator[None]:
    was_deterministic, was_threads = torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            # On CUDA only warn: cuBLAS needs CUBLAS_WORKSPACE_CONFIG to be deterministic, a GPU run is best effort.
            torch.use_deterministic_algorithms(True, warn_only=not device.startswith("cpu"))
            if threads:
                torch.set_num_threads(threads)
            yield
    finally:
        torch.use_deterministic_algorithms(was_deterministic)
        torch.set_num_threads(was_threads)
