"""The grid's cells that were not evaluated (their subset could not be built), with the reason:
``skipped.tsv`` beside grid.tsv, listed in the report and in the run's closing summary."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

COLUMNS = ["dataset", "model", "subset", "reason"]


def skipped_table(rows: list[list[str]]) -> pd.DataFrame:
    """Rows of (dataset, model, subset, reason) as the skipped.tsv table."""
    return pd.DataFrame(rows, columns=COLUMNS)


def read_skipped(path: str | os.PathLike[str]) -> pd.DataFrame:
    """``skipped.tsv`` (empty when the file is absent, e.g. before the grid ran)."""
    if not Path(path).is_file():
        return skipped_table([])
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
