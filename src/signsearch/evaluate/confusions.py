"""Which glosses a model mixes up, and how well each gloss is retrieved."""

from __future__ import annotations

import numpy as np
import pandas as pd

CONFUSION_COLUMNS = ["gloss_a", "gloss_b", "a_to_b", "b_to_a", "total"]
PER_GLOSS_COLUMNS = ["gloss", "videos", "queries", "p_at_1", "p_at_k", "hit_rate", "mrr", "median_first_rank"]


def confusion_pairs(idx: np.ndarray, query_glosses: np.ndarray, corpus_glosses: np.ndarray) -> pd.DataFrame:
    """Gloss pairs by how often each one's queries retrieve the other in the top k.

    a_to_b counts neighbours of gloss b in the lists of gloss-a queries (gloss_a < gloss_b alphabetically),
    total = a_to_b + b_to_a; sorted by total, descending (then by name). Pass only evaluated queries: a video
    whose gloss has no other example cannot be confused, it has nothing right to find.
    """
    qg = np.repeat(np.asarray(query_glosses, dtype=object), idx.shape[1])
    flat = idx.ravel()
    cg = np.asarray(corpus_glosses, dtype=object)
    ok = flat >= 0
    df = pd.DataFrame({"a": qg[ok], "b": cg[flat[ok]]}).dropna()
    df = df[df["a"] != df["b"]]
    if df.empty:
        return pd.DataFrame(columns=CONFUSION_COLUMNS)
    directed = df.value_counts().rename("n").reset_index()
    directed["gloss_a"] = directed[["a", "b"]].min(axis=1)
    directed["gloss_b"] = directed[["a", "b"]].max(axis=1)
    directed["forward"] = directed["a"] == directed["gloss_a"]
    directed["a_to_b"] = np.where(directed["forward"], directed["n"], 0)
    directed["b_to_a"] = np.where(directed["forward"], 0, directed["n"])
    pairs = directed.groupby(["gloss_a", "gloss_b"], as_index=False)[["a_to_b", "b_to_a"]].sum()
    pairs["total"] = pairs["a_to_b"] + pairs["b_to_a"]
    pairs = pairs.sort_values(["total", "gloss_a", "gloss_b"], ascending=[False, True, True], kind="stable")
    return pairs[CONFUSION_COLUMNS].reset_index(drop=True)


def per_gloss_table(
    query_glosses: np.ndarray,
    matches: np.ndarray,
    first_rank: np.ndarray,
    evaluated: np.ndarray,
    all_glosses: np.ndarray,
) -> pd.DataFrame:
    """One row per gloss of the subset: videos, evaluated queries and their mean P@1, P@k, hit rate, MRR@k and
    median first rank (NaN for glosses with no evaluated query); sorted by P@k ascending (worst first)."""
    k = matches.shape[1]
    hit = matches.any(axis=1)
    first_in_k = np.where(hit, matches.argmax(axis=1) + 1, 0)
    q = pd.DataFrame(
        {
            "gloss": np.asarray(query_glosses, dtype=object),
            "p_at_1": matches[:, 0].astype(float),
            "p_at_k": matches.sum(axis=1) / k,
            "hit_rate": hit.astype(float),
            "mrr": np.where(hit, 1.0 / np.maximum(first_in_k, 1), 0.0),
            "median_first_rank": np.asarray(first_rank, dtype=float),
        }
    )[np.asarray(evaluated, dtype=bool)]
    stats = q.groupby("gloss").agg(
        queries=("p_at_1", "size"),
        p_at_1=("p_at_1", "mean"),
        p_at_k=("p_at_k", "mean"),
        hit_rate=("hit_rate", "mean"),
        mrr=("mrr", "mean"),
        median_first_rank=("median_first_rank", "median"),
    )
    videos = pd.Series(np.asarray(all_glosses, dtype=object)).dropna().value_counts().rename("videos")
    table = pd.DataFrame(videos).join(stats, how="left")
    table["queries"] = table["queries"].fillna(0).astype(int)
    table = table.rename_axis("gloss").reset_index()
    table = table.sort_values(["p_at_k", "gloss"], na_position="last", kind="stable")
    return table[PER_GLOSS_COLUMNS].reset_index(drop=True)
