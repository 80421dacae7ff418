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


def text_video_metrics(
    video_vectors: np.ndarray,
    video_glosses: np.ndarray,
    text_vectors: np.ndarray,
    text_glosses: list[str],
) -> dict[str, float]:
    """Metrics, chance levels (`*_chance`) and counts for both directions (module docstring)."""
    sims = np.asarray(video_vectors, np.float64) @ np.asarray(text_vectors, np.float64).T  # (n videos, G texts)
    n, g = sims.shape
    code = {t: i for i, t in enumerate(text_glosses)}
    truth = np.array([code.get(x, -1) if pd.notna(x) else -1 for x in video_glosses], dtype=np.int64)
    out: dict[str, float] = {}

    # video -> text: rank of the own gloss among the G texts.
    ok = truth >= 0
    own = sims[ok, truth[ok]][:, None]
    cols = np.arange(g)[None, :]
    rank_v2t = ((sims[ok] > own) | ((sims[ok] == own) & (cols < truth[ok][:, None]))).sum(axis=1) + 1
    for k in KS:
        out[f"v2t_r_at_{k}"] = float((rank_v2t <= k).mean()) if ok.any() else float("nan")
        out[f"v2t_r_at_{k}_chance"] = min(k, g) / g
    out["v2t_median_rank"] = float(np.median(rank_v2t)) if ok.any() else float("nan")
    out["v2t_queries"] = int(ok.sum())
    out["v2t_excluded_queries"] = int((~ok).sum())

    # text -> video: each text column ranks the n videos, best (highest similarity) first, ties by video row.
    counts = np.bincount(truth[ok], minlength=g)
    texts = np.flatnonzero(counts > 0)
    order = np.lexsort((np.broadcast_to(np.arange(n)[:, None], (n, len(texts))), -sims[:, texts]), axis=0)
    relevant = truth[order] == texts[None, :]  # (n ranks, texts)
    for k in KS:
        out[f"t2v_p_at_{k}"] = float(relevant[:k].sum(axis=0).mean() / k) if len(texts) else float("nan")
        out[f"t2v_p_at_{k}_chance"] = float((counts[texts] * min(k, n) / (n * k)).mean()) if len(texts) else float("nan")
    out["t2v_median_first_rank"] = float(np.median(relevant.argmax(axis=0) + 1)) if len(texts) else float("nan")
    out["t2v_queries"] = int(len(texts))
    out["t2v_excluded_queries"] = int(g - len(texts))
    return out
