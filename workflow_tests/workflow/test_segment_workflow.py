"""The segmentation stage in the workflow on real poses (the shared Croatian clips, no pose estimation): a segmented,
a trimmed and a whole-video dataset side by side; incremental like the other stages."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from signsearch import manifest
from signsearch.segment import DEFAULT_METHOD
from workflow_utils import demo_config, job_counts, make_workdir, snakemake

pytestmark = pytest.mark.slow

OLD_MANIFEST_COLUMNS = ["video_id", "dataset", "gloss", "signer", "split", "pose_path", "frames", "embedding", "model",
                        "model_fingerprint"]


def _metadata(croatian: Path, out: Path, takes: list[str], extra: int = 0) -> None:
    meta = pd.read_csv(croatian / "metadata.csv")
    meta = pd.concat([meta[meta["sample_id"].str[-4:].isin(takes)],
                      meta[~meta["sample_id"].str[-4:].isin(takes)].head(extra)])
    pd.DataFrame({"video_id": meta["sample_id"], "path": [str(croatian / p) for p in meta["pose_path"]],
                  "gloss": meta["gloss"], "signer": "hr", "split": "test"}).to_csv(out, index=False)


def test_segmented_trimmed_and_whole_datasets_side_by_side(testdata: Path, tmp_path: Path) -> None:
    croatian = testdata / "videos" / "croatian"
    model = testdata.parent / "models" / "sign-segmentation" / "model.pth"
    if not model.is_file():
        pytest.skip(f"segmentation model absent: {model}")
    table = tmp_path / "clips.csv"
    _metadata(croatian, table, ["0000", "0001"])  # 18 clips: two shards of 10 and 8
    config = demo_config()
    base = {"kind": "poses", "path": str(croatian), "metadata": str(table), "shard_size": 10}
    config["datasets"] = {"segmented": {**base, "segmentation": DEFAULT_METHOD}, "trimmed": {**base, "trim": True},
                          "whole": base}
    config["segmentation"] = {"model": str(model)}
    config["models"] = {"pose-baseline": config["models"]["pose-baseline"]}
    config["database"]["load"] = False
    config["evaluate"]["subsets"] = {}
    work = make_workdir(tmp_path / "work", config)
    run1 = job_counts(snakemake(work))
    assert run1["segment"] == 4 and run1["embed"] == 6 and run1["collect_segments"] == 2, run1
    assert not (work / "results/whole/segments").exists()

    whole = manifest.read(work / "results/whole/manifests/pose-baseline.parquet")
    assert whole.table.schema.names == OLD_MANIFEST_COLUMNS and len(whole.table) == 18

    trimmed = manifest.read(work / "results/trimmed/manifests/pose-baseline.parquet").table.to_pandas()
    assert list(trimmed["video_id"]) == list(trimmed["source_video_id"]) and trimmed["segment_index"].isna().all()
    assert (trimmed["start_frame"] > 0).sum() >= 9, "the Croatian clips carry idle frames at their starts"
    assert (trimmed["frames"] == trimmed["end_frame"] - trimmed["start_frame"]).all()
    assert trimmed["gloss"].notna().all()

    segmented = manifest.read(work / "results/segmented/manifests/pose-baseline.parquet").table.to_pandas()
    assert segmented["video_id"].str.contains("#").all() and segmented["source_video_id"].nunique() >= 17
    segments = pd.read_parquet(work / "results/segmented/segments.parquet")
    assert set(segments.columns) >= {"video_id", "segment_index", "unit_id", "start_frame", "end_frame", "start_s",
                                     "end_s", "confidence", "status", "reason"}
    assert (segments["status"] == "ok").sum() == len(segmented)

    # Three more clips land in a new shard: only that shard is segmented and embedded again.
    before = {p: p.stat().st_mtime_ns for p in sorted((work / "results").glob("*/segments/*.parquet"))}
    _metadata(croatian, table, ["0000", "0001"], extra=3)
    run2 = job_counts(snakemake(work))
    assert run2["segment"] == 2 and run2["embed"] == 3 and run2["import_poses"] == 3, run2
    assert {p: p.stat().st_mtime_ns for p in before} == before, "segment tables of unchanged shards were rewritten"
    assert job_counts(snakemake(work, "-n")) == {}
