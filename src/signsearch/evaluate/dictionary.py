"""ASL Citizen's dictionary protocol: each test video looks its sign up among the training videos.

Glosses are ranked by the distance of their NEAREST training video (ties: gloss name order); the rank of the
test video's true gloss gives top-1/5/10/20 accuracy, MRR (1 / rank, full ranking) and DCG (1 / log2(1 + rank),
averaged). Test videos whose gloss has no training video cannot be found: they are excluded and counted.
Distances are computed in float64 (l2 = Euclidean, cosine = 1 - cos, ip = negative inner product).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TOPS = (1, 5, 10, 20)


def pairwise_distances(queries: np.ndarray, corpus: np.ndarray, metric: str) -> np.ndarray:
    """(nq, n) float64 distances; zero vectors are orthogonal to everything under cosine."""
    q, c = np.asarray(queries, np.float64), np.asarray(corpus, np.float64)
    if metric == "l2":
        d2 = (q**2).sum(1)[:, None] + (c**2).sum(1)[None, :] - 2 * q @ c.T
        return np.sqrt(np.maximum(d2, 0.0))
    if metric == "ip":
        return -(q @ c.T)
    if metric == "cosine":
        qn, cn = np.linalg.norm(q, axis=1), np.linalg.norm(c, axis=1)
        q = np.divide(q, qn[:, None], out=np.zeros_like(q), where=qn[:, None] > 0)
        c = np.divide(c, cn[:, None], out=np.zeros_like(c), where=cn[:, None] > 0)
        return 1.0 - q @ c.T
    raise ValueError(f"unknown metric {metric!r}")


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
    train_g = np.asarray(train_glosses, dtype=object)
    keep = pd.notna(train_g)
    order = np.argsort(train_g[keep].astype(str), kind="stable")
    vectors = np.asarray(train_vectors)[keep][order]
    names, starts = np.unique(train_g[keep][order].astype(str), return_index=True)
    code = {g: i for i, g in enumerate(names)}
    truth = np.array([code.get(g, -1) if pd.notna(g) else -1 for g in test_glosses], dtype=np.int64)
    ranks = np.zeros(len(truth), dtype=np.int64)
    for lo in range(0, len(truth), block):
        sl = slice(lo, lo + block)
        nearest = np.minimum.reduceat(pairwise_distances(test_vectors[sl], vectors, metric), starts, axis=1)
        t = truth[sl]
        own = nearest[np.arange(len(t)), np.maximum(t, 0)][:, None]
        before = (nearest < own) | ((nearest == own) & (np.arange(len(names))[None, :] < t[:, None]))
        ranks[sl] = np.where(t >= 0, before.sum(axis=1) + 1, 0)
    return ranks


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
