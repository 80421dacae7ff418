"""The human-readable outputs of a training run: per-epoch table, training-curve figure and model card."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from signsearch.atomic import atomic_path, write_text


def write_training_table(path: str | Path, history: Sequence[dict[str, Any]]) -> None:
    write_text(path, pd.DataFrame(list(history)).to_csv(sep="\t", index=False, float_format="%.6g"))


def write_curve(path: str | Path, history: Sequence[dict[str, Any]], best_epoch: int) -> None:
    """Training loss (left axis) and validation cross-signer P@1 / mAP@10 (right axis) per epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = pd.DataFrame(list(history))
    fig, loss_ax = plt.subplots(figsize=(7, 4), layout="constrained")
    loss_ax.plot(table["epoch"], table["train_loss"], color="tab:gray", label="training loss")
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("training loss")
    handles = loss_ax.get_lines()
    if "val_map_at_10" in table:
        val_ax = loss_ax.twinx()
        val_ax.plot(table["epoch"], table["val_p_at_1"], color="tab:blue", label="validation P@1 (cross-signer)")
        val_ax.plot(table["epoch"], table["val_map_at_10"], color="tab:orange", label="validation mAP@10 (cross-signer)")
        val_ax.set_ylabel("validation score")
        val_ax.set_ylim(0, 1)
        handles = handles + val_ax.get_lines()
    loss_ax.axvline(best_epoch, color="black", linestyle=":", linewidth=1)
    loss_ax.legend(handles=handles, loc="lower left", fontsize=8)
    loss_ax.set_title(f"training curve (kept epoch {best_epoch}, dotted)")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def model_card(info: dict[str, Any], checkpoint_sha256: str) -> str:
    """Markdown: data, splits, signers, hyper-parameters, seed, validation numbers (from the checkpoint's info)."""
    data, cfg, val = info["data"], info["config"], info.get("validation")
    lines = [
        "# Model card: trained pose encoder",
        "",
        f"Checkpoint `checkpoint.pt` (format `{info['format']}`), sha256 `{checkpoint_sha256}`. "
        "Load it with `signsearch.train.embedder.TrainedEmbedder(name, path)`: tensors and JSON only, no code.",
        "",
        "## Data",
        "",
        "| part | clips | glosses | signers | datasets / splits |",
        "|---|---|---|---|---|",
    ]
    for part in ("train", "validation"):
        d = data.get(part)
        if d:
            sources = ", ".join(f"{k} ({v})" for k, v in d["sources"].items()) or "-"
            lines.append(f"| {part} | {d['clips']} | {len(d['glosses'])} | {len(d['signers'])} | {sources} |")
    for part in ("train", "validation"):
        d = data.get(part)
        if d:
            lines += ["", f"{part} signers: {', '.join(d['signers'])}", "", f"{part} glosses: {', '.join(d['glosses'])}"]
    lines += ["", "## Hyper-parameters", "", f"seed: {cfg['seed']}", "", "| name | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in sorted(cfg.items()) if k != "seed"]
    lines += ["", "## Validation", ""]
    if val:
        lines.append(
            f"Kept epoch {info['best_epoch']} of {info['epochs_run']} (early stopping on the validation signers' "
            f"cross-signer mAP@10). Cross-signer retrieval on the validation clips (cosine, own signer excluded):"
        )
        lines += ["", "| metric | value |", "|---|---|"] + [f"| {k} | {v:.4f} |" for k, v in sorted(val.items())]
    else:
        lines.append(f"No validation data: the weights after the last epoch ({info['best_epoch']}) are kept.")
    lines += ["", "Per-epoch numbers: `training.tsv`; figure: `curve.png`.", ""]
    return "\n".join(lines)
