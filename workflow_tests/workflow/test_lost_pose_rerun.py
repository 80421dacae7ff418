"""Issue 14, item 9 through Snakemake: after a successful pose stage, a `.pose` deleted by hand makes the next
run pose its shard again (it said "Nothing to be done" before), and only that shard."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from signsearch.layout import Layout
from workflow_utils import demo_config, job_counts, make_workdir, snakemake

pytestmark = pytest.mark.slow


def test_a_deleted_pose_reruns_its_shard(tmp_path: Path) -> None:
    work = make_workdir(tmp_path / "work", demo_config())
    layout = Layout(work / "results")
    targets = [str(layout.pose_index("demo", s).relative_to(work)) for s in ("s00000", "s00001")]
    snakemake(work, *targets)
    assert "Nothing to be done" in snakemake(work, "-n", *targets).stdout + snakemake(work, "-n", *targets).stderr

    rows = pq.read_table(layout.pose_index("demo", "s00000")).to_pylist()
    lost = work / rows[0]["pose_path"]
    lost.unlink()
    dry = snakemake(work, "-n", *targets)
    assert job_counts(dry) == {"synthesize_poses": 1}, dry.stdout[-2000:]
    snakemake(work, *targets)
    assert lost.is_file()
