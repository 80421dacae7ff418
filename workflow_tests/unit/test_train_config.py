"""The `trained` model kind as the workflow sees it: schema and defaults, the spec (checkpoint path, leakage flags
from the training config), loading, the records the train_model job reads, and the per-model cluster resources."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from signsearch import config as ss_config
from signsearch.cluster import model_job_resources
from signsearch.datasets import synthetic
from signsearch.embed.factory import available_models, load_embedder
from signsearch.embed.spec import ModelUnavailable, model_spec
from signsearch.errors import UserError
from signsearch.layout import MODEL_FILES, Layout
from signsearch.train.from_config import SIZES, train_config, training_sets
from signsearch.train.loop import TrainConfig

REPO = Path(__file__).resolve().parents[2]


def _config(**train) -> dict:
    entry = {"kind": "trained", "train": {"data": [{"dataset": "d", "splits": ["train"]}], **train}}
    return ss_config.validate({"datasets": {"d": {"kind": "synthetic"}}, "models": {"t": entry}})


def test_schema_fills_training_defaults_and_requires_train():
    assert (REPO / "config" / "schema.yaml").resolve() == (REPO / "src/signsearch/schemas/config.schema.yaml")
    train = _config()["models"]["t"]["train"]
    assert train["validation"] == {"splits": [], "hold_out_signers": 0.2}
    assert (train["size"], train["seed"], train["loss"], train["glosses_per_batch"], train["clips_per_gloss"]) == (
        "small", 0, "supcon", 8, 4)
    defaults = TrainConfig()
    assert (train["epochs"], train["lr"], train["patience"]) == (defaults.epochs, defaults.lr, defaults.patience)
    with pytest.raises(ss_config.ConfigError, match="'train' is a required property"):
        ss_config.validate({"datasets": {"d": {"kind": "synthetic"}}, "models": {"t": {"kind": "trained"}}})
    with pytest.raises(ss_config.ConfigError, match="models/t/train"):
        _config(epoch=3)  # a typo is an error, not a silently ignored key
    # Other kinds get no `train` block, so their jobs' params (and results) stay as they were.
    plain = ss_config.validate({"datasets": {"d": {"kind": "synthetic"}}, "models": {"b": {"kind": "pose-baseline"}}})
    assert "train" not in plain["models"]["b"]


def test_every_training_key_is_documented():
    models = ss_config.schema()["properties"]["models"]["additionalProperties"]["properties"]
    train = models["train"]["properties"]
    keys = {**train, **train["validation"]["properties"], **train["data"]["items"]["properties"]}
    assert all("description" in v for v in keys.values()), [k for k, v in keys.items() if "description" not in v]
    missing = [k for k, v in keys.items() if "default" not in v and k not in ("data", "dataset")]
    assert not missing, missing


def test_spec_points_at_the_layout_checkpoint_and_flags_training_data():
    cfg = _config(validation={"splits": ["val"]})
    spec = model_spec("t", cfg["models"]["t"])
    assert spec.files["checkpoint"] == Layout().model_files("t")["checkpoint"] == Path("results/models/t/checkpoint.pt")
    assert spec.missing_files() == [] and "t" in available_models({"t": spec}, announce=False)
    assert spec.training_datasets == ["d"]
    assert spec.saw_in_training("d", ["train", "test"]) and spec.saw_in_training("d", ["val"])
    assert not spec.saw_in_training("d", ["test"]) and not spec.saw_in_training("other", ["train"])
    whole = model_spec("w", {"kind": "trained", "train": {"data": [{"dataset": "d"}]}})
    assert whole.saw_in_training("d", ["test"])  # trained on every split: every cell on it is flagged


def test_loading_before_training_says_how_to_train(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = model_spec("t", _config()["models"]["t"])
    with pytest.raises(ModelUnavailable, match="train_model") as err:
        load_embedder(spec)
    assert isinstance(err.value, UserError)


def test_sizes_map_to_the_architecture():
    cfg = _config(size="tiny", epochs=2, lr=0.01, seed=3, glosses_per_batch=5, clips_per_gloss=3)["models"]["t"]["train"]
    tc = train_config(cfg, threads=1)
    assert (tc.width, tc.depth, tc.dim) == (64, 1, 64) and tc.architecture().heads == 4
    assert (tc.epochs, tc.lr, tc.seed, tc.glosses_per_batch, tc.clips_per_gloss, tc.threads) == (2, 0.01, 3, 5, 3, 1)
    assert all(s["width"] % TrainConfig().heads == 0 for s in SIZES.values())


def _dataset(tmp_path: Path, rows: list[dict]) -> tuple[Path, Path]:
    reg, poses = tmp_path / "registry.parquet", tmp_path / "poses.parquet"
    pq.write_table(pa.Table.from_pandas(pd.DataFrame(rows)[["video_id", "gloss", "signer", "split"]]), reg)
    status = ["failed" if r["video_id"] == "bad" else "ok" for r in rows]
    pq.write_table(pa.Table.from_pandas(pd.DataFrame(
        {"video_id": [r["video_id"] for r in rows], "pose_path": [f"{r['video_id']}.pose" for r in rows], "status": status})), poses)
    return reg, poses


def test_training_sets_use_validation_splits_or_hold_out_signers(tmp_path):
    rows = [{"video_id": f"{g}-{s}-{split}", "gloss": g, "signer": s, "split": split}
            for g in ("a", "b") for s in ("p1", "p2", "p3", "p4", "p5") for split in ("train",)]
    rows += [{"video_id": f"v-{g}-{s}", "gloss": g, "signer": s, "split": "val"} for g in ("a", "b") for s in ("q1", "q2")]
    rows += [{"video_id": "nolabel", "gloss": None, "signer": "p1", "split": "train"},
             {"video_id": "bad", "gloss": "a", "signer": "p1", "split": "train"},
             {"video_id": "t1", "gloss": "a", "signer": "z", "split": "test"}]
    reg, poses = _dataset(tmp_path, rows)
    train = _config(validation={"splits": ["val"]})["models"]["t"]["train"]
    records, validation = training_sets("t", train, {"d": reg}, {"d": poses})
    assert len(records) == 10 and len(validation) == 4  # unlabelled, failed-pose and test rows left out
    assert {r.split for r in records} == {"train"} and {r.dataset for r in records} == {"d"}
    assert str(records[0].source).endswith(".pose")
    held = _config()["models"]["t"]["train"]
    records, validation = training_sets("t", held, {"d": reg}, {"d": poses})
    assert len(validation) == 2 and not {r.signer for r in records} & {r.signer for r in validation}
    with pytest.raises(ss_config.ConfigError, match="both training and validation"):
        training_sets("t", _config(data=[{"dataset": "d", "splits": ["val"]}], validation={"splits": ["val"]})
                      ["models"]["t"]["train"], {"d": reg}, {"d": poses})


@pytest.mark.parametrize("gpu", [False, True])
def test_cpu_models_never_ask_for_the_gpu_partition(gpu):
    cluster = ss_config.validate({"datasets": {"d": {"kind": "synthetic"}}, "models": {"b": {"kind": "pose-baseline"}},
                                  "cluster": {"cpu_partition": "cpu", "gpu_partition": "gpu"}})["cluster"]
    res = model_job_resources(gpu, cluster)
    assert res == ({"gpu": 1, "slurm_partition": "gpu"} if gpu else {"gpu": 0, "slurm_partition": "cpu"})
    unset = model_job_resources(gpu, {"cpu_partition": "", "gpu_partition": ""})
    assert unset["slurm_partition"] == ""  # "": the plugin submits to the cluster's default partition


def test_synthetic_records_train_end_to_end(tmp_path):
    """run_training on a registry + pose index as the workflow writes them (tiny, 2 epochs)."""
    from signsearch.train.from_config import run_training

    rows = []
    for g in range(3):
        for s in range(4):
            path = tmp_path / f"g{g}s{s}.pose"
            with open(path, "wb") as handle:
                synthetic.build_pose(0, g, s, 0).write(handle)
            rows.append({"video_id": path.stem, "gloss": f"g{g}", "signer": f"s{s}", "split": "train"})
    reg, poses = _dataset(tmp_path, rows)
    pq.write_table(pa.Table.from_pandas(pd.DataFrame({"video_id": [r["video_id"] for r in rows],
                   "pose_path": [str(tmp_path / f"{r['video_id']}.pose") for r in rows], "status": "ok"})), poses)
    train = _config(size="tiny", epochs=2, glosses_per_batch=3, clips_per_gloss=2,
                    validation={"hold_out_signers": 0.4})["models"]["t"]["train"]
    out = tmp_path / "models" / "t"
    result = run_training("t", train, {"d": reg}, {"d": poses}, out, threads=1)
    assert result.checkpoint == out / MODEL_FILES["checkpoint"]
    assert all((out / name).stat().st_size > 0 for name in MODEL_FILES.values())
    assert "| train | 6 |" in (out / MODEL_FILES["card"]).read_text()
