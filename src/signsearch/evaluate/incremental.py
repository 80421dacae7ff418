"""Incremental evaluation cells: a rerun after videos were ADDED updates the cached per-query results instead of
searching everything again, and gives exactly what a from-scratch evaluation of the grown subset gives.

The cache (`signsearch.layout.Layout.eval_cache`, one .npz per cell, written atomically; deliberately not a
declared Snakemake output, which Snakemake would delete before the job runs) holds the subset's video ids in row
order, a fingerprint per row (vector bytes, gloss, signer, split), k, metric and:

* per search variant (all, cross_signer), per query: the top-L neighbour rows (L = `list_length(k)` > k) with
  their exact float64 ranking keys (`retrieval.ranking_keys`), and the full-ranking first match (rank, row, key);
* for the dictionary protocol, per test video: its gloss rank and the distance of its gloss's nearest training
  video, and the training video ids.

It is used only when every cached row is still in the subset with the same fingerprint and in the same relative
order (ties are broken by row), with the same k, metric and format; anything else recomputes the cell (the reason
is logged). An update then:

* searches the new rows as queries against the whole subset;
* merges, for every old query, the new rows that can matter (`retrieval.close_pairs`: exact keys of the pairs
  under the query's L-th cached key or first-match key) into its list: a row missing from the old list ranked
  after its L-th entry, so the merged first L are exact; the first-match rank grows by the new rows ranked
  before the first match, and when a new same-gloss row becomes the first match the old rows before it are
  counted from the cached list; when the whole cached list ranks before it, that query is searched again;
* dictionary: new test videos and those whose gloss gained training videos are ranked again; every other test
  video's rank changes only by the glosses that gained training videos, whose nearest distances (before and
  after) come from their training videos alone.

Metrics and tables are then computed from the merged per-query state by the same functions as a full run.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from signsearch.atomic import atomic_path
from signsearch.evaluate import dictionary
from signsearch.evaluate.retrieval import close_pairs, exact_neighbours

FORMAT = 1
SEARCH_VARIANTS = ("all", "cross_signer")
_FIELDS = ("idx", "key", "first", "first_row", "first_key")
_STORED = {"idx": np.int32, "key": np.float64, "first": np.int64, "first_row": np.int32, "first_key": np.float64}


def list_length(k: int) -> int:
    """Neighbours cached per query: beyond k so that most first-match updates are settled from the cache."""
    return k + max(k, 10)


@dataclass(frozen=True)
class SearchState:
    """One search variant's per-query results over the subset rows (row order of the cell)."""

    idx: np.ndarray  # (n, L) int64 rows, best first; -1 when the query has fewer candidates
    key: np.ndarray  # (n, L) float64 exact ranking keys; inf where idx is -1
    first: np.ndarray  # (n,) int64 full-ranking rank of the first same-gloss row; 0 when none
    first_row: np.ndarray  # (n,) int64; -1 when none
    first_key: np.ndarray  # (n,) float64; inf when none


def row_fingerprints(vectors: np.ndarray, glosses: np.ndarray, signers: np.ndarray, splits: np.ndarray) -> np.ndarray:
    """(n,) 16-byte digests of each row's vector bytes and labels: a changed row never matches its cached self."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    out = np.empty(len(vectors), dtype="S16")
    for i, v in enumerate(vectors):
        h = hashlib.blake2b(v.tobytes(), digest_size=16)
        h.update(repr((glosses[i], signers[i], splits[i])).encode())
        out[i] = h.digest()
    return out


class Cache:
    """A cell's cache: the prior state read from `path` (None: none usable, `reason` says why) and the new state
    collected while the cell is evaluated, saved by `save`. `path` None: no cache (always from scratch)."""

    def __init__(self, path: str | Path | None, k: int, metric: str) -> None:
        self.path = None if path is None else Path(path)
        self.k, self.metric, self.length = k, metric, list_length(k)
        self.prior: dict[str, np.ndarray] | None = None
        self.old_pos: np.ndarray | None = None  # new row of each cached row
        self.reason = "no cache" if path is None else ""
        self.new: dict[str, np.ndarray] = {}
        if self.path is not None:
            self.prior, self.reason = _read(self.path, k, metric, self.length)

    def bind(self, ids: np.ndarray, x: np.ndarray, glosses: np.ndarray, signers: np.ndarray, splits: np.ndarray) -> None:
        """Match the cached rows to the cell's rows; drop the prior (logging why) unless they were only added to."""
        if self.path is None:
            return
        fingerprints = row_fingerprints(x, glosses, signers, splits)
        self.new |= {"ids": np.asarray(ids, dtype=str), "fingerprints": fingerprints}
        if self.prior is not None:
            self.old_pos, why = _additions(self.prior["ids"], self.prior["fingerprints"], self.new["ids"], fingerprints)
            if self.old_pos is None:
                self.prior, self.reason = None, why
        if self.prior is None:
            _log(f"{self.path}: full evaluation ({self.reason})")
        else:
            _log(f"{self.path}: {len(self.old_pos)} cached rows, {len(ids) - len(self.old_pos)} new")

    def search(self, name: str, x: np.ndarray, glosses: np.ndarray, groups: np.ndarray | None) -> SearchState:
        """Variant `name`'s state: exclusions self (and same-group rows with `groups`), matches by gloss."""
        n, length = len(x), self.length
        if self.prior is None:
            state = _searched(x, glosses, groups, np.arange(n), length, self.metric)
        else:
            old = SearchState(*(self.prior[f"{name}_{f}"].astype(np.float64 if "key" in f else np.int64)
                                for f in _FIELDS))
            state, counts = _merge(old, self.old_pos, x, glosses, groups, length, self.metric)
            _log(f"{name}: {counts['merged']} cached queries merged, {counts['recomputed']} searched again, "
                 f"{counts['new']} new")
        self.new |= {f"{name}_{f}": getattr(state, f).astype(_STORED[f]) for f in _FIELDS}
        return state

    def dictionary(self, test_ids: np.ndarray, test_x: np.ndarray, test_glosses: np.ndarray,
                   train_ids: np.ndarray, train_x: np.ndarray, train_glosses: np.ndarray) -> np.ndarray:
        """Gloss ranks of the test videos (`dictionary.gloss_ranks`), updated from the cache when it holds them."""
        test_ids, train_ids = np.asarray(test_ids, dtype=str), np.asarray(train_ids, dtype=str)
        prior = self.prior if self.prior is not None and "dict_test_ids" in self.prior else None
        if prior is None:
            ranks, own = dictionary.ranks_and_nearest(test_x, test_glosses, train_x, train_glosses, self.metric)
        else:
            ranks, own = _dictionary_update(prior, test_ids, test_x, test_glosses, train_ids, train_x,
                                            train_glosses, self.metric)
        self.new |= {"dict_test_ids": test_ids, "dict_rank": ranks, "dict_own": own, "dict_train_ids": train_ids}
        return ranks

    def save(self) -> None:
        """Write the collected state atomically (a rerun then starts from it)."""
        if self.path is None:
            return
        meta = {"format": np.int64(FORMAT), "k": np.int64(self.k), "metric": np.str_(self.metric),
                "length": np.int64(self.length)}
        with atomic_path(self.path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **meta, **self.new)


def _log(message: str) -> None:
    print(f"evaluate cache: {message}", file=sys.stderr)


def _read(path: Path, k: int, metric: str, length: int) -> tuple[dict[str, np.ndarray] | None, str]:
    if not path.exists():
        return None, "no cache yet"
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {name: z[name] for name in z.files}
        found = (int(data["format"]), int(data["k"]), str(data["metric"]), int(data["length"]))
        if any(f"{v}_{f}" not in data for v in SEARCH_VARIANTS for f in _FIELDS) or "ids" not in data:
            return None, "cache incomplete"
    except Exception as exc:  # a truncated or foreign file: recompute, never fail the cell
        return None, f"unreadable cache ({type(exc).__name__}: {exc})"
    if found != (FORMAT, k, metric, length):
        return None, f"cache for (format, k, metric, length) {found}, now {(FORMAT, k, metric, length)}"
    return data, ""


def _additions(old_ids: np.ndarray, old_fp: np.ndarray, ids: np.ndarray, fp: np.ndarray) -> tuple[np.ndarray | None, str]:
    """New row of each cached row when the change is additions only, else (None, why)."""
    pos = pd.Index(ids).get_indexer(old_ids)
    if (pos < 0).any():
        return None, f"{int((pos < 0).sum())} cached videos left the subset (e.g. {old_ids[pos < 0][0]})"
    changed = fp[pos] != old_fp
    if changed.any():
        return None, f"{int(changed.sum())} videos changed (vector or labels; e.g. {old_ids[changed][0]})"
    if (np.diff(pos) <= 0).any():
        return None, "cached videos are in a different order"
    return pos, ""


def _codes(values: np.ndarray | None) -> np.ndarray | None:
    """Integer codes, -1 for a missing value (which never equals anything)."""
    return None if values is None else pd.factorize(np.asarray(values, dtype=object))[0].astype(np.int64)


def _searched(x: np.ndarray, glosses: np.ndarray, groups: np.ndarray | None, rows: np.ndarray, length: int,
              metric: str) -> SearchState:
    """The state of query `rows` searched against every row from scratch."""
    res = exact_neighbours(
        x[rows], x, length, metric, exclude=rows,
        query_groups=None if groups is None else groups[rows], corpus_groups=groups,
        query_labels=glosses[rows], corpus_labels=glosses,
    )
    return SearchState(res.idx, res.key, res.first_match, res.first_row, res.first_key)


def _merge(old: SearchState, old_pos: np.ndarray, x: np.ndarray, glosses: np.ndarray, groups: np.ndarray | None,
           length: int, metric: str) -> tuple[SearchState, dict[str, int]]:
    """The cached state (rows renumbered by `old_pos`) with the new rows merged in (module docstring)."""
    n = len(x)
    new_rows = np.setdiff1d(np.arange(n), old_pos)
    def remap(rows: np.ndarray) -> np.ndarray:
        return np.where(rows >= 0, old_pos[np.maximum(rows, 0)], -1)

    idx, key = remap(old.idx), old.key.copy()
    first, first_row, first_key = old.first.copy(), remap(old.first_row), old.first_key.copy()
    lab, grp = _codes(glosses), _codes(groups)
    nq = len(old_pos)
    full = idx[:, -1] >= 0
    list_limit = np.where(full, key[:, -1], np.inf)
    olab = lab[old_pos]
    gains = np.isin(olab, lab[new_rows]) & (olab >= 0)  # a new row may become its first match
    first_limit = np.where(first > 0, first_key, np.where(gains, np.inf, -np.inf))
    pr, pc, pk = close_pairs(x[old_pos], x[new_rows], metric, np.maximum(list_limit, first_limit))
    pc = new_rows[pc]
    if grp is not None:
        keep = ~((grp[old_pos[pr]] == grp[pc]) & (grp[pc] >= 0))
        pr, pc, pk = pr[keep], pc[keep], pk[keep]
    order = np.lexsort((pc, pk, pr))
    pr, pc, pk = pr[order], pc[order], pk[order]
    touched = np.unique(pr)

    # Lists: cached entries and qualifying pairs of the touched queries, first L by (key, row).
    t_local = np.searchsorted(touched, pr)
    cached_r = np.repeat(np.arange(len(touched)), length)
    cached_c, cached_k = idx[touched].ravel(), key[touched].ravel()
    valid = cached_c >= 0
    r_all = np.concatenate([cached_r[valid], t_local])
    c_all = np.concatenate([cached_c[valid], pc])
    k_all = np.concatenate([cached_k[valid], pk])
    o = np.lexsort((c_all, k_all, r_all))
    r_all, c_all, k_all = r_all[o], c_all[o], k_all[o]
    pos_in_row = np.arange(len(r_all)) - np.searchsorted(r_all, r_all)
    take = pos_in_row < length
    new_idx = np.full((len(touched), length), -1, np.int64)
    new_key = np.full((len(touched), length), np.inf)
    new_idx[r_all[take], pos_in_row[take]] = c_all[take]
    new_key[r_all[take], pos_in_row[take]] = k_all[take]

    # First matches. before(...)[q]: entries (keys, cols) of query q (qs) ranked before q's (ref_key, ref_row).
    def before(ref_key: np.ndarray, ref_row: np.ndarray, keys: np.ndarray, cols: np.ndarray, qs: np.ndarray) -> np.ndarray:
        lt = (keys < ref_key[qs]) | ((keys == ref_key[qs]) & (cols < ref_row[qs]))
        return np.bincount(qs[lt], minlength=nq)

    same = (lab[old_pos[pr]] == lab[pc]) & (lab[pc] >= 0)
    head = np.ones(int(same.sum()), bool)
    sr, sc, sk = pr[same], pc[same], pk[same]
    head[1:] = sr[1:] != sr[:-1]
    best_key, best_row = np.full(nq, np.inf), np.full(nq, -1, np.int64)
    best_key[sr[head]], best_row[sr[head]] = sk[head], sc[head]
    improved = (best_row >= 0) & ((first == 0) | (best_key < first_key) | ((best_key == first_key) & (best_row < first_row)))
    grow = (first > 0) & ~improved
    new_before = before(np.where(improved, best_key, first_key), np.where(improved, best_row, first_row), pk, pc, pr)
    first = np.where(grow, first + new_before, first)
    cq = np.repeat(np.arange(nq), length)[(idx >= 0).ravel()]
    old_before = before(best_key, best_row, key.ravel()[(idx >= 0).ravel()], idx.ravel()[idx.ravel() >= 0], cq)
    settled = ~full | (old_before < (idx >= 0).sum(axis=1))
    redo = improved & ~settled
    ok = improved & settled
    first[ok] = old_before[ok] + new_before[ok] + 1
    first_row[improved], first_key[improved] = best_row[improved], best_key[improved]

    idx[touched], key[touched] = new_idx, new_key
    out = SearchState(np.empty((n, length), np.int64), np.empty((n, length)), np.empty(n, np.int64),
                      np.empty(n, np.int64), np.empty(n))
    for f, v in zip(_FIELDS, (idx, key, first, first_row, first_key)):
        getattr(out, f)[old_pos] = v
    again = np.concatenate([old_pos[redo], new_rows])
    if len(again):
        fresh = _searched(x, glosses, groups, again, length, metric)
        for f in _FIELDS:
            getattr(out, f)[again] = getattr(fresh, f)
    return out, {"merged": int(nq - redo.sum()), "recomputed": int(redo.sum()), "new": int(len(new_rows))}


def _dictionary_update(prior: dict[str, np.ndarray], test_ids: np.ndarray, test_x: np.ndarray,
                       test_glosses: np.ndarray, train_ids: np.ndarray, train_x: np.ndarray,
                       train_glosses: np.ndarray, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Ranks and own-gloss nearest distances of the test videos from the cached ones (module docstring)."""
    test_g = np.asarray(test_glosses, dtype=object)
    train_g = np.asarray(train_glosses, dtype=object)
    added = ~np.isin(train_ids, prior["dict_train_ids"])
    gained = sorted({str(g) for g in train_g[added] if pd.notna(g)})
    cached = pd.Index(prior["dict_test_ids"]).get_indexer(test_ids)
    has_g = pd.notna(test_g)
    redo = (cached < 0) | (has_g & np.isin(test_g.astype(str), gained))
    ranks = np.zeros(len(test_ids), np.int64)
    own = np.full(len(test_ids), np.inf)
    keep = np.flatnonzero(~redo)
    ranks[keep], own[keep] = prior["dict_rank"][cached[keep]], prior["dict_own"][cached[keep]]
    adjust = keep[ranks[keep] > 0]
    if len(adjust) and gained:
        cols = np.flatnonzero(pd.notna(train_g) & np.isin(train_g.astype(str), gained))
        cols = cols[np.argsort(train_g[cols].astype(str), kind="stable")]
        names, starts = np.unique(train_g[cols].astype(str), return_index=True)
        corpus, was_there = np.asarray(train_x, dtype=np.float32)[cols], ~added[cols]
        for lo in range(0, len(adjust), 1024):
            q = adjust[lo : lo + 1024]
            args = (test_x[q], own[q], test_g[q].astype(str), corpus, names, starts, metric)
            now = dictionary.glosses_before(*args).sum(axis=1)
            then = dictionary.glosses_before(*args, usable=was_there).sum(axis=1)
            ranks[q] += now - then
    if redo.any():
        ranks[redo], own[redo] = dictionary.ranks_and_nearest(test_x[redo], test_g[redo], train_x, train_g, metric)
    return ranks, own
