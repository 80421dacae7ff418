"""Metric ids (`p_at_10`, `map_at_10`, ...) as the results page and the report's figures name them, and where a
value stands between its chance level and the best value possible on the subset (what the colours of the page
mean). Outside `signsearch.web`: the grid job's figures use it without Flask."""

from __future__ import annotations

import math
import re

_AT = re.compile(r"^(p|r|map|mrr)_at_(\d+)$")
_NAMES = {
    "p": "Precision at {k} (P@{k})",
    "r": "Hit rate at {k} (a right video in the top {k})",
    "map": "Mean average precision at {k} (mAP@{k})",
    "mrr": "Mean reciprocal rank at {k} (MRR@{k})",
}
OTHER = {
    "median_first_rank": "Median rank of the first right video",
    "top_1": "Top-1 accuracy", "top_5": "Top-5 accuracy", "top_10": "Top-10 accuracy", "top_20": "Top-20 accuracy",
    "mrr": "Mean reciprocal rank", "dcg": "Discounted cumulative gain",
    "hit_rate": "Hit rate", "p_at_k": "Precision at k", "queries": "evaluated queries", "videos": "videos",
    "gloss": "gloss",
}
_SHORT = {"p": "P@{k}", "r": "Hit@{k}", "map": "mAP@{k}", "mrr": "MRR@{k}"}
LOWER_IS_BETTER = {"median_first_rank"}


def readable(metric: str) -> str:
    """`p_at_10` -> "Precision at 10 (P@10)"; an unknown id is returned as it is."""
    m = _AT.match(str(metric))
    if m:
        return _NAMES[m.group(1)].format(k=m.group(2))
    return OTHER.get(str(metric), str(metric))


def short(metric: str) -> str:
    """`p_at_10` -> "P@10" (a figure's tick label; the `readable` name otherwise)."""
    m = _AT.match(str(metric))
    return _SHORT[m.group(1)].format(k=m.group(2)) if m else readable(metric)


def progress(value: float | None, chance: float | None, best: float | None) -> float | None:
    """Where `value` lies from chance (0) to the best possible (1); None without the three numbers.
    For a lower-is-better metric pass it as is: chance > best then, and the fraction still runs 0 -> 1."""
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in (value, chance, best)):
        return None
    if best == chance:
        return 1.0 if value == best else 0.0
    return max(0.0, min(1.0, (value - chance) / (best - chance)))
