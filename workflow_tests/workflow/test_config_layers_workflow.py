"""Snakemake and the CLI read the same config (issue 12.1, 12.3): in a folder laid out as a fresh clone, a bare
`snakemake` plans the demo, `--configfile mine.yaml` plans only mine.yaml's dataset and subsets, and for every
layering (files, `name: null`, --config overrides) the datasets and subsets Snakemake plans are the ones
`signsearch.config.load` returns for the same arguments."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from signsearch import config as ss_config
from workflow_utils import REPO, WORKFLOW_ENTRIES, snakemake

pytestmark = pytest.mark.slow
SUBSET_FILE = re.compile(r"results/eval/([^/\s]+)/subsets/(\S+)\.tsv")


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("clone")
    for entry in (*WORKFLOW_ENTRIES, "config"):
        os.symlink(REPO / entry, root / entry)
    videos = root / "videos"
    videos.mkdir()
    for name in ("HOUSE.mp4", "SOUP.mp4", "SAD.mp4"):
        (videos / name).write_bytes(b"")
    (root / "mine.yaml").write_text(yaml.safe_dump({
        "datasets": {"mine": {"kind": "folder", "path": str(videos)}},
        "evaluate": {"subsets": {"everything": {"kind": "all"}}},
        "database": {"load": False},
    }))
    (root / "drop.yaml").write_text("evaluate:\n  subsets:\n    test: null\n    400x10: null\n")
    return root


def planned(clone: Path, *args: str) -> set[tuple[str, str]]:
    """(dataset, subset) of every subset table a dry run would make."""
    proc = snakemake(clone, "-n", *args)
    return set(SUBSET_FILE.findall(proc.stdout + proc.stderr))


def loaded(clone: Path, source: list[str]) -> set[tuple[str, str]]:
    cwd = Path.cwd()
    os.chdir(clone)
    try:
        config = ss_config.load(source)
    finally:
        os.chdir(cwd)
    return {(ds, sub) for ds, cfg in config["datasets"].items() if cfg["active"] for sub in config["evaluate"]["subsets"]}


def test_bare_snakemake_plans_the_demo(clone: Path) -> None:
    demo = {("demo", s) for s in ("20x5", "400x10", "test", "full")}
    assert planned(clone) == demo == loaded(clone, [])


def test_users_configfile_plans_only_its_own(clone: Path) -> None:
    assert planned(clone, "--configfile", "mine.yaml") == {("mine", "everything")} == loaded(clone, ["mine.yaml"])


@pytest.mark.parametrize("files, overrides", [
    (["config/demo.yaml", "drop.yaml"], []),
    (["mine.yaml", "config/demo.yaml"], []),
    (["mine.yaml"], ["shard_size=2"]),
])
def test_cli_and_snakemake_agree(clone: Path, files: list[str], overrides: list[str]) -> None:
    args = ["--configfile", *files] + (["--config", *overrides] if overrides else [])
    assert planned(clone, *args) == loaded(clone, files + overrides)
