"""Exact k-nearest-neighbour search in memory, blockwise, with rankings identical to an exact float64 scan.

Distances (the pgvector definitions): l2 = Euclidean, cosine = 1 - cos (a zero vector counts as orthogonal,
distance 1), ip = negative inner product. Ties are broken by ascending corpus row index.

How it stays exact while using float32 BLAS: each block of queries gets approximate distances from ONE float32
matmul (for l2 the corpus carries an extra |c|^2 column, so no further pass is needed). The approximation error
of every entry is bounded a priori (Higham's inner-product bound, `_tolerance`); candidates are chosen on the
approximate values, re-ranked with distances recomputed in float64 from the original vectors, and a query whose
k-th exact distance is not separated from the first non-candidate by that bound is redone from every item that
could still compete. The same bound makes the full-ranking rank of the first same-label item exact.

Candidate selection avoids a full argpartition (the slowest step in numpy): a threshold is taken from a fixed
sample of corpus columns (the c-th smallest of a subset bounds the c-th smallest overall from above), and only
entries under it are sorted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

METRICS = ("l2", "cosine", "ip")
_U = 2.0**-24  # float32 unit roundoff
_MARGIN = 8  # candidates beyond k, so the exactness check rarely needs the fallback
_PROBE = 4096  # sampled columns for the candidate threshold
_PAIR_CHUNK = 8192  # (query, corpus) pairs per float64 re-rank batch (~50 MB at dim 768)


@dataclass(frozen=True)
class Neighbours:
    """Result of `exact_neighbours`: corpus rows and distances, best first, plus optional full-ranking first-match ranks."""

    idx: np.ndarray  # (nq, k) int64 corpus rows; -1 where the query has fewer than k candidates
    dist: np.ndarray  # (nq, k) float32; inf where idx is -1
    first_match: np.ndarray | None  # (nq,) int64 1-based rank of the first same-label item; 0 when there is none
    # The exact float64 ranking keys behind dist (`ranking_keys`), and the first same-label item's row (-1 when
    # none) and key: what an incremental update needs to merge new corpus rows into these results.
    key: np.ndarray | None = None  # (nq, k) float64; inf where idx is -1
    first_row: np.ndarray | None = None  # (nq,) int64
    first_key: np.ndarray | None = None  # (nq,) float64; inf when there is no first match


def topk_exact(
    queries: np.ndarray,
    corpus: np.ndarray,
    k: int,
    metric: str,
    *,
    exclude: np.ndarray | None = None,
    query_groups: np.ndarray | None = None,
    corpus_groups: np.ndarray | None = None,
    block: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k corpus rows for each query: (idx (nq, k) int64, dist (nq, k) float32).

    `exclude[i]` is a corpus row query i may not retrieve (itself in an all-against-all search; -1 for none).
    With `query_groups`/`corpus_groups` (e.g. signers), corpus items in the query's own group are excluded too.
    """
    res = exact_neighbours(
        queries, corpus, k, metric, exclude=exclude, query_groups=query_groups, corpus_groups=corpus_groups, block=block
    )
    return res.idx, res.dist


def exact_neighbours(
    queries: np.ndarray,
    corpus: np.ndarray,
    k: int,
    metric: str,
    *,
    exclude: np.ndarray | None = None,
    query_groups: np.ndarray | None = None,
    corpus_groups: np.ndarray | None = None,
    query_labels: np.ndarray | None = None,
    corpus_labels: np.ndarray | None = None,
    block: int | None = None,
) -> Neighbours:
    """`topk_exact` plus, given labels, the rank of each query's first same-label item in the FULL ranking.

    Missing labels (None/NaN) never match; missing groups never exclude anything.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {METRICS}")
    if k < 1:
        raise ValueError("k must be >= 1")
    q = np.ascontiguousarray(queries, dtype=np.float32)
    c = np.ascontiguousarray(corpus, dtype=np.float32)
    if q.ndim != 2 or c.ndim != 2 or q.shape[1] != c.shape[1]:
        raise ValueError(f"queries {q.shape} and corpus {c.shape} must be 2-D with the same dimension")
    nq, n = len(q), len(c)
    excl = None if exclude is None else np.asarray(exclude, dtype=np.int64)
    qg, cg = _codes(query_groups, corpus_groups, nq, n, "groups")
    ql, cl = _codes(query_labels, corpus_labels, nq, n, "labels")
    engine = _Engine(q, c, metric, cl)
    cg_sorted = None if cg is None else cg[engine.perm]
    if block is None:
        block = int(np.clip(32_000_000 // max(n, 1), 64, 4096))  # ~128 MB of float32 distances per block

    idx = np.full((nq, k), -1, dtype=np.int64)
    dist = np.full((nq, k), np.inf, dtype=np.float32)
    key = np.full((nq, k), np.inf)
    first = np.zeros(nq, dtype=np.int64) if ql is not None else None
    first_row = np.full(nq, -1, dtype=np.int64) if ql is not None else None
    first_key = np.full(nq, np.inf) if ql is not None else None
    for lo in range(0, nq, block):
        rows = np.arange(lo, min(lo + block, nq))
        s = engine.approx(rows)
        if excl is not None:
            e = excl[rows]
            ok = e >= 0
            s[np.flatnonzero(ok), engine.pos[e[ok]]] = np.inf
        if qg is not None:
            s[qg[rows, None] == cg_sorted[None, :]] = np.inf
        idx[rows], dist[rows], key[rows] = engine.topk(rows, s, k)
        if first is not None:
            first[rows], first_row[rows], first_key[rows] = engine.first_match(rows, s, ql[rows])
    return Neighbours(idx, dist, first, key, first_row, first_key)


def ranking_keys(queries: np.ndarray, corpus: np.ndarray, metric: str) -> np.ndarray:
    """Exact float64 ranking keys of the pairs (queries[i], corpus[i]) of float32 vectors (l2: squared distance,
    same order), computed as `exact_neighbours` computes them: the key of a pair never depends on what else is
    searched, so an incremental update and a full run agree bit for bit."""
    out = np.empty(len(queries), dtype=np.float64)
    for s in range(0, len(out), _PAIR_CHUNK):
        a = np.asarray(queries[s : s + _PAIR_CHUNK], dtype=np.float32).astype(np.float64)
        b = np.asarray(corpus[s : s + _PAIR_CHUNK], dtype=np.float32).astype(np.float64)
        norms = (np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)) if metric == "cosine" else (None, None)
        out[s : s + len(a)] = _pair_keys(a, b, *norms, metric)
    return out


def _pair_keys(a: np.ndarray, b: np.ndarray, an: np.ndarray | None, bn: np.ndarray | None, metric: str) -> np.ndarray:
    """Row-wise float64 keys of (a[i], b[i]); an/bn are the rows' norms (cosine only)."""
    if metric == "l2":
        d = a - b
        return np.einsum("ij,ij->i", d, d)
    dot = np.einsum("ij,ij->i", a, b)
    if metric == "ip":
        return -dot
    norms = an * bn
    return 1.0 - np.divide(dot, norms, out=np.zeros_like(dot), where=norms > 0)


def reported(key: np.ndarray, metric: str) -> np.ndarray:
    """The float32 distances `exact_neighbours` reports for ranking keys (inf stays inf)."""
    key = np.asarray(key, dtype=np.float64)
    return (np.sqrt(np.maximum(key, 0.0)) if metric == "l2" else key).astype(np.float32)


def close_pairs(
    queries: np.ndarray, corpus: np.ndarray, metric: str, limit: np.ndarray, *, block: int = 4096
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (query row, corpus row) pair whose exact ranking key is <= limit[query row], with that key.

    One float32 matmul per block bounds which pairs can qualify (the same a-priori bound as `exact_neighbours`);
    only those are recomputed in float64. limit may hold inf (every pair) or -inf (none).
    """
    q = np.ascontiguousarray(queries, dtype=np.float32)
    c = np.ascontiguousarray(corpus, dtype=np.float32)
    limit = np.asarray(limit, dtype=np.float64)
    out_r, out_c, out_k = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0)]
    if len(q) == 0 or len(c) == 0:
        return out_r[0], out_c[0], out_k[0]
    engine = _Engine(q, c, metric, None)
    for lo in range(0, len(q), block):
        rows = np.arange(lo, min(lo + block, len(q)))
        s = engine.approx(rows)
        # Rounded outward after the cast so the bound still holds (as in `_Engine.first_match`).
        lim = np.nextafter((limit[rows] - engine.offset[rows] + engine.tol[rows]).astype(np.float32), np.float32(np.inf))
        r, col = np.nonzero(s <= lim[:, None])
        ex = engine.exact(rows[r], col)
        ok = ex <= limit[rows[r]]
        out_r.append(rows[r[ok]])
        out_c.append(engine.perm[col[ok]])
        out_k.append(ex[ok])
    return np.concatenate(out_r), np.concatenate(out_c), np.concatenate(out_k)


def _codes(qv, cv, nq: int, n: int, what: str) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Joint integer codes; a missing value gets -1 (query) / -2 (corpus) so it never equals anything."""
    if qv is None and cv is None:
        return None, None
    if qv is None or cv is None:
        raise ValueError(f"give both query_{what} and corpus_{what}")
    if len(qv) != nq or len(cv) != n:
        raise ValueError(f"query_{what}/corpus_{what} lengths must match queries/corpus")
    codes, _ = pd.factorize(np.concatenate([np.asarray(qv, dtype=object), np.asarray(cv, dtype=object)]))
    q, c = codes[:nq].astype(np.int64), codes[nq:].astype(np.int64)
    q[q < 0] = -1
    c[c < 0] = -2
    return q, c


class _Engine:
    """Per-search state. Corpus columns are permuted (sorted by label) so each label is one contiguous slice."""

    def __init__(self, q: np.ndarray, c: np.ndarray, metric: str, labels: np.ndarray | None) -> None:
        self.q, self.c, self.metric = q, c, metric
        n, dim = c.shape
        self.perm = np.argsort(labels, kind="stable") if labels is not None else np.arange(n)
        self.pos = np.empty(n, dtype=np.int64)
        self.pos[self.perm] = np.arange(n)
        if labels is not None:
            sorted_labels = labels[self.perm]
            self.label_start = np.searchsorted(sorted_labels, np.arange(sorted_labels.max(initial=-1) + 1))
            self.label_end = np.searchsorted(sorted_labels, np.arange(sorted_labels.max(initial=-1) + 1), "right")
        cp = c[self.perm].astype(np.float64)
        qn = np.linalg.norm(q.astype(np.float64), axis=1)
        cn = np.linalg.norm(cp, axis=1)
        self.qn, self.cn = qn, cn
        cmax = cn.max(initial=0.0)
        gamma = (dim + 1) * _U / (1 - (dim + 1) * _U)
        # approx = dist - offset, per query row; tol bounds |approx - (exact dist - offset)| (x2 for safety).
        if metric == "l2":
            self.cm = np.hstack([cp, (cn**2)[:, None]]).astype(np.float32)
            self.offset = qn**2
            self.tol = 2 * (gamma * (2 * qn * cmax + cmax**2) + 2 * _U * (cmax**2 + qn**2)) + 1e-30
        elif metric == "cosine":
            self.cm = _unit(cp).astype(np.float32)
            self.offset = np.ones(len(q))
            self.tol = np.full(len(q), 2 * (gamma + 8 * _U))
        else:
            self.cm = cp.astype(np.float32)
            self.offset = np.zeros(len(q))
            self.tol = 2 * (gamma * qn * cmax + 2 * _U * qn * cmax) + 1e-30
        self.probe = np.unique(np.linspace(0, n - 1, min(n, _PROBE)).astype(np.int64)) if n else np.zeros(0, np.int64)

    def approx(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), n) float32 approximate distances minus the row offset, corpus in permuted order."""
        q = self.q[rows].astype(np.float64)
        if self.metric == "l2":
            qm = np.hstack([-2 * q, np.ones((len(q), 1))])
        elif self.metric == "cosine":
            qm = -_unit(q)
        else:
            qm = -q
        return qm.astype(np.float32) @ self.cm.T

    def exact(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """float64 distances of (query row, permuted corpus column) pairs; l2 is squared here (same order)."""
        out = np.empty(len(rows), dtype=np.float64)
        for s in range(0, len(rows), _PAIR_CHUNK):
            r, cc = rows[s : s + _PAIR_CHUNK], cols[s : s + _PAIR_CHUNK]
            a = self.q[r].astype(np.float64)
            b = self.c[self.perm[cc]].astype(np.float64)
            out[s : s + len(r)] = _pair_keys(a, b, self.qn[r], self.cn[cc], self.metric)
        return out

    def _rerank(self, rows_local: np.ndarray, cols: np.ndarray, rows: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Exact distances for candidate pairs (inf for excluded entries)."""
        ex = np.full(len(cols), np.inf)
        finite = np.isfinite(s[rows_local, cols])
        ex[finite] = self.exact(rows[rows_local[finite]], cols[finite])
        return ex

    def topk(self, rows: np.ndarray, s: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        b, n = s.shape
        c = min(n, k + _MARGIN)
        if c == 0:
            return np.full((b, k), -1, np.int64), np.full((b, k), np.inf, np.float32), np.full((b, k), np.inf)
        thr = np.partition(s[:, self.probe], c - 1, axis=1)[:, c - 1] if len(self.probe) >= c else np.full(b, np.inf)
        r, col = np.nonzero(s <= thr[:, None])
        vals = s[r, col]
        order = np.lexsort((vals, r))
        r, col, vals = r[order], col[order], vals[order]
        start = np.searchsorted(r, np.arange(b))
        count = np.diff(np.append(start, len(r)))
        rank_in_row = np.arange(len(r)) - start[r]
        keep = rank_in_row < c
        # The smallest approximate value NOT kept: the (c+1)-th candidate, or above the threshold if all were kept.
        bound = np.where(count > c, np.inf, thr.astype(np.float64))
        over = np.flatnonzero(rank_in_row == c)
        bound[r[over]] = vals[over]
        r, col = r[keep], col[keep]
        ex = self._rerank(r, col, rows, s)
        idx_out, dist_out, kth = self._take(r, col, ex, b, k)
        off, tol = self.offset[rows], self.tol[rows]
        redo = ~(bound + off - tol > kth)  # a non-candidate could still beat the k-th: redo the row
        for i in np.flatnonzero(redo):
            lim = np.nextafter(np.float32(kth[i] - off[i] + tol[i]), np.float32(np.inf))
            cand = np.flatnonzero(np.isfinite(s[i]) & (s[i] <= lim))
            ex = self._rerank(np.full(len(cand), i), cand, rows, s)
            one_idx, one_dist, _ = self._take(np.zeros(len(cand), np.int64), cand, ex, 1, k)
            idx_out[i], dist_out[i] = one_idx[0], one_dist[0]
        return self._finish(idx_out, dist_out)

    def _take(
        self, r: np.ndarray, col: np.ndarray, ex: np.ndarray, b: int, k: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per row, the k best (exact distance, original index) pairs; also the k-th exact distance (inf if < k)."""
        orig = self.perm[col]
        order = np.lexsort((orig, ex, r))
        r, col, ex = r[order], col[order], ex[order]
        start = np.searchsorted(r, np.arange(b))
        rank_in_row = np.arange(len(r)) - start[r]
        keep = rank_in_row < k
        idx_out = np.full((b, k), -1, np.int64)
        dist_out = np.full((b, k), np.inf)
        idx_out[r[keep], rank_in_row[keep]] = col[keep]
        dist_out[r[keep], rank_in_row[keep]] = ex[keep]
        return idx_out, dist_out, dist_out[:, k - 1].copy()

    def _finish(self, idx_out: np.ndarray, dist_out: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        missing = ~np.isfinite(dist_out)
        idx = np.where(missing, -1, self.perm[np.maximum(idx_out, 0)])
        key = np.where(missing, np.inf, dist_out)
        return idx, reported(key, self.metric), key

    def first_match(self, rows: np.ndarray, s: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per row: 1-based full-ranking rank of the first same-label item (0 when none is retrievable), its
        original corpus row (-1) and its exact key (inf)."""
        b = len(rows)
        off, tol = self.offset[rows], self.tol[rows]
        best = np.full(b, np.inf)
        best_col = np.full(b, -1, np.int64)
        pr, pc = [], []
        for i in range(b):
            g = labels[i]
            if g < 0 or g >= len(self.label_start):
                continue
            lo, hi = self.label_start[g], self.label_end[g]
            seg = s[i, lo:hi]
            if hi == lo:
                continue
            amin = seg.min()
            if not np.isfinite(amin):
                continue
            near = np.flatnonzero(seg <= amin + 2 * tol[i]) + lo
            pr.append(np.full(len(near), i))
            pc.append(near)
        if pr:
            r, col = np.concatenate(pr), np.concatenate(pc)
            ex = self._rerank(r, col, rows, s)
            order = np.lexsort((self.perm[col], ex, r))
            r, col, ex = r[order], col[order], ex[order]
            head = np.ones(len(r), bool)
            head[1:] = r[1:] != r[:-1]
            best[r[head]], best_col[r[head]] = ex[head], col[head]
        has = np.isfinite(best)
        lo_thr = (best - off - tol).astype(np.float32)
        hi_thr = (best - off + tol).astype(np.float32)
        # Round the float32 thresholds outward so the bound still holds after the cast.
        lo_thr = np.nextafter(lo_thr, np.float32(-np.inf))
        hi_thr = np.nextafter(hi_thr, np.float32(np.inf))
        below = np.count_nonzero(s < lo_thr[:, None], axis=1)
        band = np.count_nonzero(s <= hi_thr[:, None], axis=1) - below
        rank = below + 1
        for i in np.flatnonzero(has & (band > 1)):
            cand = np.flatnonzero((s[i] >= lo_thr[i]) & (s[i] <= hi_thr[i]))
            ex = self._rerank(np.full(len(cand), i), cand, rows, s)
            orig = self.perm[cand]
            jstar = self.perm[best_col[i]]
            rank[i] = below[i] + 1 + np.count_nonzero((ex < best[i]) | ((ex == best[i]) & (orig < jstar)))
        first_row = np.where(has, self.perm[np.maximum(best_col, 0)], -1)
        return np.where(has, rank, 0), first_row, best


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
