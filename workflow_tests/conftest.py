"""Shared fixtures. Real test material lives outside the project; SIGNSEARCH_TESTDATA points at it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _testdata_root() -> Path | None:
    env = os.environ.get("SIGNSEARCH_TESTDATA")
    return Path(env) if env else None


@pytest.fixture(scope="session")
def testdata() -> Path:
    root = _testdata_root()
    if root is None or not root.is_dir():
        pytest.skip("real test material absent: set SIGNSEARCH_TESTDATA to ../shared/testdata")
    return root


@pytest.fixture(scope="session")
def realsigns(testdata: Path, tmp_path_factory: pytest.TempPathFactory):
    """realsigns-a as a folder of .pose files (converted with the folder's own npz_to_pose.py) and its metadata,
    with a `split` by signer (every fifth signer is test), so the test subset and dictionary protocol apply."""
    import importlib.util

    import pandas as pd

    root = testdata / "realsigns-a"
    if not (root / "metadata.csv").is_file():
        pytest.skip("realsigns-a absent from the test material")
    spec = importlib.util.spec_from_file_location("realsigns_npz_to_pose", root / "npz_to_pose.py")
    converter = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(converter)
    meta = pd.read_csv(root / "metadata.csv")
    out = tmp_path_factory.mktemp("realsigns-pose")
    for row in meta.itertuples():
        converter.convert(str(root / row.path), str(out / f"{row.sample_id}.pose"))
    signers = sorted(meta["signer"].unique())
    test_signers = set(signers[::5])
    table = pd.DataFrame({
        "video_id": meta["sample_id"], "path": meta["sample_id"] + ".pose", "gloss": meta["gloss"],
        "signer": meta["signer"], "split": ["test" if s in test_signers else "train" for s in meta["signer"]],
    })
    table.to_csv(out / "metadata.csv", index=False)
    return out, table


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory):
    """The demo workflow run once in a temporary work dir (its embedded database stopped at the end)."""
    from workflow_utils import demo_config, make_workdir, snakemake, stop_database

    work = make_workdir(tmp_path_factory.mktemp("demo-run"), demo_config())
    snakemake(work)
    yield work
    stop_database(work, "results/database/pgdata")
