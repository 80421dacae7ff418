"""Issue 11 end to end: a small `kind: trained` model on realsigns-a (train split = 4 signers in 5) next to
pose-baseline, in one snakemake call: train_model -> embed -> manifest -> database -> grid. Then what reruns it:
nothing (second run), adding a video to a dataset it was not trained on (no retraining), changing its epochs
(retraining, and its embeddings, not pose-baseline's)."""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest

from workflow_utils import demo_config, job_counts, make_workdir, snakemake, stop_database, write_config

pytestmark = pytest.mark.slow

MODEL = "tiny-trained"


def _config(folder, extra):
    config = demo_config()
    config["datasets"] = {
        "realsigns": {"kind": "poses", "path": str(folder), "metadata": "metadata.csv", "shard_size": 250},
        "extra": {"kind": "poses", "path": str(extra)},  # unlabelled, not trained on
    }
    config["models"][MODEL] = {
        "kind": "trained",
        "train": {"data": [{"dataset": "realsigns", "splits": ["train"]}], "size": "tiny", "epochs": 3,
                  "glosses_per_batch": 6, "clips_per_gloss": 4, "seed": 0},
    }
    config["evaluate"]["datasets"] = ["realsigns"]
    config["evaluate"]["subsets"] = {"full": {"kind": "all"}, "test": {"kind": "split", "split": "test"}}
    return config


@pytest.fixture(scope="module")
def trained_run(realsigns, tmp_path_factory):
    folder, table = realsigns
    extra = tmp_path_factory.mktemp("extra")
    for name in table["path"][:4]:
        shutil.copy(folder / name, extra / name)
    config = _config(folder, extra)
    work = make_workdir(tmp_path_factory.mktemp("train-run"), config)
    first = snakemake(work, timeout=1800)
    yield work, config, first, (folder, table, extra)
    stop_database(work, config["database"]["data_dir"])


def test_one_call_trains_embeds_and_evaluates(trained_run):
    work, _, first, _ = trained_run
    counts = job_counts(first)
    assert counts["train_model"] == 1 and counts["evaluate"] == 4, counts
    folder = work / "results" / "models" / MODEL
    for name in ("checkpoint.pt", "training.tsv", "curve.png", "model_card.md"):
        assert (folder / name).stat().st_size > 0, name
    assert (folder / "curve.png").read_bytes()[:4] == b"\x89PNG"
    card = (folder / "model_card.md").read_text()
    assert "realsigns/train" in card and "| validation |" in card and "seed: 0" in card
    assert len(pd.read_csv(folder / "training.tsv", sep="\t")) == 3
    assert (work / "results/realsigns/db" / f"{MODEL}.json").exists()

    grid = pd.read_csv(work / "results/report/realsigns/grid.tsv", sep="\t")
    assert set(grid["model"]) == {"pose-baseline", MODEL}
    flags = grid.groupby(["model", "subset"])["flagged"].first().to_dict()
    # Trained on the train split: `full` holds those videos, `test` does not; pose-baseline saw nothing.
    assert flags == {(MODEL, "full"): True, (MODEL, "test"): False,
                     ("pose-baseline", "full"): False, ("pose-baseline", "test"): False}, flags
    cross = grid[(grid["subset"] == "test") & (grid["variant"] == "cross_signer")].set_index("model")
    assert cross.loc[MODEL, "p_at_1"] > cross.loc[MODEL, "p_at_1_chance"]


def test_rerun_trains_nothing_and_other_datasets_do_not_retrain(trained_run):
    work, config, _, (_, table, extra) = trained_run
    again = snakemake(work, "-n")
    assert not job_counts(again), again.stdout[-2000:]  # nothing to do at all

    # A new video in a dataset the model was not trained on: its shard is posed and embedded, no retraining.
    shutil.copy(extra / table["path"][0], extra / "new-video.pose")
    plan = job_counts(snakemake(work, "-n"))
    assert plan["import_poses"] >= 1 and plan["embed"] >= 1, plan
    assert "train_model" not in plan, plan
    snakemake(work, timeout=900)

    # A training setting changed: Snakemake's params trigger retrains, and the model's embeddings follow.
    config["models"][MODEL]["train"]["epochs"] = 4
    write_config(work, config)
    proc = snakemake(work, "-n")
    plan = job_counts(proc)
    assert plan["train_model"] == 1, plan
    text = proc.stdout + proc.stderr
    embeds = re.findall(r"rule embed:.*?wildcards: dataset=(\S+), model=(\S+), shard=(\w+)", text, re.S)
    assert "import_poses" not in plan and plan["embed"] == len(embeds) > 0, plan
    assert {model for _, model, _ in embeds} == {MODEL}, embeds  # its embeddings follow, not pose-baseline's
    assert {ds for ds, _, _ in embeds} == {"realsigns", "extra"}, embeds
    assert "params" in text.lower().split("rule train_model:", 1)[1].split("\n\n", 1)[0], text[-3000:]
