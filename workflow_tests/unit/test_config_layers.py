"""Config layering (issue 12.1, 12.3, 16.8): config/config.yaml is a neutral base, the demo lives in
config/demo.yaml and is read only when no config file of the user's is given; `name: null` drops an entry; the
CLI (validate, serve, every command) reads exactly that layering, with --config before or after the subcommand."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from signsearch import cli
from signsearch import config as ss_config
from signsearch.web import app as web_app

REPO = Path(__file__).resolve().parents[2]
DEMO_SUBSETS = ["20x5", "400x10", "test", "full"]


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with the repository's config/ and a user's mine.yaml naming one folder dataset."""
    (tmp_path / "config").symlink_to(REPO / "config")
    videos = tmp_path / "videos"
    videos.mkdir()
    for name in ("HOUSE.mp4", "SOUP.mp4"):
        (videos / name).write_bytes(b"")
    mine = {"datasets": {"mine": {"kind": "folder", "path": str(videos)}},
            "evaluate": {"subsets": {"everything": {"kind": "all"}}}}
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(mine))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SIGNSEARCH_CONFIG", raising=False)
    return tmp_path


def test_bare_run_is_the_demo(project: Path) -> None:
    config = ss_config.load()
    assert list(config["datasets"]) == ["demo"]
    assert list(config["evaluate"]["subsets"]) == DEMO_SUBSETS


def test_users_config_runs_only_its_datasets_and_subsets(project: Path) -> None:
    config = ss_config.load("mine.yaml")
    assert list(config["datasets"]) == ["mine"]
    assert list(config["evaluate"]["subsets"]) == ["everything"]
    assert list(config["models"]) == ["pose-baseline"]  # from the base


def test_base_names_no_dataset_and_no_subset() -> None:
    base = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    assert "datasets" not in base and "subsets" not in base["evaluate"]


def test_without_subsets_the_grid_has_full(project: Path) -> None:
    Path("nosubsets.yaml").write_text(yaml.safe_dump({"datasets": yaml.safe_load(Path("mine.yaml").read_text())["datasets"]}))
    assert ss_config.load("nosubsets.yaml")["evaluate"]["subsets"] == {"full": {"kind": "all", "seed": 0}}


def test_null_drops_a_subset_a_dataset_and_a_model(project: Path) -> None:
    Path("drop.yaml").write_text("evaluate:\n  subsets:\n    test: null\n    20x5: null\n"
                                 "datasets:\n  extra: null\n")
    config = ss_config.load(["config/demo.yaml", "drop.yaml"])
    assert list(config["evaluate"]["subsets"]) == ["400x10", "full"]
    assert list(config["datasets"]) == ["demo"]
    Path("nomodel.yaml").write_text("models:\n  pose-baseline: null\n  other: {kind: pose-baseline}\n")
    assert list(ss_config.load(["mine.yaml", "nomodel.yaml"])["models"]) == ["other"]
    raw = {"datasets": {"demo": {"kind": "synthetic"}, "gone": None}, "models": {"m": {"kind": "pose-baseline"}},
           "evaluate": {"subsets": {"full": {"kind": "all"}, "test": None}}}
    assert list(ss_config.validate(raw)["evaluate"]["subsets"]) == ["full"]  # the schema no longer refuses null


def test_files_then_overrides_as_snakemake(project: Path) -> None:
    Path("k5.yaml").write_text("evaluate: {k: 5}\nshard_size: 9\n")
    config = ss_config.load(["mine.yaml", "shard_size=7", "k5.yaml"])  # overrides apply after every file
    assert (config["shard_size"], config["evaluate"]["k"]) == (7, 5)
    assert ss_config.parse_override("database={load: False}") == {"database": {"load": "False"}}  # Snakemake's BaseLoader
    assert ss_config.parse_override("flag=True") == {"flag": True}
    with pytest.raises(ss_config.ConfigError, match="KEY=VALUE"):
        ss_config.load(["evaluate.k=3"])


def test_environment_names_the_files(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNSEARCH_CONFIG", "mine.yaml")
    assert list(ss_config.load()["datasets"]) == ["mine"]


@pytest.mark.parametrize("argv", [
    ["--config", "mine.yaml", "validate"],
    ["validate", "--config", "mine.yaml"],
    ["--configfile", "mine.yaml", "validate", "--config", "shard_size=3"],
])
def test_validate_reads_the_layered_config(project: Path, argv: list[str], capsys: pytest.CaptureFixture) -> None:
    assert cli.main(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "dataset 'mine' (folder): 2 videos" in out and "demo" not in out


def test_validate_error_names_every_layer(project: Path, capsys: pytest.CaptureFixture) -> None:
    Path("bad.yaml").write_text("evaluate: {k: 0}\n")
    assert cli.main(["validate", "--config", "mine.yaml", "--config", "bad.yaml"]) == 2
    err = capsys.readouterr().err
    assert "config/config.yaml + mine.yaml + bad.yaml: invalid value at 'evaluate/k'" in err


def test_serve_reads_the_layered_config(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}
    monkeypatch.setattr(web_app, "serve", lambda config_path, **_: seen.setdefault("source", config_path))
    assert cli.main(["serve", "--config", "mine.yaml", "--port", "0"]) == 0
    backend = web_app.create_app(seen["source"]).extensions["signsearch"].backend
    config, notice = backend.config()
    assert notice is None and list(config["datasets"]) == ["mine"]
