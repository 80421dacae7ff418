"""Scores of the continuous-search protocol: segments against true boundaries, and timed hits of a search.

Ranges are half-open (frames or seconds). A predicted segment matches a true one when their IoU >= 0.5 (one to
one, best IoU first); a retrieved segment is a timed hit for a query when it lies in a video where the query's
sign truly is and its range fits that true range by one of two criteria: `iou` (IoU >= 0.5) or `centre` (it
contains the centre of the true range).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from math import comb

from signsearch.segment.concat import TrueSegment

CRITERIA = ("iou", "centre")


def iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Intersection over union of two half-open ranges (0 when either is empty)."""
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union > 0 else 0.0


def fits(found: tuple[float, float], true: tuple[float, float], criterion: str) -> bool:
    if criterion == "iou":
        return iou(found, true) >= 0.5
    if criterion == "centre":
        return found[0] <= (true[0] + true[1]) / 2 < found[1]
    raise ValueError(f"unknown criterion '{criterion}' (known: {', '.join(CRITERIA)})")


@dataclass(frozen=True)
class SegmentScores:
    predicted: int
    true: int
    matched: int  # one-to-one matches with IoU >= min_iou
    overlapped: int  # true segments that some predicted segment overlaps at all
    centred: int  # true segments whose centre lies inside some predicted segment

    @property
    def precision(self) -> float:
        return self.matched / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.matched / self.true if self.true else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: SegmentScores) -> SegmentScores:
        return SegmentScores(*(getattr(self, f) + getattr(other, f) for f in ("predicted", "true", "matched", "overlapped", "centred")))


def score_segments(predicted: Sequence[tuple[float, float]], true: Sequence[tuple[float, float]], min_iou: float = 0.5) -> SegmentScores:
    """Match predicted to true ranges one to one, highest IoU first; counts for precision/recall/F1."""
    pairs = sorted(((iou(p, t), i, j) for i, p in enumerate(predicted) for j, t in enumerate(true)), reverse=True)
    used_p, used_t = set(), set()
    for value, i, j in pairs:
        if value < min_iou:
            break
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
    overlapped = sum(any(iou(p, t) > 0 for p in predicted) for t in true)
    centred = sum(any(fits(p, t, "centre") for p in predicted) for t in true)
    return SegmentScores(len(predicted), len(true), len(used_p), overlapped, centred)


Hit = tuple[str, float, float]  # (video id, start s, end s) of one retrieved segment


def is_timed_hit(result: Hit, gloss: str, truth: Mapping[str, Sequence[TrueSegment]], criterion: str) -> bool:
    video, start, end = result
    return any(t.label == gloss and fits((start, end), (t.start_s, t.end_s), criterion) for t in truth.get(video, ()))


def timed_hit_at_k(queries: Sequence[tuple[str, Sequence[Hit]]], truth: Mapping[str, Sequence[TrueSegment]],
                   ks: Sequence[int] = (1, 5, 10), criterion: str = "iou") -> dict[int, float]:
    """Fraction of queries (gloss, ranked results) with a timed hit within the first k results, per k."""
    if not queries:
        return {k: 0.0 for k in ks}
    first = []
    for gloss, ranked in queries:
        ranks = [r for r, hit in enumerate(ranked) if is_timed_hit(hit, gloss, truth, criterion)]
        first.append(ranks[0] if ranks else None)
    return {k: sum(r is not None and r < k for r in first) / len(queries) for k in ks}


def timed_hit_chance(glosses: Sequence[str], candidates: Sequence[Hit], truth: Mapping[str, Sequence[TrueSegment]],
                     ks: Sequence[int] = (1, 5, 10), criterion: str = "iou") -> dict[int, float]:
    """Expected timed-hit@k when the indexed `candidates` are ranked at random, averaged over the query glosses."""
    n = len(candidates)
    out = {}
    for k in ks:
        total = 0.0
        for gloss in glosses:
            good = sum(is_timed_hit(c, gloss, truth, criterion) for c in candidates)
            total += 1.0 - comb(n - good, min(k, n)) / comb(n, min(k, n)) if n else 0.0
        out[k] = total / len(glosses) if glosses else 0.0
    return out
