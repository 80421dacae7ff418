"""Which glosses a model mixes up, and how well each gloss is retrieved."""

from __future__ import annotations

import numpy as np
import pandas as pd

CONFUSION_COLUMNS = ["gloss_a", "gloss_b", "a_to_b", "b_to_a", "total"]
PER_GLOSS_COLUMNS = ["gloss", "videos", "queries", "p_at_1", "p_at_k", "hit_rate", "mrr", "median_first_rank"]


def confusion_pairs(idx: np.ndarray, query_glosses: np.ndarray, corpus_glosses: np.ndarray,
                    relevant: np.ndarray | None = None) -> pd.DataFrame:
    """Gloss pairs by how often a video of one gloss outranks a right answer in the other's queries.

    A neighbour of a wrong gloss b at rank r of a gloss-a query counts only while some right video (of gloss a)
    still ranks below it: fewer than `relevant[q]` right videos were retrieved before rank r. So the filler after
    every right video was found (P@1 = 1 with two other takes: ranks 3-10 must be someone) is no confusion.
    `relevant` is the number of right videos each query has in the corpus (default: the corpus's videos of its
    gloss minus the query itself, as in leave-one-out). a_to_b counts gloss-b neighbours of gloss-a queries
    (gloss_a < gloss_b alphabetically), total = a_to_b + b_to_a; sorted by total, descending (then by name).
    Pass only evaluated queries: a video whose gloss has no other example has nothing right to find.
    """
    idx = np.asarray(idx)
    qgloss = np.asarray(query_glosses, dtype=object)
    cg = np.asarray(corpus_glosses, dtype=object)
    if relevant is None:
        counts = pd.Series(cg).value_counts()
        relevant = np.array([counts.get(g, 0) - 1 for g in qgloss])
    ok = idx >= 0
    neighbour = np.where(ok, cg[np.where(ok, idx, 0)], None)
    right = ok & (neighbour == qgloss[:, None])
    right_before = np.cumsum(right, axis=1) - right
    outranks = ok & ~right & (right_before < np.asarray(relevant)[:, None])
    qg = np.repeat(qgloss, idx.shape[1]).reshape(idx.shape)
    df = pd.DataFrame({"a": qg[outranks], "b": neighbour[outranks]}).dropna()
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
