"""Text-video retrieval for models with a text tower: gloss prompts against videos, similarity = dot product.

* text-to-video: each distinct gloss's text embedding ranks all videos; P@k = share of the top k videos with
  that gloss (k in 1, 5, 10), median rank of the first video of that gloss. Glosses without videos are skipped.
* video-to-text: each video ranks the gloss texts; R@k = share of videos whose own gloss is in the top k,
  median rank of the own gloss. Videos whose gloss is not among the texts are skipped (and counted).

Ties are broken by ascending row index (video row, or position in the gloss list). Chance levels: a uniformly
random ranking gives E[P@k] = mean over texts of (videos of the gloss) / (videos), and E[R@k] = min(k, G) / G.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KS = (1, 5, 10)
_BLOCK_CELLS = 4_000_000  # similarity cells per block of the rank computations (~32 MB of float64)
# The search metric that ranks as `text_scores` does: pgvector's `<#>` is -a.b, so ascending distance is descending
# dot product. Text search (CLI and web) uses it, whatever metric the model's video space is configured with.
TEXT_SEARCH_METRIC = "ip"


def text_scores(video_vectors: np.ndarray, text_vectors: np.ndarray) -> np.ndarray:
    """(n videos, G texts) similarities: raw dot products, as SignCLIP scores text against video."""
    return np.asarray(video_vectors, np.float64) @ np.asarray(text_vectors, np.float64).T


def rank_videos(video_vectors: np.ndarray, text_vector: np.ndarray, k: int | None = None) -> np.ndarray:
    """Video rows best first for one text, ties by ascending row: the text-to-video ranking below."""
    sims = text_scores(video_vectors, np.asarray(text_vector)[None, :])[:, 0]
    return np.lexsort((np.arange(len(sims)), -sims))[:k]


def text_video_metrics(
    video_vectors: np.ndarray,
    video_glosses: np.ndarray,
    text_vectors: np.ndarray,
    text_glosses: list[str],
) -> dict[str, float]:
    """Metrics, chance levels (`*_chance`) and counts for both directions (module docstring)."""
    sims = text_scores(video_vectors, text_vectors)  # (n videos, G texts)
    n, g = sims.shape
    code = {t: i for i, t in enumerate(text_glosses)}
    truth = np.array([code.get(x, -1) if pd.notna(x) else -1 for x in video_glosses], dtype=np.int64)
    out: dict[str, float] = {}

    # video -> text: rank of the own gloss among the G texts, in row blocks so the comparison arrays stay
    # (block x G) beside `sims` (whole, they were several copies of a 0.7 GB matrix at 33k x 2.7k).
    ok = truth >= 0
    ok_rows = np.flatnonzero(ok)
    cols = np.arange(g)[None, :]
    rank_v2t = np.empty(len(ok_rows), np.int64)
    step = max(1, _BLOCK_CELLS // max(g, 1))
    for a in range(0, len(ok_rows), step):
        rows = ok_rows[a : a + step]
        block, own_gloss = sims[rows], truth[rows]
        own = block[np.arange(len(rows)), own_gloss][:, None]
        rank_v2t[a : a + len(rows)] = ((block > own) | ((block == own) & (cols < own_gloss[:, None]))).sum(axis=1) + 1
    for k in KS:
        out[f"v2t_r_at_{k}"] = float((rank_v2t <= k).mean()) if ok.any() else float("nan")
        out[f"v2t_r_at_{k}_chance"] = min(k, g) / g
    out["v2t_median_rank"] = float(np.median(rank_v2t)) if ok.any() else float("nan")
    out["v2t_queries"] = int(ok.sum())
    out["v2t_excluded_queries"] = int((~ok).sum())

    # text -> video: each text column ranks the n videos, best (highest similarity) first, ties by video row.
    counts = np.bincount(truth[ok], minlength=g)
    texts = np.flatnonzero(counts > 0)
    # In column blocks: the sort order and hit arrays of all texts at once were (n x texts) int64 and bool copies.
    hits = {k: np.empty(len(texts), np.int64) for k in KS}
    first_rank = np.empty(len(texts), np.int64)
    step = max(1, _BLOCK_CELLS // max(n, 1))
    for a in range(0, len(texts), step):
        block = texts[a : a + step]
        order = np.lexsort((np.broadcast_to(np.arange(n)[:, None], (n, len(block))), -sims[:, block]), axis=0)
        relevant = truth[order] == block[None, :]  # (n ranks, texts of the block)
        for k in KS:
            hits[k][a : a + len(block)] = relevant[:k].sum(axis=0)
        first_rank[a : a + len(block)] = relevant.argmax(axis=0) + 1
    for k in KS:
        out[f"t2v_p_at_{k}"] = float(hits[k].mean() / k) if len(texts) else float("nan")
        out[f"t2v_p_at_{k}_chance"] = float((counts[texts] * min(k, n) / (n * k)).mean()) if len(texts) else float("nan")
    out["t2v_median_first_rank"] = float(np.median(first_rank)) if len(texts) else float("nan")
    out["t2v_queries"] = int(len(texts))
    out["t2v_excluded_queries"] = int(g - len(texts))
    return out
