"""Every path under ``results/``: the one place that spells them (the rules, the package and the web app ask here).

Each method returns a `Path`; called with wildcard names (``"{dataset}"``) it gives the Snakemake pattern of the
same file, so a rule and the code that reads its output cannot disagree. To add a stage's outputs, add a method
here (and, for a folder of fixed file names, a ``*_FILES`` table like `CELL_FILES`).

    results/<dataset>/registry.parquet, dataset.json, shards/<shard>.tsv       the video registry
    results/<dataset>/poses/<shard>/<video>.pose, poses/<shard>.parquet       pose files and shard indexes
    results/<dataset>/poses.parquet, failures.tsv                            the dataset's pose index
    results/<dataset>/previews/<shard>/<video>.mp4, previews/<shard>.parquet browser-playable previews and index
    results/<dataset>/segments/<shard>.parquet, segments.parquet             sign segments / trim ranges
    results/<dataset>/embeddings/<model>/<shard>/<video>.npy, <shard>.parquet vectors and shard indexes
    results/<dataset>/manifests/<model>.parquet, db/<model>.json             manifests and load receipts
    results/models/<model>/{MODEL_FILES}                                     a trained model (train_model rule)
    results/eval/<dataset>/subsets/<subset>.tsv                              subset id files
    results/eval/<dataset>/<model>/<subset>/{CELL_FILES}                     one grid cell
    results/cache/evaluate/<dataset>/<model>/<subset>.npz                    a cell's incremental cache
    results/continuous/<dataset>/<protocol>/<model>/{CONTINUOUS_FILES}        one continuous-search protocol
    results/report/<dataset>/{REPORT_FILES}, report/report.html              the grid and the HTML report
    results/report/<dataset>/continuous.tsv                                  the continuous-search table
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from signsearch.datasets.ids import file_stem

# One evaluation cell's files, by the names the evaluate rule gives its outputs.
CELL_FILES = {
    "metrics": "metrics.json",
    "table": "metrics.tsv",
    "neighbours": "neighbours.parquet",
    "confusions": "confusions.tsv",
    "per_gloss": "per_gloss.tsv",
}
# A trained model's folder, by the names the train_model rule gives its outputs (train.api writes them).
MODEL_FILES = {
    "checkpoint": "checkpoint.pt",
    "table": "training.tsv",
    "curve": "curve.png",
    "card": "model_card.md",
}
# One continuous-search protocol x model, by the names the continuous rule gives its outputs.
CONTINUOUS_FILES = {"metrics": "metrics.json", "hits": "hits.parquet", "videos": "videos.tsv"}
# One dataset's grid report, by the names the grid rule gives its outputs.
REPORT_FILES = {
    "table": "grid.tsv",
    "heatmap": "grid_heatmap.png",
    "bars": "metric_bars.png",
    "confusions": "top_confusions.png",
    "skipped": "skipped.tsv",  # cells not evaluated: dataset, model, subset, reason
}


def files_in(folder: Path, names: dict[str, str]) -> dict[str, Path]:
    """A folder's fixed files by role (`CELL_FILES`, `REPORT_FILES`)."""
    return {role: Path(folder) / name for role, name in names.items()}


@dataclass(frozen=True)
class Layout:
    """The results tree under `root` (the workflow, the CLI and the web app use ``results`` in the working dir)."""

    root: Path = Path("results")

    # -- per dataset: registry and shards ---------------------------------------------------------------------------
    def dataset_dir(self, dataset: str) -> Path:
        return Path(self.root) / dataset

    def registry(self, dataset: str) -> Path:
        return self.dataset_dir(dataset) / "registry.parquet"

    def dataset_record(self, dataset: str) -> Path:
        return self.dataset_dir(dataset) / "dataset.json"

    def registered_datasets(self) -> list[str]:
        """Datasets with a registry on disk (ingested by the workflow)."""
        found = Path(self.root).glob("*/registry.parquet")
        return sorted(p.parent.name for p in found if not p.parent.name.startswith("."))

    def shard_tables_dir(self, dataset: str) -> Path:
        return self.dataset_dir(dataset) / "shards"

    def shard_table(self, dataset: str, shard: str) -> Path:
        return self.shard_tables_dir(dataset) / f"{shard}.tsv"

    # -- poses ------------------------------------------------------------------------------------------------------
    def pose_file(self, dataset: str, shard: str, video_id: str) -> Path:
        """Where an estimated or synthetic pose goes (existing .pose datasets are used in place)."""
        return self.dataset_dir(dataset) / "poses" / shard / f"{file_stem(video_id)}.pose"

    def pose_index(self, dataset: str, shard: str) -> Path:
        return self.dataset_dir(dataset) / "poses" / f"{shard}.parquet"

    def poses(self, dataset: str) -> Path:
        """The dataset's pose index (every shard index concatenated)."""
        return self.dataset_dir(dataset) / "poses.parquet"

    def failures(self, dataset: str) -> Path:
        return self.dataset_dir(dataset) / "failures.tsv"

    # -- previews (browser-playable copies of the source videos, for the web app) ----------------------------------
    def preview_file(self, dataset: str, shard: str, video_id: str, suffix: str = ".mp4") -> Path:
        """A video's preview; `suffix` is `signsearch.media.preview.PREVIEW_SUFFIX` (.webm without libx264)."""
        return self.dataset_dir(dataset) / "previews" / shard / f"{file_stem(video_id)}{suffix}"

    def preview_dir(self, dataset: str, shard: str) -> Path:
        return self.dataset_dir(dataset) / "previews" / shard

    def preview_index(self, dataset: str, shard: str) -> Path:
        return self.dataset_dir(dataset) / "previews" / f"{shard}.parquet"

    # -- segments (segmented or trimmed datasets) -------------------------------------------------------------------
    def segment_index(self, dataset: str, shard: str) -> Path:
        """One shard's sign segments (or trim ranges); columns in `signsearch.segment.shard.SEGMENT_SCHEMA`."""
        return self.dataset_dir(dataset) / "segments" / f"{shard}.parquet"

    def segments(self, dataset: str) -> Path:
        """The dataset's segment table (every shard's concatenated)."""
        return self.dataset_dir(dataset) / "segments.parquet"

    # -- embeddings, manifests, database ----------------------------------------------------------------------------
    def embedding_index(self, dataset: str, model: str, shard: str) -> Path:
        return self.dataset_dir(dataset) / "embeddings" / model / f"{shard}.parquet"

    def embedding_vector(self, dataset: str, model: str, shard: str, video_id: str) -> Path:
        return self.dataset_dir(dataset) / "embeddings" / model / shard / f"{file_stem(video_id)}.npy"

    def manifest(self, dataset: str, model: str) -> Path:
        return self.dataset_dir(dataset) / "manifests" / f"{model}.parquet"

    def manifests(self, dataset: str) -> dict[str, Path]:
        """The manifests on disk, by model."""
        return {p.stem: p for p in sorted((self.dataset_dir(dataset) / "manifests").glob("*.parquet"))}

    def datasets_with_manifests(self) -> set[str]:
        return {p.parent.parent.name for p in Path(self.root).glob("*/manifests/*.parquet")}

    def db_receipt(self, dataset: str, model: str) -> Path:
        return self.dataset_dir(dataset) / "db" / f"{model}.json"

    def any_db_receipt(self) -> bool:
        """Has any load ever been recorded here (the database was filled before)?"""
        return any(Path(self.root).glob("*/db/*.json"))

    # -- trained models ---------------------------------------------------------------------------------------------
    def model_dir(self, model: str) -> Path:
        return Path(self.root) / "models" / model

    def model_files(self, model: str) -> dict[str, Path]:
        """A trained model's checkpoint, per-epoch table, training curve and model card."""
        return files_in(self.model_dir(model), MODEL_FILES)

    # -- evaluation -------------------------------------------------------------------------------------------------
    def eval_dir(self, dataset: str) -> Path:
        return Path(self.root) / "eval" / dataset

    def subset(self, dataset: str, subset: str) -> Path:
        return self.eval_dir(dataset) / "subsets" / f"{subset}.tsv"

    def cell_dir(self, dataset: str, model: str, subset: str) -> Path:
        return self.eval_dir(dataset) / model / subset

    def cell(self, dataset: str, model: str, subset: str) -> dict[str, Path]:
        return files_in(self.cell_dir(dataset, model, subset), CELL_FILES)

    def eval_cache(self, dataset: str, model: str, subset: str) -> Path:
        """A cell's per-query cache (`signsearch.evaluate.incremental`): not a workflow output, so Snakemake keeps
        it across reruns of the cell (and outside eval/, whose folders are model/subset cells)."""
        return Path(self.root) / "cache" / "evaluate" / dataset / model / f"{subset}.npz"

    def cells(self, dataset: str) -> list[tuple[str, str, Path]]:
        """(model, subset, folder) of every evaluated cell on disk."""
        found = sorted(self.eval_dir(dataset).glob(f"*/*/{CELL_FILES['metrics']}"))
        return [(p.parent.parent.name, p.parent.name, p.parent) for p in found]

    def continuous_cell(self, dataset: str, protocol: str, model: str) -> dict[str, Path]:
        """One continuous-search protocol's files for one model (`signsearch.evaluate.continuous`); `dataset` is
        the protocol's segmented dataset (outside eval/, whose folders are model/subset cells)."""
        return files_in(Path(self.root) / "continuous" / dataset / protocol / model, CONTINUOUS_FILES)

    def continuous_table(self, dataset: str) -> Path:
        """The continuous-search table of a segmented dataset: one row per protocol and model."""
        return self.report_dir(dataset) / "continuous.tsv"

    def report_dir(self, dataset: str) -> Path:
        return Path(self.root) / "report" / dataset

    def report(self, dataset: str) -> dict[str, Path]:
        return files_in(self.report_dir(dataset), REPORT_FILES)

    def report_figures(self, dataset: str) -> dict[str, Path]:
        """The report's figures by file stem (``grid_heatmap``, ...)."""
        return {p.stem: p for p in self.report(dataset).values() if p.suffix == ".png"}

    def evaluated_datasets(self) -> list[str]:
        """Datasets with a report or evaluation folder."""
        names: set[str] = set()
        for base in (Path(self.root) / "report", Path(self.root) / "eval"):
            if base.is_dir():
                names |= {p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")}
        return sorted(names)

    def html_report(self) -> Path:
        return Path(self.root) / "report" / "report.html"
