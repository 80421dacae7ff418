"""Read a configured dataset into one table of videos, or fail before any job runs with every problem listed.

Kinds:
- ``folder``: videos under ``path``, optionally described by a CSV/TSV (``video_id, path, gloss, signer, split``;
  only ``path`` required; ``sample_id``, the id column of many public datasets, is read as ``video_id`` when there
  is no ``video_id``; a missing id is derived from the path relative to the root; any other column is ignored with
  a warning naming it);
- ``asl_citizen``: an ASL Citizen root with ``splits/{train,val,test}.csv`` and ``videos/``;
- ``poses``: ``.pose`` files (pose estimation is skipped), optionally described by a table as for ``folder``;
- ``synthetic``: the generated demo dataset (``signsearch.datasets.synthetic``).
"""

from __future__ import annotations

import csv
import errno
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from signsearch.datasets.ids import id_from_relative_path
from signsearch.errors import UserError

COLUMNS = ["video_id", "path", "gloss", "signer", "split", "source"]
METADATA_COLUMNS = ("video_id", "path", "gloss", "signer", "split")
ID_COLUMNS = ("video_id", "sample_id")  # in order of preference
VIDEO_EXTENSIONS = ("mp4", "mov", "webm", "avi", "mkv", "m4v")
ASL_CITIZEN_SPLITS = ("train", "val", "test")
ASL_CITIZEN_COLUMNS = ("Participant ID", "Video file", "Gloss")
MAX_LISTED = 20


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}" if self.line else f"{self.file}: {self.reason}"


class DatasetError(UserError, ValueError):
    """One or more problems in a dataset's files; the message lists them (file, line, reason, fix)."""

    listing = True

    def __init__(self, dataset: str, problems: list[Problem]):
        self.dataset = dataset
        self.problems = problems
        lines = [f"dataset '{dataset}': {len(problems)} problem(s); fix them and rerun:"]
        lines += [f"  {p}" for p in problems[:MAX_LISTED]]
        if len(problems) > MAX_LISTED:
            lines.append(f"  ... and {len(problems) - MAX_LISTED} more")
        super().__init__("\n".join(lines))


def read(name: str, cfg: dict[str, Any]) -> pd.DataFrame:
    """Return the dataset's videos (COLUMNS, sorted by video_id) or raise DatasetError listing every problem."""
    kind = cfg.get("kind")
    if kind in ("folder", "poses"):
        table = _read_folder(name, cfg, source="pose" if kind == "poses" else "video")
    elif kind == "asl_citizen":
        table = _read_asl_citizen(name, cfg)
    elif kind == "synthetic":
        from signsearch.datasets import synthetic

        rows = synthetic.rows_for(cfg["glosses"], cfg["signers"], cfg["takes"], cfg["seed"])
        table = pd.DataFrame(rows).assign(path=None, source="synthetic")
    else:
        raise DatasetError(name, [Problem("config", None, f"unknown dataset kind '{kind}' (use folder, asl_citizen, poses or synthetic)")])
    return table[COLUMNS].sort_values("video_id", kind="stable").reset_index(drop=True)


def _root(name: str, cfg: dict[str, Any]) -> Path:
    root = Path(cfg["path"]).expanduser()
    if not root.is_dir():
        raise DatasetError(name, [Problem(str(root), None, "dataset folder not found (check `path` in the config)")])
    return root.resolve()


def _read_table(name: str, path: Path) -> pd.DataFrame:
    """Read CSV or TSV as strings; the data frame gets a `_line` column with the 1-based line in the file."""
    if not path.is_file():
        raise DatasetError(name, [Problem(str(path), None, "metadata table not found (check `metadata` in the config)")])
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            sample = fh.read(65536)
        sep = "\t" if path.suffix.lower() == ".tsv" else _delimiter(sample)
        table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise DatasetError(name, [Problem(str(path), None, "the table is empty (not even a header line)")]) from None
    except (csv.Error, pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise DatasetError(name, [Problem(str(path), None, f"unreadable table ({type(exc).__name__}: {exc}); save it as UTF-8 CSV or TSV")]) from exc
    table.columns = [c.strip() for c in table.columns]
    table["_line"] = range(2, len(table) + 2)
    return table


def _delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;").delimiter
    except csv.Error:  # a one-column table has nothing to sniff
        return ","


def _files(root: Path, extensions: tuple[str, ...]) -> list[Path]:
    """Files with the extensions below `root`, and symlink loops with them (the caller reports those)."""
    wanted = {"." + e.lower().lstrip(".") for e in extensions}
    return sorted(p for p in root.rglob("*")
                  if p.suffix.lower() in wanted and not p.name.startswith(".") and (p.is_file() or _symlink_loop(p)))


def _symlink_loop(path: Path) -> bool:
    """True when resolving `path` goes round in circles: it is neither a file nor missing, and `resolve()` raises."""
    try:
        path.stat()
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def _warn_ignored_columns(name: str, path: Path, columns: list[str], id_column: str | None) -> None:
    ignored = [c for c in columns if c not in (*METADATA_COLUMNS, id_column, "_line")]
    if ignored:
        print(f"signsearch: dataset '{name}': {path}: ignoring column(s) {', '.join(ignored)}; the accepted columns "
              f"are {', '.join(METADATA_COLUMNS)} (sample_id is read as video_id when there is no video_id)",
              file=sys.stderr)


def _read_folder(name: str, cfg: dict[str, Any], source: str) -> pd.DataFrame:
    root = _root(name, cfg)
    default_ext = ("pose",) if source == "pose" else VIDEO_EXTENSIONS
    if not cfg.get("metadata"):
        files = _files(root, tuple(cfg.get("extensions") or default_ext))
        if not files:
            raise DatasetError(name, [Problem(str(root), None, f"no files with extensions {list(cfg.get('extensions') or default_ext)}")])
        loops = [Problem(str(f), None, "symlink loop (the link leads back to itself); fix or delete the link")
                 for f in files if _symlink_loop(f)]
        if loops:
            raise DatasetError(name, loops)
        rel = [f.relative_to(root).as_posix() for f in files]
        return pd.DataFrame(
            {"video_id": [id_from_relative_path(r) for r in rel], "path": [str(f) for f in files],
             "gloss": None, "signer": None, "split": None, "source": source}
        )

    meta_path = Path(cfg["metadata"]).expanduser()
    meta_path = meta_path if meta_path.is_absolute() else root / meta_path
    table = _read_table(name, meta_path)
    if "path" not in table.columns:
        raise DatasetError(name, [Problem(str(meta_path), 1, f"no `path` column (found: {', '.join(c for c in table.columns if c != '_line')})")])
    id_column = next((c for c in ID_COLUMNS if c in table.columns), None)
    _warn_ignored_columns(name, meta_path, list(table.columns), id_column)
    problems: list[Problem] = []
    rows = []
    first_line: dict[str, int] = {}
    for rec in table.to_dict("records"):
        line, raw = rec["_line"], rec["path"].strip()
        if not raw:
            problems.append(Problem(str(meta_path), line, "empty `path`"))
            continue
        path = Path(raw).expanduser()
        path = path if path.is_absolute() else root / path
        if _symlink_loop(path):
            problems.append(Problem(str(meta_path), line, f"symlink loop: {path} (fix the link or delete the row)"))
            continue
        if not path.is_file():
            problems.append(Problem(str(meta_path), line, f"file not found: {path} (restore it or delete the row)"))
        vid = (rec.get(id_column) or "").strip() if id_column else ""
        if not vid:
            try:
                vid = id_from_relative_path(path.resolve().relative_to(root).as_posix())
            except ValueError:
                vid = id_from_relative_path(path.name)
        if vid in first_line:
            problems.append(Problem(str(meta_path), line, f"duplicate video_id '{vid}' (first at line {first_line[vid]}); ids must be unique"))
            continue
        first_line[vid] = line
        rows.append({"video_id": vid, "path": str(path.resolve()), "source": source,
                     **{c: (rec.get(c) or "").strip() or None for c in ("gloss", "signer", "split")}})
    if problems:
        raise DatasetError(name, problems)
    if not rows:
        raise DatasetError(name, [Problem(str(meta_path), None, "the table has no rows")])
    return pd.DataFrame(rows)


def _read_asl_citizen(name: str, cfg: dict[str, Any]) -> pd.DataFrame:
    root = _root(name, cfg)
    problems: list[Problem] = []
    rows = []
    first_seen: dict[str, str] = {}
    for split in ASL_CITIZEN_SPLITS:
        split_file = root / "splits" / f"{split}.csv"
        if not split_file.is_file():
            problems.append(Problem(str(split_file), None, "missing ASL Citizen split file (expected splits/train.csv, val.csv, test.csv)"))
            continue
        table = _read_table(name, split_file)
        missing_cols = [c for c in ASL_CITIZEN_COLUMNS if c not in table.columns]
        if missing_cols:
            problems.append(Problem(str(split_file), 1, f"missing column(s) {missing_cols}; is this an ASL Citizen split file?"))
            continue
        for rec in table.to_dict("records"):
            where = f"{split_file}:{rec['_line']}"
            video_file = rec["Video file"].strip()
            vid = id_from_relative_path(video_file)
            path = root / "videos" / video_file
            if not video_file:
                problems.append(Problem(str(split_file), rec["_line"], "empty `Video file`"))
                continue
            if vid in first_seen:
                problems.append(Problem(str(split_file), rec["_line"], f"duplicate video '{video_file}' (first at {first_seen[vid]})"))
                continue
            first_seen[vid] = where
            if not path.is_file():
                problems.append(Problem(str(split_file), rec["_line"], f"file not found: {path}"))
            rows.append({"video_id": vid, "path": str(path), "gloss": rec["Gloss"].strip() or None,
                         "signer": rec["Participant ID"].strip() or None, "split": split, "source": "video"})
    if problems:
        raise DatasetError(name, problems)
    return pd.DataFrame(rows)
