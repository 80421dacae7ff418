"""Issue 15: an evaluation cell rerun after videos were added updates its cached per-query state and writes
exactly the files a from-scratch evaluation of the grown subset writes; anything but additions recomputes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signsearch import manifest
from signsearch.embed.spec import model_spec
from signsearch.evaluate.cell import run_cell
from signsearch.evaluate.subsets import Subset, write_subset
from signsearch.layout import CELL_FILES, files_in

SPEC = model_spec("pose-baseline", {"kind": "pose-baseline"})


def clustered(seed: int, n: int, dim: int = 7, glosses: int = 9, signers: int = 5) -> pd.DataFrame:
    """Videos near their gloss's centre, a signer offset, some exact duplicates (ties), a few zero vectors
    (cosine's special case), missing labels, and train / test / val splits; ids in random order."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, glosses, n)
    s = rng.integers(0, signers, n)
    x = 2 * rng.standard_normal((glosses, dim))[g] + 0.5 * rng.standard_normal((signers, dim))[s]
    x += 0.7 * rng.standard_normal((n, dim))
    dup = rng.choice(n, n // 5, replace=False)
    x[dup] = x[rng.choice(n, len(dup))]  # duplicates, some across glosses
    x[rng.choice(n, 2, replace=False)] = 0.0
    gloss = np.array([f"G{j}" for j in g], dtype=object)
    gloss[rng.choice(n, 2, replace=False)] = None
    signer = np.array([f"s{j}" for j in s], dtype=object)
    signer[rng.choice(n, 2, replace=False)] = None
    ids = [f"v{int(i):05d}" for i in rng.choice(100_000, n, replace=False)]
    return pd.DataFrame({"video_id": ids, "gloss": gloss, "signer": signer,
                         "split": rng.choice(["train", "test", "val"], n, p=[0.5, 0.35, 0.15]),
                         "vector": list(x.astype(np.float32))})


def evaluate(tmp: Path, name: str, videos: pd.DataFrame, cache: Path | None, k: int, metric: str) -> dict[str, Path]:
    """One run_cell on `videos` (manifest rows in their order, subset in id order); the cell's files and, under
    "cache", its cache (from scratch: a new file)."""
    rows = videos
    cols = {c: rows[c].tolist() for c in ("video_id", "gloss", "signer", "split")}
    n = len(rows)
    cols |= {"dataset": ["d"] * n, "pose_path": ["p"] * n, "frames": [1] * n}
    manifest.write(manifest.build(cols, np.stack(rows["vector"].to_list()), "pose-baseline", "fp"), tmp / f"{name}.parquet")
    rows[["video_id", "split"]].to_parquet(tmp / f"{name}-registry.parquet")
    write_subset(Subset(name="full", video_ids=tuple(sorted(videos["video_id"])), seed=0, spec={"kind": "all"}),
                 tmp / f"{name}.tsv")
    outputs = files_in(tmp / name, CELL_FILES)
    outputs["metrics"].parent.mkdir(parents=True, exist_ok=True)
    run_cell(manifest_path=tmp / f"{name}.parquet", subset_path=tmp / f"{name}.tsv",
             registry_path=tmp / f"{name}-registry.parquet", outputs=outputs, spec=SPEC, dataset="d",
             settings={"k": k, "metric": metric, "backend": "memory"}, data_dir="unused",
             cache_path=cache or tmp / f"{name}.npz")
    return outputs | {"cache": cache or tmp / f"{name}.npz"}


def assert_same_cell(a: dict[str, Path], b: dict[str, Path]) -> None:
    """Same files, and the same per-query state (neighbour lists, keys, first matches, dictionary ranks): the
    cell's outputs alone would hide e.g. a wrong first-match rank that moves no median."""
    assert json.loads(a["metrics"].read_text()) == json.loads(b["metrics"].read_text())
    for role in ("metrics", "table", "confusions", "per_gloss"):
        assert a[role].read_bytes() == b[role].read_bytes(), role
    assert pq.read_table(a["neighbours"]).equals(pq.read_table(b["neighbours"]))
    with np.load(a["cache"]) as za, np.load(b["cache"]) as zb:
        assert sorted(za.files) == sorted(zb.files)
        for name in za.files:
            np.testing.assert_array_equal(za[name], zb[name], err_msg=name)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), metric=st.sampled_from(["l2", "cosine", "ip"]), k=st.sampled_from([1, 3, 10]),
       added=st.lists(st.integers(1, 40), min_size=1, max_size=2))
def test_additions_give_the_from_scratch_cell(tmp_path_factory, seed, metric, k, added) -> None:
    tmp = tmp_path_factory.mktemp("incr")
    total = 120 + sum(added)
    videos = clustered(seed, total)
    order = np.random.default_rng(seed).permutation(total)  # which videos come later, anywhere in id order
    cache = tmp / "cache.npz"
    upto = 120
    evaluate(tmp, "first", videos.iloc[order[:upto]], cache, k, metric)
    for step, extra in enumerate(added):
        upto += extra
        grown = videos.iloc[order[:upto]]
        incremental = evaluate(tmp, f"incr{step}", grown, cache, k, metric)
        scratch = evaluate(tmp, f"scratch{step}", grown, None, k, metric)
        assert_same_cell(incremental, scratch)


def test_a_rerun_without_changes_is_served_from_the_cache(tmp_path: Path, capsys) -> None:
    videos = clustered(3, 150)
    cache = tmp_path / "cache.npz"
    first = evaluate(tmp_path, "first", videos, cache, 10, "l2")
    again = evaluate(tmp_path, "again", videos, cache, 10, "l2")
    assert_same_cell(first, again)
    log = capsys.readouterr().err
    assert "150 cached rows, 0 new" in log and "all: 150 cached queries merged, 0 searched again, 0 new" in log


def test_anything_but_additions_recomputes_and_still_equals(tmp_path: Path, capsys) -> None:
    videos = clustered(7, 160)
    base, grown = videos.iloc[:140], videos
    changed = grown.copy()
    changed.at[changed.index[5], "vector"] = changed.at[changed.index[5], "vector"] + 1
    relabelled = grown.copy()
    relabelled.at[relabelled.index[6], "gloss"] = "G0" if relabelled.at[relabelled.index[6], "gloss"] != "G0" else "G1"
    cases = {
        "removed": (grown.drop(grown.index[3]), 10, "l2", "cached videos left the subset"),
        "changed vector": (changed, 10, "l2", "videos changed"),
        "changed gloss": (relabelled, 10, "l2", "videos changed"),
        "other k": (grown, 5, "l2", "(format, k, metric, length)"),
        "other metric": (grown, 10, "cosine", "(format, k, metric, length)"),
        "corrupt": (grown, 10, "l2", "unreadable cache"),
    }
    for name, (now, k, metric, reason) in cases.items():
        cache = tmp_path / f"{name}.npz"
        evaluate(tmp_path, f"{name}-before", base, cache, 10, "l2")
        if name == "corrupt":
            cache.write_bytes(cache.read_bytes()[:200])
        capsys.readouterr()
        incremental = evaluate(tmp_path, f"{name}-after", now, cache, k, metric)
        assert reason in capsys.readouterr().err, name
        assert_same_cell(incremental, evaluate(tmp_path, f"{name}-scratch", now, None, k, metric))


def test_a_new_first_match_beyond_the_cached_list_is_searched_again(tmp_path: Path, capsys) -> None:
    # Loose clusters put many first matches deeper than the cached list: a new, closer same-gloss video then
    # leaves the rank undetermined by the cache and the query is searched again (and still equals scratch).
    videos = clustered(1, 400, dim=8)
    cache = tmp_path / "cache.npz"
    evaluate(tmp_path, "first", videos.iloc[:300], cache, 10, "l2")
    incremental = evaluate(tmp_path, "grown", videos, cache, 10, "l2")
    log = capsys.readouterr().err
    assert "all: 292 cached queries merged, 8 searched again, 100 new" in log, log
    assert_same_cell(incremental, evaluate(tmp_path, "scratch", videos, None, 10, "l2"))
