"""Metric functions against hand-worked examples, and chance levels against a seeded Monte Carlo simulation."""

from __future__ import annotations

import numpy as np
import pytest

from signsearch.evaluate.confusions import confusion_pairs, per_gloss_table
from signsearch.evaluate.metrics import (
    chance_levels,
    evaluate_queries,
    match_matrix,
    metric_names,
    ranking_metrics,
    relevance,
)

# Subset used throughout: videos 0..5 with glosses A A A B B C, signers s1 s2 s1 s1 s2 s2.
GLOSSES = np.array(["A", "A", "A", "B", "B", "C"], dtype=object)
SIGNERS = np.array(["s1", "s2", "s1", "s1", "s2", "s2"], dtype=object)


def test_metric_names_follow_k():
    assert metric_names(10) == ["p_at_1", "p_at_5", "p_at_10", "r_at_10", "map_at_10", "mrr_at_10", "median_first_rank"]
    assert metric_names(3) == ["p_at_1", "p_at_3", "r_at_3", "map_at_3", "mrr_at_3", "median_first_rank"]


def test_relevance_all_and_singleton():
    rel = relevance(GLOSSES)
    # R = same-gloss videos other than itself; N = the 5 others; C has one video: no possible match.
    assert rel.n_relevant.tolist() == [2, 2, 2, 1, 1, 0]
    assert rel.n_candidates.tolist() == [5] * 6
    assert rel.reason.tolist() == [""] * 5 + ["only video of its gloss"]


def test_relevance_cross_signer():
    rel = relevance(GLOSSES, SIGNERS)
    # video 0 (A, s1): A videos by other signers = {1}; candidates = 6 - 3 videos of s1 = 3.
    # video 1 (A, s2): {0, 2} -> 2; candidates = 6 - 3 (s2 made 1, 4, 5) = 3.
    # video 3 (B, s1): {4} -> 1. video 4 (B, s2): {3} -> 1. video 5 (C, s2): nothing.
    assert rel.n_relevant.tolist() == [1, 2, 1, 1, 1, 0]
    assert rel.n_candidates.tolist() == [3, 3, 3, 3, 3, 3]
    assert rel.reason[5] == "no video of its gloss by another signer"


def test_relevance_missing_labels():
    rel = relevance(np.array(["A", "A", None], dtype=object), np.array(["s1", None, "s2"], dtype=object))
    # video 0: A by another signer: video 1 has no signer -> counts as another signer. video 1 itself: unevaluable.
    assert rel.n_relevant.tolist() == [1, 0, 0]
    assert rel.reason.tolist() == ["", "no signer label", "no gloss label"]


def test_match_matrix_padding_and_missing():
    idx = np.array([[3, 1, -1], [4, 5, 0]])
    corpus = np.array(["A", "A", "A", "B", "B", None], dtype=object)
    m = match_matrix(idx, np.array(["A", "B"], dtype=object), corpus)
    assert m.tolist() == [[False, True, False], [True, False, False]]


def test_ranking_metrics_hand_worked():
    # k = 3. Query 0 (A, R = 2) retrieves [3 B, 1 A, 5 C] -> matches F T F.
    #   P@1 = 0, P@3 = 1/3, AP@3 = 1/min(3, 2) * P@2 = 1/2 * 1/2 = 0.25, reciprocal rank 1/2.
    # Query 3 (B, R = 1) retrieves [4 B, 0 A, 1 A] -> T F F: P@1 = 1, P@3 = 1/3, AP@3 = 1, RR = 1.
    # First match in the full ranking: 2 and 1 -> median 1.5.
    matches = match_matrix(np.array([[3, 1, 5], [4, 0, 1]]), GLOSSES[[0, 3]], GLOSSES)
    got = ranking_metrics(matches, np.array([2, 1]), np.array([2, 1]))
    assert got == pytest.approx(
        {"p_at_1": 0.5, "p_at_3": 1 / 3, "r_at_3": 1.0, "map_at_3": 0.625, "mrr_at_3": 0.75, "median_first_rank": 1.5}
    )


def test_ranking_metrics_no_hit_and_map_normalisation():
    # R = 5 > k = 3 and a perfect list: AP@3 = (1 + 1 + 1) / min(3, 5) = 1. A list without a match scores 0 and
    # its MRR is 0 even though the full-ranking first match (rank 7) exists.
    m = np.array([[True, True, True], [False, False, False]])
    got = ranking_metrics(m, np.array([5, 2]), np.array([1, 7]))
    assert got["map_at_3"] == pytest.approx(0.5)
    assert got["mrr_at_3"] == pytest.approx(0.5)
    assert got["r_at_3"] == pytest.approx(0.5)
    assert got["median_first_rank"] == 4.0


def test_evaluate_queries_excludes_singletons_but_counts_them():
    # All six videos query; video 5 (C) has no possible match and must not dilute the averages.
    idx = np.array([[1, 3, 4], [0, 2, 3], [0, 1, 3], [4, 0, 1], [3, 0, 1], [0, 1, 2]])
    first = np.array([1, 1, 1, 1, 1, 0])
    res = evaluate_queries(match_matrix(idx, GLOSSES, GLOSSES), relevance(GLOSSES), first)
    assert res.values["p_at_1"] == 1.0
    # Query 0: matches T F F, R = 2 -> AP = 1/2; 1: T T F -> AP = (1 + 1)/2 = 1; 2: T T F -> 1; 3, 4: T -> 1.
    assert res.values["map_at_3"] == pytest.approx((0.5 + 1 + 1 + 1 + 1) / 5)
    assert res.counts == {"queries": 6, "evaluated_queries": 5, "excluded_queries": 1, "excluded: only video of its gloss": 1}


def test_chance_levels_hand_worked():
    # N = 5 candidates, R = 2 relevant, k = 3.
    # P@j = R/N = 0.4. R@3 = 1 - C(3,3)/C(5,3) = 0.9.
    # P[first = 1] = 2/5, P[first = 2] = 3/5 * 2/4 = 3/10, P[first = 3] = 3/5 * 2/4 * 2/3 = 1/5
    #   -> MRR@3 = 0.4 + 0.3/2 + 0.2/3.
    # AP@3 = 1/2 * sum_r (2/(5r)) (1 + (r-1)/4) = 1/2 * (0.4 + 0.25 + 0.2) = 0.425.
    # CDF of the first rank: 0.4, 0.7 -> median 2.
    got = chance_levels(np.array([2]), np.array([5]), 3)
    assert got == pytest.approx(
        {"p_at_1": 0.4, "p_at_3": 0.4, "r_at_3": 0.9, "mrr_at_3": 0.4 + 0.15 + 0.2 / 3, "map_at_3": 0.425, "median_first_rank": 2.0}
    )


def test_chance_levels_more_candidates_than_list():
    # k = 10 > N = 3, R = 1: P@10 counts missing positions as misses -> 1/10; the match is always in the list.
    got = chance_levels(np.array([1]), np.array([3]), 10)
    assert got["p_at_10"] == pytest.approx(0.1)
    assert got["r_at_10"] == pytest.approx(1.0)
    assert got["mrr_at_10"] == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)


@pytest.mark.parametrize("k", [3, 10])
def test_chance_levels_match_monte_carlo(k):
    rng = np.random.default_rng(20240611)
    sizes = [2, 2, 3, 5, 8, 1]  # gloss sizes of a small subset (the singleton is not a query)
    glosses = np.repeat(np.arange(len(sizes)), sizes)
    rel = relevance(glosses.astype(object))
    ok = rel.n_relevant >= 1
    reps = 4000
    matches, first, r_all = [], [], []
    for q in np.flatnonzero(ok):
        others = np.delete(np.arange(len(glosses)), q)
        relevant = glosses[others] == glosses[q]
        perm = np.argsort(rng.random((reps, len(others))), axis=1)
        ranked = relevant[perm]  # (reps, N) random rankings
        padded = np.zeros((reps, k), bool)
        padded[:, : min(k, ranked.shape[1])] = ranked[:, :k]
        matches.append(padded)
        first.append(ranked.argmax(axis=1) + 1)
        r_all.append(np.full(reps, rel.n_relevant[q]))
    sim = ranking_metrics(np.concatenate(matches), np.concatenate(r_all), np.concatenate(first))
    exact = chance_levels(rel.n_relevant[ok], rel.n_candidates[ok], k)
    for name in metric_names(k):
        tol = 1.0 if name == "median_first_rank" else 0.01
        assert sim[name] == pytest.approx(exact[name], abs=tol), name


def test_chance_levels_reject_unevaluable():
    with pytest.raises(ValueError):
        chance_levels(np.array([0]), np.array([5]), 3)


def test_confusion_pairs_hand_worked():
    # Query glosses A, A, B with top-2 lists: A->(B, C), A->(B, A), B->(A, -1 padding).
    # Directed: A->B 2, A->C 1, B->A 1 -> pairs (A, B): a_to_b 2, b_to_a 1, total 3; (A, C): 1, 0, 1.
    corpus = np.array(["A", "B", "C", "A"], dtype=object)
    idx = np.array([[1, 2], [1, 3], [0, -1]])
    # every query still has one right video below its wrong neighbours (relevant = 1), so every one counts
    got = confusion_pairs(idx, np.array(["A", "A", "B"], dtype=object), corpus, np.array([1, 1, 1]))
    assert got.values.tolist() == [["A", "B", 2, 1, 3], ["A", "C", 1, 0, 1]]


def test_confusions_count_only_wrong_glosses_that_outrank_a_right_one():
    # Issue 16: with P@1 = 1 and two other takes per gloss, ranks 3-10 are filler, not confusions.
    corpus = np.array(["A", "A", "A", "B", "B", "B", "C"], dtype=object)
    perfect = np.array([[1, 2, 3, 6], [0, 2, 4, 6]])  # A queries: both other A first, then B and C: filler
    assert confusion_pairs(perfect, np.array(["A", "A"], dtype=object), corpus).empty
    # B outranks the second right video of the first query (A, B, A): counted once; C after both A: not
    mixed = np.array([[1, 3, 2, 6], [3, 6, 0, 2]])  # second query: B and C before any A: both count
    got = confusion_pairs(mixed, np.array(["A", "A"], dtype=object), corpus)
    assert got.values.tolist() == [["A", "B", 2, 0, 2], ["A", "C", 1, 0, 1]]
    # a right video beyond the top k: every wrong neighbour in the list outranks it
    short = np.array([[3, 1, 6, -1]])
    got = confusion_pairs(short, np.array(["A"], dtype=object), corpus, np.array([2]))
    assert got.values.tolist() == [["A", "B", 1, 0, 1], ["A", "C", 1, 0, 1]]


def test_per_gloss_table():
    matches = np.array([[True, False], [False, False], [True, True], [False, False]])
    table = per_gloss_table(
        np.array(["A", "A", "B", "C"], dtype=object),
        matches,
        np.array([1, 4, 1, 0]),
        np.array([True, True, True, False]),
        np.array(["A", "A", "B", "C"], dtype=object),
    )
    rows = {r.gloss: r for r in table.itertuples()}
    assert rows["A"].p_at_1 == 0.5 and rows["A"].p_at_k == 0.25 and rows["A"].median_first_rank == 2.5
    assert rows["B"].mrr == 1.0 and rows["B"].videos == 1
    assert rows["C"].queries == 0 and np.isnan(rows["C"].p_at_k)
    assert table["gloss"].tolist() == ["A", "B", "C"]  # worst first, no-query glosses last


def test_best_possible_levels():
    # Issue 16: two other takes per gloss cap P@10 at 0.2; a perfect ranking reaches 1 for the others.
    from signsearch.evaluate.metrics import best_levels, ranking_metrics

    best = best_levels(np.array([2, 2, 4]), 10)
    assert best["p_at_10"] == pytest.approx((0.2 + 0.2 + 0.4) / 3) and best["p_at_1"] == 1.0
    assert best["p_at_5"] == pytest.approx((0.4 + 0.4 + 0.8) / 3) and best["map_at_10"] == 1.0
    perfect = np.zeros((3, 10), dtype=bool)
    perfect[0, :2] = perfect[1, :2] = perfect[2, :4] = True
    got = ranking_metrics(perfect, np.array([2, 2, 4]), np.array([1, 1, 1]))
    assert {k: round(v, 9) for k, v in got.items()} == {k: round(v, 9) for k, v in best.items()}
