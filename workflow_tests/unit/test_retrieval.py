"""In-memory exact search against a naive float64 full sort, for every metric, with exclusions and ties."""

from __future__ import annotations

import numpy as np
import pytest

from signsearch.evaluate.retrieval import exact_neighbours, topk_exact


def naive(q, c, k, metric, exclude=None, qg=None, cg=None, ql=None, cl=None):
    """Full float64 distance matrix, lexsort by (distance, corpus row); first same-label rank from the full list."""
    q64, c64 = q.astype(np.float64), c.astype(np.float64)
    if metric == "l2":
        d = np.sqrt(((q64[:, None, :] - c64[None]) ** 2).sum(-1))
    elif metric == "ip":
        d = -(q64 @ c64.T)
    else:
        d = 1 - (q64 @ c64.T) / np.outer(np.linalg.norm(q64, axis=1), np.linalg.norm(c64, axis=1))
    if exclude is not None:
        d[np.arange(len(q)), exclude] = np.inf
    if qg is not None:
        d[qg[:, None] == cg[None]] = np.inf
    idx = np.full((len(q), k), -1)
    dist = np.full((len(q), k), np.inf)
    first = np.zeros(len(q), int)
    for i in range(len(q)):
        order = np.lexsort((np.arange(len(c)), d[i]))
        order = order[np.isfinite(d[i][order])]
        idx[i, : min(k, len(order))] = order[:k]
        dist[i, : min(k, len(order))] = d[i][order[:k]]
        if ql is not None:
            hits = np.flatnonzero(cl[order] == ql[i])
            first[i] = hits[0] + 1 if len(hits) else 0
    return idx, dist, first


def clustered(rng, n, dim, labels=8, noise=0.3):
    lab = rng.integers(0, labels, n)
    x = (rng.standard_normal((labels, dim))[lab] + noise * rng.standard_normal((n, dim))).astype(np.float32)
    return x, lab


@pytest.mark.parametrize("metric", ["l2", "cosine", "ip"])
@pytest.mark.parametrize("seed", [0, 1])
def test_all_against_all_equals_naive(metric, seed):
    rng = np.random.default_rng(seed)
    n = 150 + 40 * seed
    x, lab = clustered(rng, n, 24)
    x[7] = x[3]  # exact duplicates: equal distances, order by row
    x[11] = x[3]
    got = exact_neighbours(x, x, 10, metric, exclude=np.arange(n), query_labels=lab, corpus_labels=lab, block=33)
    idx, dist, first = naive(x, x, 10, metric, exclude=np.arange(n), ql=lab, cl=lab)
    np.testing.assert_array_equal(got.idx, idx)
    np.testing.assert_allclose(got.dist, dist, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(got.first_match, first)


@pytest.mark.parametrize("metric", ["l2", "cosine", "ip"])
def test_cross_signer_mask_equals_naive(metric):
    rng = np.random.default_rng(3)
    x, lab = clustered(rng, 120, 16)
    signer = rng.integers(0, 4, 120)
    got = exact_neighbours(
        x, x, 10, metric, exclude=np.arange(120), query_groups=signer, corpus_groups=signer,
        query_labels=lab, corpus_labels=lab, block=50,
    )
    idx, _, first = naive(x, x, 10, metric, exclude=np.arange(120), qg=signer, cg=signer, ql=lab, cl=lab)
    np.testing.assert_array_equal(got.idx, idx)
    np.testing.assert_array_equal(got.first_match, first)
    assert not (signer[np.maximum(got.idx, 0)] == signer[:, None])[got.idx >= 0].any()


@pytest.mark.parametrize("metric", ["l2", "cosine", "ip"])
def test_near_ties_ordered_as_float64(metric):
    # Neighbours differing by ~1e-7 relative (below float32 matmul accuracy): order must follow exact float64.
    rng = np.random.default_rng(5)
    base = rng.standard_normal(64).astype(np.float32)
    corpus = np.repeat(base[None], 60, axis=0)
    corpus += (rng.standard_normal((60, 64)) * 1e-3).astype(np.float32)
    corpus[10:40] = corpus[10] + (rng.standard_normal((30, 64)) * 1e-6).astype(np.float32)
    queries = corpus[[10, 20, 0]] + np.float32(1e-6)
    idx, dist = topk_exact(queries, corpus, 12, metric)
    nidx, ndist, _ = naive(queries, corpus, 12, metric)
    np.testing.assert_array_equal(idx, nidx)


def test_hand_worked_ties_and_first_match():
    # Query at 0 on a line; corpus at 1, -1, 2, 1 -> distances 1, 1, 2, 1; ties by row: 0, 1, 3, then 2.
    corpus = np.array([[1.0], [-1.0], [2.0], [1.0]], dtype=np.float32)
    res = exact_neighbours(
        np.zeros((2, 1), np.float32), corpus, 4, "l2",
        query_labels=np.array(["a", "c"], dtype=object), corpus_labels=np.array(["b", "a", "a", "a"], dtype=object),
    )
    assert res.idx.tolist() == [[0, 1, 3, 2]] * 2
    assert res.dist.tolist() == [[1, 1, 1, 2]] * 2
    # 'a' first appears at rank 2 (row 1); 'c' never -> 0.
    assert res.first_match.tolist() == [2, 0]


def test_fewer_candidates_than_k_are_padded():
    x = np.eye(3, dtype=np.float32)
    idx, dist = topk_exact(x, x, 5, "l2", exclude=np.arange(3))
    assert idx[0].tolist() == [1, 2, -1, -1, -1]
    assert np.isinf(dist[:, 2:]).all()


def test_zero_vector_cosine_is_orthogonal():
    c = np.array([[0, 0], [1, 0], [-1, 0]], dtype=np.float32)
    idx, dist = topk_exact(np.array([[1, 0]], np.float32), c, 3, "cosine")
    assert idx.tolist() == [[1, 0, 2]]
    np.testing.assert_allclose(dist, [[0, 1, 2]])


def test_bad_arguments():
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match="unknown metric"):
        topk_exact(x, x, 1, "manhattan")
    with pytest.raises(ValueError, match="same dimension"):
        topk_exact(x, np.zeros((2, 4), np.float32), 1, "l2")
