"""The continuous-search protocol through the workflow (rules `continuous` and `continuous_table`): long pose files
built from the shared Croatian clips' poses (no MediaPipe run: a `poses` dataset, segmented by hand activity),
queried by the clips themselves, each in the takes it is not part of."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from pose_format import Pose

from signsearch.segment.concat import concat_poses
from workflow_utils import demo_config, make_workdir, snakemake

pytestmark = pytest.mark.slow


def test_continuous_protocol_table(testdata: Path, tmp_path: Path) -> None:
    croatian = testdata / "videos" / "croatian"
    if not (croatian / "poses").is_dir():
        pytest.skip(f"Croatian poses absent: {croatian / 'poses'}")
    meta = pd.read_csv(croatian / "metadata.csv")
    meta["take"] = meta["path"].str.extract(r"/(\d{4})\.mp4$")[0]
    long_dir = tmp_path / "long"
    long_dir.mkdir()
    truth = []
    for take, clips in meta.groupby("take"):
        joined, true = concat_poses([Pose.read((croatian / p).read_bytes()) for p in clips["pose_path"]],
                                    list(clips["gloss"]), list(clips["sample_id"]))
        with open(long_dir / f"take{take}.pose", "wb") as fh:
            joined.write(fh)
        truth += [{"video_id": f"take{take}", "start_s": t.start_s, "end_s": t.end_s, "start_frame": t.start_frame,
                   "end_frame": t.end_frame, "gloss": t.label, "source_video_id": t.source, "source_path": "",
                   "signer": "one", "group": take} for t in true]
    pd.DataFrame(truth).to_csv(tmp_path / "truth.csv", index=False)
    pd.DataFrame({"sample_id": meta["sample_id"], "path": meta["pose_path"], "gloss": meta["gloss"],
                  "signer": "one"}).to_csv(tmp_path / "clips.csv", index=False)

    config = demo_config()
    config["datasets"] = {
        "long": {"kind": "poses", "path": str(long_dir), "segmentation": "activity"},
        "clips": {"kind": "poses", "path": str(croatian), "metadata": str(tmp_path / "clips.csv")},
    }
    config["models"] = {"pose-baseline": config["models"]["pose-baseline"]}
    config["database"]["load"] = False
    config["evaluate"]["subsets"] = {}
    config["evaluate"]["continuous"] = {"takes": {"dataset": "long", "truth": str(tmp_path / "truth.csv"), "queries": "clips"}}
    work = make_workdir(tmp_path / "work", config)
    snakemake(work, "results/report/long/continuous.tsv")

    row = pd.read_csv(work / "results/report/long/continuous.tsv", sep="\t").iloc[0]
    print("\n" + row.to_string())
    assert (row["protocol"], row["model"], row["exclude"]) == ("takes", "pose-baseline", "source_video")
    assert row["long_videos"] == 3 and row["true_segments"] == 27 and row["evaluated_queries"] == 27
    assert row["segment_f1"] >= 0.8
    for criterion in ("iou", "centre"):
        assert row[f"timed_hit_{criterion}_at_5"] >= 7 / 9
        assert row[f"timed_hit_{criterion}_at_1"] > row[f"timed_hit_{criterion}_at_1_chance"]
    cell = work / "results/continuous/long/takes/pose-baseline"
    assert json.loads((cell / "metrics.json").read_text())["counts"]["candidate_segments"] == row["candidate_segments"]
    assert pd.read_parquet(cell / "hits.parquet")["query_video_id"].nunique() == 27
