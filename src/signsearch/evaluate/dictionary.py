"""ASL Citizen's dictionary protocol: each test video looks its sign up among the training videos.

Glosses are ranked by the distance of their NEAREST training video (ties: gloss name order); the rank of the
test video's true gloss gives top-1/5/10/20 accuracy, MRR (1 / rank, full ranking) and DCG (1 / log2(1 + rank),
averaged). Test videos whose gloss has no training video cannot be found: they are excluded and counted.
Distances are exact float64 keys (`retrieval.ranking_keys`: squared Euclidean for l2, cosine = 1 - cos, ip =
negative inner product), so a video's ranks never depend on what else is evaluated with it (the incremental
update relies on that); a float64 BLAS pass with an error bound settles all but the near-ties.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from signsearch.evaluate.retrieval import ranking_keys

TOPS = (1, 5, 10, 20)
_PAIRS = 8192  # (query, training video) pairs per exact-key batch


def pairwise_distances(queries: np.ndarray, corpus: np.ndarray, metric: str) -> np.ndarray:
    """(nq, n) float64 distances; zero vectors are orthogonal to everything under cosine."""
    keys = _approx_keys(queries, corpus, metric)
    return np.sqrt(np.maximum(keys, 0.0)) if metric == "l2" else keys


def gloss_ranks(
    test_vectors: np.ndarray,
    test_glosses: np.ndarray,
    train_vectors: np.ndarray,
    train_glosses: np.ndarray,
    metric: str,
    *,
    block: int = 1024,
) -> np.ndarray:
    """1-based rank of each test video's gloss among the training glosses; 0 when it has no training video."""
    return ranks_and_nearest(test_vectors, test_glosses, train_vectors, train_glosses, metric, block=block)[0]


def ranks_and_nearest(
    test_vectors: np.ndarray,
    test_glosses: np.ndarray,
    train_vectors: np.ndarray,
    train_glosses: np.ndarray,
    metric: str,
    *,
    block: int = 1024,
) -> tuple[np.ndarray, np.ndarray]:
    """`gloss_ranks` and each test video's own-gloss nearest key (`retrieval.ranking_keys`; inf when none): what
    an incremental update compares the nearest keys of glosses with new training videos to."""
    train_g = np.asarray(train_glosses, dtype=object)
    keep = pd.notna(train_g)
    order = np.argsort(train_g[keep].astype(str), kind="stable")
    vectors = np.asarray(train_vectors, dtype=np.float32)[keep][order]
    names, starts = np.unique(train_g[keep][order].astype(str), return_index=True)
    code = {g: i for i, g in enumerate(names)}
    truth = np.array([code.get(g, -1) if pd.notna(g) else -1 for g in test_glosses], dtype=np.int64)
    test_vectors = np.asarray(test_vectors, dtype=np.float32)
    own = gloss_nearest(test_vectors, truth, vectors, starts, metric)
    own_names = np.where(truth >= 0, names[np.maximum(truth, 0)], "")
    ranks = np.zeros(len(truth), dtype=np.int64)
    for lo in range(0, len(truth), block):
        sl = slice(lo, lo + block)
        before = glosses_before(test_vectors[sl], own[sl], own_names[sl], vectors, names, starts, metric)
        ranks[sl] = np.where(truth[sl] >= 0, before.sum(axis=1) + 1, 0)
    return ranks, own


def gloss_nearest(queries: np.ndarray, gloss: np.ndarray, corpus: np.ndarray, starts: np.ndarray, metric: str,
                  usable: np.ndarray | None = None) -> np.ndarray:
    """Per query, the exact key of its nearest corpus row of gloss block `gloss[i]` (corpus grouped by gloss, block
    g from starts[g]; -1: none -> inf); `usable` masks corpus rows out."""
    ends = np.append(starts[1:], len(corpus))
    g = np.asarray(gloss, dtype=np.int64)
    has = g >= 0
    lo, hi = np.where(has, starts[np.maximum(g, 0)], 0), np.where(has, ends[np.maximum(g, 0)], 0)
    size = hi - lo
    rows = np.repeat(np.arange(len(g)), size)
    cols = np.repeat(lo, size) + np.arange(size.sum()) - np.repeat(np.cumsum(size) - size, size)
    if usable is not None:
        ok = usable[cols]
        rows, cols = rows[ok], cols[ok]
    out = np.full(len(g), np.inf)
    for s in range(0, len(rows), _PAIRS):
        r = rows[s : s + _PAIRS]
        np.minimum.at(out, r, ranking_keys(queries[r], corpus[cols[s : s + _PAIRS]], metric))
    return out


def glosses_before(queries: np.ndarray, own: np.ndarray, own_names: np.ndarray, corpus: np.ndarray,
                   names: np.ndarray, starts: np.ndarray, metric: str, usable: np.ndarray | None = None) -> np.ndarray:
    """(nq, glosses) bool: gloss block g's nearest corpus row ranks before the query's own gloss (key `own`, name
    `own_names`; ties by name; the own gloss itself is never before). Keys are exact (`retrieval.ranking_keys`):
    a float64 BLAS pass decides every gloss clearly apart from `own`, the exact keys the rest."""
    approx = _approx_keys(queries, corpus, metric)
    if usable is not None:
        approx[:, ~usable] = np.inf
    near = np.minimum.reduceat(approx, starts, axis=1)
    tol = _approx_tolerance(queries, corpus, metric)[:, None]
    o = own[:, None]
    before = near < o - tol
    i, g = np.nonzero(~before & (near <= o + tol))
    mine = names[g] == own_names[i]  # (never clearly before: its nearest IS own)
    i, g = i[~mine], g[~mine]
    if len(i):
        exact = gloss_nearest(queries[i], g, corpus, starts, metric, usable)
        before[i, g] = (exact < own[i]) | ((exact == own[i]) & (names[g] < own_names[i]))
    return before


def _approx_keys(queries: np.ndarray, corpus: np.ndarray, metric: str) -> np.ndarray:
    """float64 BLAS keys (l2 squared, cosine, negative inner product); within `_approx_tolerance` of the exact."""
    q, c = np.asarray(queries, np.float64), np.asarray(corpus, np.float64)
    if metric == "l2":
        return (q**2).sum(1)[:, None] + (c**2).sum(1)[None, :] - 2 * q @ c.T
    if metric == "ip":
        return -(q @ c.T)
    if metric == "cosine":
        qn, cn = np.linalg.norm(q, axis=1), np.linalg.norm(c, axis=1)
        q = np.divide(q, qn[:, None], out=np.zeros_like(q), where=qn[:, None] > 0)
        c = np.divide(c, cn[:, None], out=np.zeros_like(c), where=cn[:, None] > 0)
        return 1.0 - q @ c.T
    raise ValueError(f"unknown metric {metric!r}")


def _approx_tolerance(queries: np.ndarray, corpus: np.ndarray, metric: str) -> np.ndarray:
    """Per query, a bound on |approximate - exact key| for any corpus row: both are float64 sums of dim products
    (Higham's gamma bound for each, plus the few extra roundings of the l2 expansion and the normalisation), x4."""
    dim = queries.shape[1]
    u = 2.0**-53
    gamma = (dim + 4) * u / (1 - (dim + 4) * u)
    qn = np.linalg.norm(np.asarray(queries, np.float64), axis=1)
    cmax = np.linalg.norm(np.asarray(corpus, np.float64), axis=1).max(initial=0.0)
    if metric == "l2":
        return 4 * (3 * gamma) * (qn + cmax) ** 2 + 1e-300
    if metric == "ip":
        return 4 * (2 * gamma) * qn * cmax + 1e-300
    return np.full(len(qn), 4 * (2 * gamma + 16 * u))


def dictionary_metrics(ranks: np.ndarray) -> dict[str, float]:
    """top-n accuracy for n in TOPS, MRR and DCG over test videos with a findable gloss (rank >= 1), plus counts."""
    ranks = np.asarray(ranks)
    ok = ranks[ranks >= 1].astype(np.float64)
    out: dict[str, float] = {f"top_{n}": float((ok <= n).mean()) if len(ok) else float("nan") for n in TOPS}
    out["mrr"] = float((1 / ok).mean()) if len(ok) else float("nan")
    out["dcg"] = float((1 / np.log2(1 + ok)).mean()) if len(ok) else float("nan")
    out["queries"] = int(len(ranks))
    out["excluded_no_training_video"] = int((ranks < 1).sum())
    return out
