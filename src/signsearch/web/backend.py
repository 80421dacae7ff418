"""What the web app reads: the config, the dataset registries and the database, each failing into a `Notice`
(a message plus the command to run) instead of an error page.

Paths in the config and the registries are relative to the working directory, as for the CLI and the workflow.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from signsearch.config import ConfigSource
from signsearch.layout import Layout
from signsearch.search import VIDEO_SUFFIXES, Poser

if TYPE_CHECKING:
    from signsearch.pose.workers import WarmWorkers

VIDEO_KINDS = ("folder", "asl_citizen")  # dataset kinds whose rows are video files (rules/common.smk: the same)
PREVIEW_SUFFIXES = (".mp4", ".webm")  # signsearch.media.preview writes one of them (PREVIEW_SUFFIX)

HINT_BUILD = "make demo   (or: snakemake --cores 2)"
HINT_DB = "signsearch db start"


@dataclass(frozen=True)
class Notice:
    """A message for the page: what is wrong and what to run about it."""

    text: str
    hint: str | None = None
    level: str = "warning"  # "warning" or "error"


@dataclass
class DbState:
    ok: bool
    models: dict[str, list[str]] = field(default_factory=dict)  # dataset -> models loaded in the database
    notice: Notice | None = None


class Backend:
    def __init__(self, config_path: ConfigSource = None, results_dir: str | os.PathLike[str] = "results"):
        self.config_path = config_path
        self.layout = Layout(Path(results_dir))
        self._search_lock = threading.Lock()  # pose estimation is CPU-heavy: one upload at a time
        self._query_workers: WarmWorkers | None = None

    # -- config -------------------------------------------------------------------------------------------------
    def config(self) -> tuple[dict[str, Any] | None, Notice | None]:
        from signsearch import config as ss_config

        try:
            return ss_config.load(self.config_path), None
        except Exception as exc:  # ConfigError and anything else: show it, keep serving
            return None, Notice(f"configuration problem: {exc}", "signsearch --config FILE serve", "error")

    # -- registries -----------------------------------------------------------------------------------------------
    def registry(self, dataset: str) -> pd.DataFrame | None:
        path = self.layout.registry(dataset)
        if not _safe_name(dataset) or not path.is_file():
            return None
        stat = path.stat()
        return _read_registry(str(path), stat.st_mtime_ns, stat.st_size)

    def registry_row(self, dataset: str, video_id: str) -> dict[str, Any] | None:
        reg = self.registry(dataset)
        if reg is None:
            return None
        path = self.layout.registry(dataset)
        stat = path.stat()  # cards look rows up several times each: a cached id -> row position, not a column scan
        at = _registry_positions(str(path), stat.st_mtime_ns, stat.st_size).get(str(video_id))
        return None if at is None else _clean(reg.iloc[at].to_dict())

    def _listed_file(self, dataset: str, video_id: str, column: str) -> Path | None:
        """A file named by a registry row, if it exists; never any other file."""
        row = self.registry_row(dataset, video_id)
        path = Path(row[column]) if row and row.get(column) else None
        return path if path is not None and path.is_file() else None

    def dataset_record(self, dataset: str) -> dict[str, Any]:
        """dataset.json of the registry (kind, root folder, counts); {} when there is none."""
        path = self.layout.dataset_record(dataset)
        if not _safe_name(dataset) or not path.is_file():
            return {}
        stat = path.stat()
        return _read_json(str(path), stat.st_mtime_ns, stat.st_size)

    def has_videos(self, dataset: str) -> bool:
        """A dataset of video files (not of .pose files, not synthetic)."""
        return self.dataset_record(dataset).get("kind") in VIDEO_KINDS

    def posed_ok(self, dataset: str) -> frozenset[str]:
        """Ids of the videos the pose stage read successfully (poses.parquet)."""
        path = self.layout.poses(dataset)
        if not _safe_name(dataset) or not path.is_file():
            return frozenset()
        stat = path.stat()
        return _ok_ids(str(path), stat.st_mtime_ns, stat.st_size)

    def video_file(self, dataset: str, video_id: str) -> Path | None:
        """The source video of a row, only if it was posed successfully, is a video by its suffix and lies inside
        the dataset's folder (a metadata table can name any file: /etc/shadow must never be served)."""
        root = self.dataset_record(dataset).get("root")
        if not root or not self.has_videos(dataset) or video_id not in self.posed_ok(dataset):
            return None
        path = self._listed_file(dataset, video_id, "path")
        if path is None or path.suffix.lower() not in VIDEO_SUFFIXES:
            return None
        resolved, base = path.resolve(), Path(root).resolve()
        return resolved if resolved.is_relative_to(base) else None

    def preview_file(self, dataset: str, video_id: str) -> Path | None:
        """The browser-playable preview the workflow made of a row's video (results/<dataset>/previews/)."""
        row = self.registry_row(dataset, video_id)
        if not row or not row.get("shard") or not self.has_videos(dataset):
            return None
        for suffix in PREVIEW_SUFFIXES:
            path = self.layout.preview_file(dataset, str(row["shard"]), video_id, suffix)
            if path.is_file() and path.stat().st_size > 0:
                return path
        return None

    def pose_file(self, dataset: str, video_id: str) -> Path | None:
        return self._listed_file(dataset, video_id, "pose_path")

    def video_ids(self, dataset: str, limit: int = 1000) -> list[tuple[str, str]]:
        reg = self.registry(dataset)
        if reg is None:
            return []
        glosses = reg["gloss"] if "gloss" in reg else [None] * len(reg)
        return [(str(v), str(g) if g is not None else "") for v, g in list(zip(reg["video_id"], glosses))[:limit]]

    def column_values(self, dataset: str, column: str, limit: int = 2000) -> list[str]:
        """The distinct values of a registry column (glosses, signers), sorted, for the filters' suggestions."""
        reg = self.registry(dataset)
        if reg is None or column not in reg:
            return []
        return sorted({str(v) for v in reg[column].dropna()})[:limit]

    def splits(self, dataset: str) -> list[str]:
        reg = self.registry(dataset)
        if reg is None or "split" not in reg:
            return []
        return sorted({str(s) for s in reg["split"].dropna()})

    def example_video(self, dataset: str, gloss: str, avoid: set[str] = frozenset()) -> str | None:
        reg = self.registry(dataset)
        if reg is None or "gloss" not in reg:
            return None
        ids = [v for v in reg.loc[reg["gloss"] == gloss, "video_id"] if v not in avoid]
        return ids[0] if ids else None

    # -- database -------------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def connect(self, config: dict[str, Any]) -> Iterator[Any]:
        from signsearch.db import server

        url = server.resolve_url(config["database"]["data_dir"], start=False)
        with server.connect(url) as conn:
            yield conn

    def db_state(self, config: dict[str, Any] | None) -> DbState:
        """Which datasets and models the database can search; a notice when it cannot be reached or is empty."""
        if config is None:
            return DbState(False, notice=Notice("no configuration, so no database to search", None, "error"))
        try:
            from signsearch.db import query
        except ImportError as exc:
            return DbState(False, notice=Notice(f"database support is not available: {exc}", "make install", "error"))
        try:
            with self.connect(config) as conn:
                models = {}
                for ds in _names(query.list_datasets(conn), "dataset"):
                    models[ds] = _names(query.list_models(conn, dataset=ds), "model")
        except Exception as exc:  # unreachable, not started, refused, ...: say so and keep serving
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
            built = self.layout.any_db_receipt()  # the workflow has loaded it before: it only needs starting
            hint = HINT_DB if built else f"{HINT_BUILD}   # builds the results and starts and loads the database"
            return DbState(False, notice=Notice(f"search needs the database, which is not reachable: {first}", hint,
                                                "error"))
        models = {ds: ms for ds, ms in models.items() if ms}
        if not models:
            return DbState(True, notice=Notice(
                "the database is running but holds no embeddings yet: run the workflow to compute and load them",
                HINT_BUILD))
        return DbState(True, models=models)

    def nearest_videos(self, config: dict[str, Any], *, upload: bool = False, **kwargs: Any) -> list[dict[str, Any]]:
        """`signsearch.search.nearest_videos` on this app's database (uploads one at a time, posed by
        `query_poser`)."""
        from signsearch.search import nearest_videos

        lock = self._search_lock if upload else contextlib.nullcontext()
        with lock, self.connect(config) as conn:
            if upload:
                kwargs["poser"] = self.query_poser(config)
            return nearest_videos(conn, config, **kwargs)

    # -- query posing ---------------------------------------------------------------------------------------------
    def query_poser(self, config: dict[str, Any]) -> Poser | None:
        """How an uploaded video is posed: in `app.query_pose_workers` parts at once on warm worker processes
        (`signsearch.pose.parts`), or with 1, by a model in this process (`pose_video`, None here)."""
        from signsearch.pose.parts import pose_in_parts
        from signsearch.pose.workers import Settings, WarmWorkers

        size = int(config["app"]["query_pose_workers"])
        if self._query_workers is not None and self._query_workers.size != size:  # the config changed
            self.close()
        if size == 1:
            return None
        if self._query_workers is None:
            self._query_workers = WarmWorkers(Settings(), size)
        return functools.partial(pose_in_parts, workers=self._query_workers)

    def start_query_workers(self) -> None:
        """Load the query posing models now, so the first upload does not wait for them (`signsearch serve`)."""
        config, _ = self.config()
        if config is not None and self.query_poser(config) is not None:
            assert self._query_workers is not None
            self._query_workers.start()

    def close(self) -> None:
        """End the query posing processes (they are started again when next needed)."""
        if self._query_workers is not None:
            self._query_workers.close()
            self._query_workers = None


@functools.lru_cache(maxsize=16)
def _read_json(path: str, _mtime_ns: int, _size: int) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@functools.lru_cache(maxsize=16)
def _ok_ids(path: str, _mtime_ns: int, _size: int) -> frozenset[str]:
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["video_id", "status"]).to_pandas()
    return frozenset(table.loc[table["status"] == "ok", "video_id"].astype(str))


@functools.lru_cache(maxsize=16)
def _read_registry(path: str, _mtime_ns: int, _size: int) -> pd.DataFrame:
    import pyarrow.parquet as pq

    table = pq.read_table(path).to_pandas()
    if "video_id" in table:
        table["video_id"] = table["video_id"].astype(str)
    return table


@functools.lru_cache(maxsize=16)
def _registry_positions(path: str, mtime_ns: int, size: int) -> dict[str, int]:
    ids = _read_registry(path, mtime_ns, size).get("video_id")
    return {} if ids is None else {vid: at for at, vid in reversed(list(enumerate(ids)))}  # the first row wins


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if (v is None or (isinstance(v, float) and v != v)) else v) for k, v in row.items()}


def _names(items: Any, key: str) -> list[str]:
    """Names from whatever the query layer returns: strings, tuples, or dicts/rows with a name column."""
    names = []
    for item in items or []:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict):
            names.append(str(item.get(key) or item.get("name") or next(iter(item.values()))))
        elif isinstance(item, (tuple, list)):
            names.append(str(item[0]))
        else:
            names.append(str(getattr(item, key, None) or getattr(item, "name", item)))
    return names


def _safe_name(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and name not in (".", "..") and not name.startswith(".")
