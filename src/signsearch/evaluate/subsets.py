"""Evaluation subsets: which videos take part in a grid cell, chosen deterministically from a seed.

Kinds (config `evaluate.subsets.<name>`):

* ``gloss_list``: the glosses listed in `glosses_file` (one per line; blank lines and ``#`` comments ignored),
  `per_gloss` random videos each (all of them when `per_gloss` is absent).
* ``random``: `glosses` random glosses among those with at least `per_gloss` videos, `per_gloss` random videos each.
  With `candidates` (the original experiment's 400x10: 500 candidates, 400 glosses, 10 videos): `candidates`
  random glosses among all labelled ones, of which the `glosses` with the most videos are kept (ties: the one drawn
  first), then up to `per_gloss` random videos each (a gloss with fewer keeps all of its videos).
* ``split``: every video of split `split`.
* ``all``: every video.

Only videos with a gloss take part (matching is by gloss). Randomness: `numpy.random.default_rng(seed)` over the
table sorted by video_id, so the same table and spec give the same ids regardless of row order.

When the dataset is too small, `SubsetTooSmall` says how much was needed and how much there is, unless
`scale_down` is true; then (and the subset's `note` says so):

* ``gloss_list``: listed glosses that are absent or have a single video are dropped, and `per_gloss` becomes the
  smallest video count among the remaining glosses if that is lower;
* ``random``: per_gloss p (2 <= p <= per_gloss) and min(glosses, number of glosses with >= p videos) glosses,
  choosing the p that keeps the most videos (ties: the larger p); with `candidates`, every gloss is a candidate
  and min(glosses, number of glosses) are kept.

At least 2 glosses with 2 videos each are needed in every case.

File format (`write_subset`): ``#``-comment header lines (name, seed, spec as JSON, note), then a TSV with one
column ``video_id``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from signsearch.atomic import write_text
from signsearch.errors import UserError


class SubsetError(UserError, ValueError):
    """A subset that cannot be built as specified (message meant for the user)."""


class SubsetTooSmall(SubsetError):
    """The dataset has too few glosses/videos for the subset (and scale_down is off, or even that fails)."""


@dataclass(frozen=True)
class Subset:
    name: str
    video_ids: tuple[str, ...]
    seed: int
    spec: dict = field(default_factory=dict)
    note: str = ""  # non-empty when scaled down


def make_subset(
    table: pd.DataFrame,
    spec: dict,
    name: str,
    *,
    scale_down: bool,
    base_dir: str | os.PathLike[str] = ".",
) -> Subset:
    """Build subset `name` from `table` (columns video_id, gloss, signer, split); relative glosses_file paths
    are resolved against `base_dir`."""
    kind = spec.get("kind")
    seed = int(spec.get("seed", 0))
    rows = table[table["gloss"].notna() & (table["gloss"].astype(str).str.strip() != "")]
    rows = rows.sort_values("video_id", kind="stable")
    if rows.empty:
        raise SubsetError(f"subset {name!r}: no video of the dataset has a gloss ({len(table)} videos), and "
                          "retrieval is scored by gloss; add a gloss column to the metadata to evaluate it")
    rng = np.random.default_rng(seed)
    note = ""
    if kind == "all":
        ids = rows["video_id"].tolist()
    elif kind == "split":
        split = spec.get("split")
        if not split:
            raise SubsetError(f"subset {name!r}: kind 'split' needs a 'split' name")
        ids = rows.loc[rows["split"] == split, "video_id"].tolist()
        if not ids:
            have = sorted(map(str, table["split"].dropna().unique()))
            raise SubsetError(f"subset {name!r}: no labelled video in split {split!r}; splits present: {have or 'none'}")
    elif kind == "gloss_list":
        ids, note = _gloss_list(rows, spec, name, rng, scale_down, Path(base_dir))
    elif kind == "random":
        ids, note = _random(rows, spec, name, rng, scale_down)
    else:
        raise SubsetError(f"subset {name!r}: unknown kind {kind!r} (gloss_list, random, split, all)")
    return Subset(name=name, video_ids=tuple(ids), seed=seed, spec=dict(spec), note=note)


def _sample(rows: pd.DataFrame, glosses: list[str], per_gloss: int | None, rng: np.random.Generator) -> list[str]:
    """Up to `per_gloss` random video ids of each gloss (in the given gloss order; all when per_gloss is None)."""
    by_gloss = rows.groupby("gloss")["video_id"].apply(list)
    ids: list[str] = []
    for g in glosses:
        vids = by_gloss[g]
        pick = (sorted(rng.choice(len(vids), size=min(per_gloss, len(vids)), replace=False)) if per_gloss
                else range(len(vids)))
        ids += [vids[i] for i in pick]
    return ids


def _gloss_list(rows, spec, name, rng, scale_down, base_dir) -> tuple[list[str], str]:
    if not spec.get("glosses_file"):
        raise SubsetError(f"subset {name!r}: kind 'gloss_list' needs 'glosses_file'")
    path = Path(spec["glosses_file"])
    path = path if path.is_absolute() else base_dir / path
    if not path.is_file():
        raise SubsetError(f"subset {name!r}: glosses_file {path} not found")
    wanted = []
    for line in path.read_text(encoding="utf-8").splitlines():
        g = line.split("#", 1)[0].strip()
        if g and g not in wanted:
            wanted.append(g)
    per_gloss = spec.get("per_gloss")
    counts = rows["gloss"].value_counts()
    missing = [g for g in wanted if g not in counts.index]
    need = per_gloss or 2
    short = [f"{g} ({counts[g]})" for g in wanted if g in counts.index and counts[g] < need]
    if not missing and not short:
        return _sample(rows, wanted, per_gloss, rng), ""
    problem = f"subset {name!r}: {len(wanted)} glosses listed in {path}"
    if missing:
        problem += f"; {len(missing)} absent from the dataset: {', '.join(missing)}"
    if short:
        problem += f"; {len(short)} with fewer than {need} videos: {', '.join(short)}"
    kept = [g for g in wanted if counts.get(g, 0) >= 2]
    if not scale_down or len(kept) < 2:
        raise SubsetTooSmall(problem + ("" if scale_down else " (set evaluate.scale_down to shrink it)"))
    p = min(per_gloss, int(counts[kept].min())) if per_gloss else None
    note = f"scaled down: {len(kept)} of {len(wanted)} listed glosses" + (f", {p} videos each (asked {per_gloss})" if per_gloss else "")
    return _sample(rows, kept, p, rng), f"{note}. {problem}"


def _random(rows, spec, name, rng, scale_down) -> tuple[list[str], str]:
    n_glosses, per_gloss = spec.get("glosses"), spec.get("per_gloss")
    if not n_glosses or not per_gloss:
        raise SubsetError(f"subset {name!r}: kind 'random' needs 'glosses' and 'per_gloss'")
    if spec.get("candidates"):
        return _most_videos_of_random(rows, int(spec["candidates"]), n_glosses, per_gloss, name, rng, scale_down)
    counts = rows["gloss"].value_counts()
    eligible = counts[counts >= per_gloss]
    note = ""
    if len(eligible) < n_glosses:
        problem = (
            f"subset {name!r}: needs {n_glosses} glosses with >= {per_gloss} videos ({n_glosses * per_gloss} videos); "
            f"the dataset has {len(eligible)} such glosses ({len(counts)} glosses, {len(rows)} labelled videos)"
        )
        options = [(min(n_glosses, int((counts >= p).sum())) * p, p) for p in range(2, per_gloss + 1)]
        options = [(v, p) for v, p in options if v >= 2 * p]
        if not scale_down or not options:
            raise SubsetTooSmall(problem + ("" if scale_down else " (set evaluate.scale_down to shrink it)"))
        _, per_gloss = max(options)
        eligible = counts[counts >= per_gloss]
        n_glosses = min(n_glosses, len(eligible))
        note = f"scaled down to {n_glosses} glosses x {per_gloss} videos. {problem}"
    pool = sorted(eligible.index)
    chosen = [pool[i] for i in sorted(rng.choice(len(pool), size=n_glosses, replace=False))]
    return _sample(rows, chosen, per_gloss, rng), note


def _most_videos_of_random(rows, candidates, n_glosses, per_gloss, name, rng, scale_down) -> tuple[list[str], str]:
    """`candidates` random glosses, the `n_glosses` of them with the most videos, up to `per_gloss` videos each."""
    if candidates < n_glosses:
        raise SubsetError(f"subset {name!r}: 'candidates' ({candidates}) must be at least 'glosses' ({n_glosses})")
    counts = rows["gloss"].value_counts()
    note = ""
    if len(counts) < candidates:
        problem = (f"subset {name!r}: draws {candidates} candidate glosses; the dataset has {len(counts)} glosses "
                   f"({len(rows)} labelled videos)")
        if not scale_down:
            raise SubsetTooSmall(problem + " (set evaluate.scale_down to shrink it)")
        candidates, n_glosses = len(counts), min(n_glosses, len(counts))
        note = f"scaled down to {n_glosses} glosses of all {candidates} as candidates. {problem}"
    pool = sorted(counts.index)
    drawn = [pool[i] for i in rng.choice(len(pool), size=candidates, replace=False)]
    kept = sorted(drawn, key=lambda g: -counts[g])[:n_glosses]  # stable: equal counts keep their draw order
    if (counts[kept] >= 2).sum() < 2:
        raise SubsetTooSmall(f"subset {name!r}: fewer than 2 of the {n_glosses} kept glosses have 2 or more videos")
    return _sample(rows, sorted(kept), per_gloss, rng), note


def write_subset(subset: Subset, path: str | os.PathLike[str]) -> None:
    """Atomic TSV: comment header (name, seed, spec, note), then one video_id per line."""
    header = [
        f"# subset: {subset.name}",
        f"# seed: {subset.seed}",
        f"# spec: {json.dumps(subset.spec, sort_keys=True, default=str)}",
    ]
    if subset.note:
        header.append(f"# note: {' '.join(subset.note.split())}")
    write_text(path, "\n".join([*header, "video_id", *subset.video_ids]) + "\n")


def read_subset(path: str | os.PathLike[str]) -> Subset:
    """Inverse of `write_subset` (video ids may contain '#': only header lines are comments)."""
    meta: dict[str, str] = {}
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    body = 0
    while body < len(lines) and lines[body].startswith("# "):
        key, _, value = lines[body][2:].partition(": ")
        meta[key] = value
        body += 1
    if body >= len(lines) or lines[body] != "video_id":
        raise SubsetError(f"{path}: not a subset file (expected a 'video_id' header after the comments)")
    ids = [line for line in lines[body + 1 :] if line]
    return Subset(
        name=meta.get("subset", Path(path).stem),
        video_ids=tuple(ids),
        seed=int(meta.get("seed", 0)),
        spec=json.loads(meta.get("spec", "{}")),
        note=meta.get("note", ""),
    )
