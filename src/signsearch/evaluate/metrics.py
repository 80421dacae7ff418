"""Retrieval metrics from neighbour lists and labels, and their exact chance levels.

Setting: every video of a subset queries the rest of the subset (itself excluded; in the cross-signer variant
every video by the query's own signer is excluded too). A neighbour with the query's gloss is a match.
For query q: N = candidates it can retrieve, R = how many of them share its gloss (the relevant items).

Definitions (averaged over EVALUATED queries, those with R >= 1; k is the list length, 10 by default):

* P@j = (matches among the first j neighbours) / j, for j in (1, 5, k). Missing positions (a query with fewer
  than j candidates) count as non-matches.
* R@k = share of queries with at least one match in the top k (a hit rate, as in the original experiment).
* mAP@k: AP@k = (1 / min(k, R)) * sum over ranks r <= k holding a match of P@r. Normalising by min(k, R) instead
  of R makes a perfect list score 1 even when R > k.
* MRR@k = mean of 1 / (rank of the first match), 0 when the first match is beyond rank k.
* median first rank = median over queries of the rank of the first match in the FULL ranking (ties broken by
  corpus row, as the ranking itself), not only the top k.

Queries with R = 0 (a gloss with a single video, or in the cross-signer variant a gloss no other signer made, or a
missing gloss/signer label) have no possible match: they are excluded from the averages and counted, but their
videos stay in the corpus as distractors.

Chance levels: the exact expectation of each metric when each query's N candidates are ranked by a uniformly
random permutation, averaged over the evaluated queries with their own (N, R):

* E[P@j] = R * min(j, N) / (N * j)                                   (hypergeometric mean)
* E[R@k] = 1 - C(N - R, k) / C(N, k)                                  (hypergeometric P[no match in k])
* P[first match at r] = C(N - r, R - 1) / C(N, R), so E[MRR@k] = sum_{r <= k} P[first at r] / r
* E[AP@k] = 1 / min(k, R) * sum_{r <= min(k, N)} (R / (N r)) * (1 + (r - 1)(R - 1) / (N - 1)), from
  E[rel_r * matches in 1..r] = P[rel_r] + (r - 1) * P[rel_i and rel_r] = R/N + (r - 1) R (R - 1) / (N (N - 1)).
* median first rank: the median of the pooled first-rank distribution, i.e. the smallest r with
  mean over queries of P[first <= r] >= 1/2 (P[first <= r] = 1 - C(N - R, r) / C(N, r)). This is the value the
  observed median tends to with many queries; for a single (N, R) it is the exact median of the first rank.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Relevance:
    """Per query: R (relevant candidates) and N (candidates); `reason` says why a query with R = 0 is out."""

    n_relevant: np.ndarray  # (nq,) int64
    n_candidates: np.ndarray  # (nq,) int64
    reason: np.ndarray  # (nq,) object: "" for evaluated queries, else why the query is excluded


@dataclass(frozen=True)
class RankingMetrics:
    values: dict[str, float]
    chance: dict[str, float]
    counts: dict[str, int]
    best: dict[str, float] = field(default_factory=dict)  # what a perfect ranking scores (`best_levels`)


def metric_names(k: int) -> list[str]:
    """Metric keys in report order for list length k."""
    ps = sorted({j for j in (1, 5, k) if j <= k})
    return [f"p_at_{j}" for j in ps] + [f"r_at_{k}", f"map_at_{k}", f"mrr_at_{k}", "median_first_rank"]


def relevance(glosses: np.ndarray, signers: np.ndarray | None = None) -> Relevance:
    """R and N for an all-against-all search within one set of videos (self excluded).

    With `signers`, the cross-signer variant: items by the query's own signer are not candidates. A missing gloss
    never matches; a missing signer makes the query unevaluable but leaves the video a candidate for others.
    """
    g = pd.Series(np.asarray(glosses, dtype=object))
    n = len(g)
    has_g = g.notna().to_numpy()
    per_gloss = g.map(g.value_counts()).fillna(0).to_numpy(np.int64)
    reason = np.full(n, "", dtype=object)
    reason[~has_g] = "no gloss label"
    if signers is None:
        r = np.where(has_g, per_gloss - 1, 0)
        cand = np.full(n, n - 1, dtype=np.int64)
        reason[has_g & (r == 0)] = "only video of its gloss"
        return Relevance(r.astype(np.int64), cand, reason)
    s = pd.Series(np.asarray(signers, dtype=object))
    has_s = s.notna().to_numpy()
    per_signer = s.map(s.value_counts()).fillna(1).to_numpy(np.int64)
    both = pd.DataFrame({"g": g, "s": s})
    per_pair = both.groupby(["g", "s"], dropna=False)["g"].transform("size").to_numpy(np.int64)
    r = np.where(has_g & has_s, per_gloss - per_pair, 0)
    cand = n - per_signer
    reason[has_g & ~has_s] = "no signer label"
    reason[has_g & has_s & (r == 0)] = "no video of its gloss by another signer"
    return Relevance(r.astype(np.int64), cand.astype(np.int64), reason)


def match_matrix(idx: np.ndarray, query_glosses: np.ndarray, corpus_glosses: np.ndarray) -> np.ndarray:
    """(nq, k) bool: neighbour idx[i, j] (-1 = none) has query i's gloss; missing glosses never match."""
    qg = np.asarray(query_glosses, dtype=object)
    cg = np.append(np.asarray(corpus_glosses, dtype=object), None)  # idx -1 -> None
    nb = cg[np.where(idx < 0, len(cg) - 1, idx)]
    valid = pd.notna(qg)[:, None] & pd.notna(nb)
    return valid & (nb == qg[:, None])


def ranking_metrics(matches: np.ndarray, n_relevant: np.ndarray, first_rank: np.ndarray) -> dict[str, float]:
    """The metrics (module docstring) over the given queries; all rows must have n_relevant >= 1."""
    m = np.asarray(matches, dtype=bool)
    nq, k = m.shape
    if nq == 0:
        return {name: float("nan") for name in metric_names(k)}
    r = np.asarray(n_relevant, dtype=np.float64)
    cum = np.cumsum(m, axis=1)
    out = {f"p_at_{j}": float((cum[:, j - 1] / j).mean()) for j in sorted({1, 5, k}) if j <= k}
    hit = m.any(axis=1)
    out[f"r_at_{k}"] = float(hit.mean())
    prec = cum / np.arange(1, k + 1)
    out[f"map_at_{k}"] = float(((prec * m).sum(axis=1) / np.minimum(k, r)).mean())
    first = np.where(hit, m.argmax(axis=1) + 1, 0)
    out[f"mrr_at_{k}"] = float(np.where(hit, 1.0 / np.maximum(first, 1), 0.0).mean())
    out["median_first_rank"] = float(np.median(first_rank))
    return out


def chance_levels(n_relevant: np.ndarray, n_candidates: np.ndarray, k: int) -> dict[str, float]:
    """Exact expectations of `ranking_metrics` under uniformly random rankings (module docstring)."""
    R = np.asarray(n_relevant, dtype=np.int64)
    N = np.asarray(n_candidates, dtype=np.int64)
    if len(R) == 0:
        return {name: float("nan") for name in metric_names(k)}
    if (R < 1).any() or (R > N).any():
        raise ValueError("chance levels need 1 <= R <= N for every query")
    pairs, inverse = np.unique(np.stack([N, R], axis=1), axis=0, return_inverse=True)
    weight = np.bincount(inverse.ravel(), minlength=len(pairs)) / len(R)
    acc = {name: 0.0 for name in metric_names(k)}
    r_max = int((pairs[:, 0] - pairs[:, 1]).max()) + 1
    cdf = np.zeros(r_max)
    for (n, rel), w in zip(pairs, weight):
        ranks = np.arange(1, r_max + 1)
        surv = _no_match_in_first(n, rel, r_max)  # P[first > r], r = 1..r_max
        p_first = np.concatenate([[1.0], surv[:-1]]) - surv  # P[first == r]
        for j in sorted({1, 5, k}):
            if j <= k:
                acc[f"p_at_{j}"] += w * rel * min(j, n) / (n * j)
        acc[f"r_at_{k}"] += w * (1 - surv[min(k, r_max) - 1])
        acc[f"mrr_at_{k}"] += w * float((p_first[:k] / ranks[:k]).sum())
        r = np.arange(1, min(k, n) + 1)
        pair_term = (r - 1) * (rel - 1) / (n - 1) if n > 1 else np.zeros(len(r))
        acc[f"map_at_{k}"] += w * float((rel / (n * r) * (1 + pair_term)).sum()) / min(k, rel)
        cdf += w * (1 - surv)
    acc["median_first_rank"] = float(np.searchsorted(cdf, 0.5 - 1e-12) + 1)
    return acc


def best_levels(n_relevant: np.ndarray, k: int) -> dict[str, float]:
    """What `ranking_metrics` gives for a perfect ranking (every relevant candidate first): P@j is capped at
    mean(min(R, j) / j), e.g. 0.2 for P@10 with two other takes per gloss; the other metrics reach 1 (rank 1)."""
    R = np.asarray(n_relevant, dtype=np.float64)
    if len(R) == 0:
        return {name: float("nan") for name in metric_names(k)}
    out = {f"p_at_{j}": float((np.minimum(R, j) / j).mean()) for j in sorted({1, 5, k}) if j <= k}
    out |= {f"r_at_{k}": 1.0, f"map_at_{k}": 1.0, f"mrr_at_{k}": 1.0, "median_first_rank": 1.0}
    return out


def _no_match_in_first(n: int, rel: int, length: int) -> np.ndarray:
    """P[no relevant item among the first r] = C(n - rel, r) / C(n, r) for r = 1..length (0 once r > n - rel)."""
    i = np.arange(length)
    factors = np.clip((n - rel - i) / np.maximum(n - i, 1), 0.0, 1.0)
    return np.cumprod(factors)


def evaluate_queries(
    matches: np.ndarray, rel: Relevance, first_rank: np.ndarray
) -> RankingMetrics:
    """Metrics, chance levels and counts for the evaluated queries (R >= 1) of one variant."""
    k = matches.shape[1]
    ok = rel.n_relevant >= 1
    reasons = pd.Series(rel.reason[~ok]).value_counts()
    counts = {"queries": int(len(ok)), "evaluated_queries": int(ok.sum()), "excluded_queries": int((~ok).sum())}
    counts |= {f"excluded: {why}": int(c) for why, c in reasons.items()}
    return RankingMetrics(
        values=ranking_metrics(matches[ok], rel.n_relevant[ok], first_rank[ok]),
        chance=chance_levels(rel.n_relevant[ok], rel.n_candidates[ok], k),
        counts=counts,
        best=best_levels(rel.n_relevant[ok], k),
    )
