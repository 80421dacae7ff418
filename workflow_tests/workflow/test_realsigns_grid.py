"""The evaluation grid on real signs (realsigns-a: 485 sequences, 12 glosses, 25 signers) through the workflow,
with the in-memory and the pgvector backends compared on the same vectors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from signsearch.embed.spec import model_spec
from signsearch.evaluate.cell import run_cell
from signsearch.layout import CELL_FILES, files_in
from workflow_utils import demo_config, make_workdir, snakemake, stop_database

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def grid_run(realsigns, tmp_path_factory):
    folder, _ = realsigns
    config = demo_config()
    config["datasets"] = {"realsigns": {"kind": "poses", "path": str(folder), "metadata": "metadata.csv", "shard_size": 100}}
    config["evaluate"]["subsets"] = {
        "full": {"kind": "all"},
        "test": {"kind": "split", "split": "test"},
        "12x10": {"kind": "random", "glosses": 12, "per_gloss": 10, "seed": 1},
    }
    work = make_workdir(tmp_path_factory.mktemp("realsigns-grid"), config)
    snakemake(work)
    yield work, config
    stop_database(work, config["database"]["data_dir"])


def test_grid_numbers_are_consistent(grid_run) -> None:
    work, _ = grid_run
    grid = pd.read_csv(work / "results/report/realsigns/grid.tsv", sep="\t").set_index(["subset", "variant"])
    for subset in ("full", "test", "12x10"):
        everything, cross = grid.loc[(subset, "all")], grid.loc[(subset, "cross_signer")]
        for metric in ("p_at_1", "p_at_5", "p_at_10", "map_at_10", "mrr_at_10", "r_at_10"):
            assert everything[f"{metric}"] > everything[f"{metric}_chance"], (subset, metric)
            assert cross[f"{metric}"] > cross[f"{metric}_chance"], (subset, metric)
        # the query's own signer's other takes are the easiest neighbours; without them it is harder
        assert cross["p_at_1"] <= everything["p_at_1"] and cross["map_at_10"] <= everything["map_at_10"]
    full = grid.loc[("full", "all")]
    assert full["videos"] == 485 and full["glosses"] == 12
    assert full["p_at_1"] > 0.7, "pose-baseline reaches about 0.85 P@1 on realsigns-a"
    dictionary = grid.loc[("full", "dictionary")]
    assert dictionary["top_1"] > dictionary["top_1_chance"] and dictionary["top_20"] == 1.0
    assert (work / "results/report/realsigns/grid_heatmap.png").stat().st_size > 5000


def test_pgvector_backend_agrees_with_memory(grid_run, tmp_path: Path) -> None:
    work, config = grid_run
    cell = work / "results/eval/realsigns/pose-baseline/full"
    outputs = files_in(tmp_path, CELL_FILES)
    settings = {**config["evaluate"], "backend": "pgvector"}
    import os

    cwd = os.getcwd()
    os.chdir(work)
    try:
        run_cell(manifest_path="results/realsigns/manifests/pose-baseline.parquet",
                 subset_path="results/eval/realsigns/subsets/full.tsv", outputs=outputs,
                 spec=model_spec("pose-baseline", config["models"]["pose-baseline"]), dataset="realsigns", settings=settings,
                 data_dir=config["database"]["data_dir"], registry_path="results/realsigns/registry.parquet")
    finally:
        os.chdir(cwd)
    memory = pd.read_parquet(cell / "neighbours.parquet")
    pgvector = pd.read_parquet(outputs["neighbours"])
    assert len(memory) == len(pgvector) == 485 * 10
    same = (memory["neighbour_video_id"].to_numpy() == pgvector["neighbour_video_id"].to_numpy())
    # ties aside: wherever the lists differ, the distances are equal to float32 precision
    np.testing.assert_allclose(memory["distance"], pgvector["distance"], rtol=1e-4, atol=1e-5)
    assert same.mean() > 0.99
    metrics = json.loads(Path(outputs["metrics"]).read_text())
    reference = json.loads((cell / "metrics.json").read_text())
    assert metrics["backend"] == "pgvector" and metrics["backend_agreement"] > 0.99
    for name, value in reference["variants"]["all"]["metrics"].items():
        assert metrics["variants"]["all"]["metrics"][name] == pytest.approx(value, abs=0.005), name
