"""Continuous search, evaluated: isolated clips query the segments of long videos with known sign boundaries.

A protocol (`evaluate.continuous.<name>` in the config) names the segmented dataset of long videos, its truth
table (written by `signsearch concat`, `segment.concat.build_long_videos`) and the dataset of isolated query
clips. Per model, `evaluate_protocol` reads the two manifests (segment units carry source_video_id, start_s,
end_s, start_frame, end_frame per the unit contract), ranks every segment for each query by the grid's distance
(`evaluate.metric`), and scores:

* segments against the truth: precision / recall / F1 of one-to-one matches with IoU >= 0.5 (frames), over all
  long videos of the truth table (a video without segments counts its signs as missed);
* timed-hit@1/@5/@10 (`segment.quality`): a retrieved segment is a hit when it lies in a long video where the
  query's sign truly is and fits that true range, by IoU >= 0.5 (`iou`) or by containing its centre (`centre`);
  each with its exact chance level (the query's candidates in random order).

`exclude` removes, per query, the long videos it must not be searched in: `source_video` (default) those built
from the query clip itself (so the queries search the *other* takes), `signer` those with any clip by the
query's signer, `none` nothing. Queries whose sign is in none of their candidate videos are counted, not scored.

Files (`Layout.continuous_cell`): ``metrics.json``; ``hits.parquet`` (every evaluated query's top 10 with both
hit flags); ``videos.tsv`` (segment scores per long video). The dataset's table (`Layout.continuous_table`):
one row per protocol and model (`continuous_table`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from signsearch import manifest
from signsearch.atomic import atomic_path, write_json, write_text
from signsearch.errors import UserError
from signsearch.evaluate.cell import _json_ready, tsv_text
from signsearch.evaluate.dictionary import pairwise_distances
from signsearch.evaluate.retrieval import METRICS
from signsearch.segment.concat import TrueSegment
from signsearch.segment.quality import CRITERIA, SegmentScores, is_timed_hit, score_segments, timed_hit_chance

KS = (1, 5, 10)
EXCLUDE = ("source_video", "signer", "none")
TRUTH_COLUMNS = ("video_id", "start_s", "end_s", "start_frame", "end_frame", "gloss", "source_video_id",
                 "source_path", "signer", "group")
UNIT_COLUMNS = ("source_video_id", "start_s", "end_s", "start_frame", "end_frame")  # of `manifest.UNIT_COLUMNS`


class ContinuousError(UserError, ValueError):
    """A protocol's inputs do not fit together (no segment columns, unreadable truth, different models)."""


@dataclass(frozen=True)
class Truth:
    """A truth table: the true segments per long video, and which clips and signers each long video holds."""

    segments: dict[str, list[TrueSegment]]
    sources: dict[str, set[str]]
    signers: dict[str, set[str]]


def read_truth(path: str | Path) -> Truth:
    """The truth table of `signsearch concat` (CSV; TRUTH_COLUMNS, signer and group may be empty)."""
    path = Path(path)
    try:
        table = pd.read_csv(path, dtype={"video_id": str, "gloss": str, "source_video_id": str, "signer": str},
                            keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ContinuousError(f"{path}: unreadable truth table ({exc})") from exc
    missing = [c for c in TRUTH_COLUMNS[:7] if c not in table.columns]
    if missing:
        raise ContinuousError(f"{path}: truth table lacks column(s) {', '.join(missing)} (write it with `signsearch concat`)")
    segments: dict[str, list[TrueSegment]] = {}
    sources: dict[str, set[str]] = {}
    signers: dict[str, set[str]] = {}
    for row in table.itertuples(index=False):
        segments.setdefault(row.video_id, []).append(TrueSegment(
            row.gloss, row.source_video_id, int(row.start_frame), int(row.end_frame), float(row.start_s), float(row.end_s)))
        sources.setdefault(row.video_id, set()).add(row.source_video_id)
        signer = getattr(row, "signer", "")
        signers.setdefault(row.video_id, set()).update({signer} if signer else set())
    return Truth(segments, sources, signers)


def _units(m: manifest.Manifest, where: str) -> pd.DataFrame:
    names = m.table.column_names
    missing = [c for c in UNIT_COLUMNS if c not in names]
    if missing:
        raise ContinuousError(f"{where}: the manifest has no segment columns ({', '.join(missing)}); the protocol's "
                              "dataset must be segmented (`segmentation:` in its config entry)")
    units = m.table.select(["video_id", *UNIT_COLUMNS]).to_pandas()
    return units[units["source_video_id"].notna()].reset_index(drop=True)


def _excluded(truth: Truth, query_id: str, signer: str | None, exclude: str) -> set[str]:
    if exclude == "source_video":
        return {v for v, ids in truth.sources.items() if query_id in ids}
    if exclude == "signer":
        return {v for v, people in truth.signers.items() if signer and signer in people}
    return set()


def evaluate_protocol(segments: manifest.Manifest, queries: manifest.Manifest, truth: Truth, *, metric: str = "l2",
                      exclude: str = "source_video", ks: Sequence[int] = KS) -> tuple[dict[str, Any], pa.Table, pd.DataFrame]:
    """Scores of one protocol and model: (metrics dict, hits table, per-video segment scores); module docstring."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {METRICS}")
    if exclude not in EXCLUDE:
        raise ValueError(f"unknown exclude {exclude!r}; expected one of {EXCLUDE}")
    if segments.dim != queries.dim:
        raise ContinuousError(f"segment vectors have {segments.dim} dimensions, query vectors {queries.dim}: not the same model")
    units = _units(segments, "segmented dataset")
    unit_rows = pd.Series(np.arange(segments.table.num_rows), index=segments.table.column("video_id").to_pylist())
    vectors = segments.vectors[unit_rows[units["video_id"]].to_numpy()] if len(units) else np.zeros((0, segments.dim), np.float32)

    per_video, total = [], SegmentScores(0, 0, 0, 0, 0)
    for video, true in sorted(truth.segments.items()):
        mine = units[units["source_video_id"] == video]
        s = score_segments(list(zip(mine["start_frame"], mine["end_frame"])), [(t.start_frame, t.end_frame) for t in true])
        total += s
        per_video.append({"video_id": video, "true": s.true, "predicted": s.predicted, "matched": s.matched,
                          "precision": s.precision, "recall": s.recall, "f1": s.f1, "overlapped": s.overlapped, "centred": s.centred})

    # Only segments of the truth's long videos are candidates (other videos of the dataset have no known signs).
    in_truth = units["source_video_id"].isin(truth.segments).to_numpy()
    units, vectors = units[in_truth].reset_index(drop=True), vectors[in_truth]
    hits = list(zip(units["source_video_id"], units["start_s"].astype(float), units["end_s"].astype(float)))
    meta = queries.table.select(["video_id", "gloss", "signer"]).to_pandas()
    k = max(ks)
    found = {c: {j: 0 for j in ks} for c in CRITERIA}
    chance = {c: {j: 0.0 for j in ks} for c in CRITERIA}
    excluded = {"no gloss label": 0, "sign not in any candidate video": 0}
    records = []
    chance_of: dict[tuple[str, frozenset[str], str], dict[int, float]] = {}  # queries of a gloss share candidates
    for i, q in enumerate(meta.itertuples(index=False)):
        if not isinstance(q.gloss, str) or not q.gloss:
            excluded["no gloss label"] += 1
            continue
        banned = _excluded(truth, q.video_id, q.signer, exclude)
        allowed = np.flatnonzero(~units["source_video_id"].isin(banned).to_numpy())
        if not any(t.label == q.gloss for v, ts in truth.segments.items() if v not in banned for t in ts):
            excluded["sign not in any candidate video"] += 1
            continue
        row = pairwise_distances(queries.vectors[i : i + 1], vectors, metric)[0]  # a row at a time: bounded memory
        order = allowed[np.argsort(row[allowed], kind="stable")]
        flags = {c: [is_timed_hit(hits[j], q.gloss, truth.segments, c) for j in order[:k]] for c in CRITERIA}
        for c in CRITERIA:
            first = flags[c].index(True) if True in flags[c] else None
            for j in ks:
                found[c][j] += first is not None and first < j
            key = (q.gloss, frozenset(banned), c)
            if key not in chance_of:
                chance_of[key] = timed_hit_chance([q.gloss], [hits[j] for j in allowed], truth.segments, ks, c)
            for j, value in chance_of[key].items():
                chance[c][j] += value
        for rank, j in enumerate(order[:k], 1):
            records.append({"query_video_id": q.video_id, "query_gloss": q.gloss, "rank": rank,
                            "unit_id": units["video_id"].iat[j], "source_video_id": hits[j][0],
                            "start_s": hits[j][1], "end_s": hits[j][2], "distance": float(row[j]),
                            **{f"hit_{c}": flags[c][rank - 1] for c in CRITERIA}})
    evaluated = len(meta) - sum(excluded.values())
    mean = lambda x: x / evaluated if evaluated else float("nan")  # noqa: E731
    metrics = {
        "metric": metric, "exclude": exclude, "long_videos": len(truth.segments),
        "segments": {"true": total.true, "predicted": total.predicted, "matched": total.matched,
                     "precision": total.precision, "recall": total.recall, "f1": total.f1,
                     "overlapped": total.overlapped, "centred": total.centred},
        "timed_hit": {c: {str(j): mean(found[c][j]) for j in ks} for c in CRITERIA},
        "chance": {c: {str(j): mean(chance[c][j]) for j in ks} for c in CRITERIA},
        "counts": {"queries": len(meta), "evaluated_queries": evaluated, "candidate_segments": len(units),
                   **{f"excluded: {why}": n for why, n in excluded.items()}},
    }
    return metrics, _hits_table(records), pd.DataFrame(per_video)


def _hits_table(records: list[dict[str, Any]]) -> pa.Table:
    schema = pa.schema([("query_video_id", pa.string()), ("query_gloss", pa.string()), ("rank", pa.int16()),
                        ("unit_id", pa.string()), ("source_video_id", pa.string()), ("start_s", pa.float64()),
                        ("end_s", pa.float64()), ("distance", pa.float64()),
                        *((f"hit_{c}", pa.bool_()) for c in CRITERIA)])
    return pa.Table.from_pylist(records, schema=schema)


def run_protocol(*, protocol: str, settings: Mapping[str, Any], model: str, segments_manifest: str | Path,
                 queries_manifest: str | Path, truth_path: str | Path, metric: str,
                 outputs: Mapping[str, str | Path]) -> dict[str, Any]:
    """The workflow's job for one (protocol, model): evaluate and write the cell's files (all atomic)."""
    metrics, hits, videos = evaluate_protocol(manifest.read(segments_manifest), manifest.read(queries_manifest),
                                              read_truth(truth_path), metric=metric, exclude=settings["exclude"])
    metrics = {"protocol": protocol, "dataset": settings["dataset"], "queries": settings["queries"], "model": model,
               "truth": str(truth_path), **metrics}
    write_json(outputs["metrics"], _json_ready(metrics))
    with atomic_path(outputs["hits"]) as tmp:
        pq.write_table(hits, tmp, compression="zstd")
    write_text(outputs["videos"], tsv_text(videos))
    return metrics


def table_row(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """One row of the continuous-search table: segment scores, then each timed-hit@k beside its chance level."""
    seg, counts = metrics["segments"], metrics["counts"]
    row = {key: metrics[key] for key in ("protocol", "model", "queries", "metric", "exclude", "long_videos")}
    row |= {"true_segments": seg["true"], "predicted_segments": seg["predicted"], "segment_precision": seg["precision"],
            "segment_recall": seg["recall"], "segment_f1": seg["f1"]}
    for c in CRITERIA:
        for j in sorted(metrics["timed_hit"][c], key=int):  # JSON keeps "10" before "5"
            row[f"timed_hit_{c}_at_{j}"] = metrics["timed_hit"][c][j]
            row[f"timed_hit_{c}_at_{j}_chance"] = metrics["chance"][c][j]
    row |= {"evaluated_queries": counts["evaluated_queries"], "excluded_queries": counts["queries"] - counts["evaluated_queries"],
            "candidate_segments": counts["candidate_segments"]}
    return row


def continuous_table(metrics_files: Sequence[str | Path], out: str | Path) -> pd.DataFrame:
    """The dataset's continuous-search table (`table_row` per protocol and model), written as TSV."""
    table = pd.DataFrame([table_row(json.loads(Path(p).read_text())) for p in metrics_files])
    write_text(out, tsv_text(table))
    return table


def active_protocols(config: Mapping[str, Any], active: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The configured protocols whose two datasets are active; a protocol naming an unknown dataset, or a dataset
    that is not segmented, is a ConfigError (before any job runs)."""
    from signsearch.config import ConfigError

    out = {}
    for name, p in config["evaluate"]["continuous"].items():
        for key in ("dataset", "queries"):
            if p[key] not in config["datasets"]:
                raise ConfigError(f"evaluate.continuous.{name}.{key} names '{p[key]}', which is not under datasets:")
        if config["datasets"][p["dataset"]].get("segmentation", "none") == "none":
            raise ConfigError(f"evaluate.continuous.{name}: dataset '{p['dataset']}' is not segmented; set its "
                              "`segmentation:` (combined, activity or model)")
        if p["dataset"] in active and p["queries"] in active:
            out[name] = dict(p)
    return out
