"""Cross-signer retrieval scores with the project's own search and metric code (as the evaluation grid's
`cross_signer` variant: all against all, the query's own signer's clips excluded, cosine)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from signsearch.evaluate.metrics import evaluate_queries, match_matrix, relevance
from signsearch.evaluate.retrieval import exact_neighbours


def cross_signer_scores(
    vectors: np.ndarray, glosses: Sequence[str], signers: Sequence[str], k: int = 10
) -> dict[str, float]:
    """All metrics of the cross-signer variant (p_at_1, map_at_10, ...), plus `evaluated_queries`."""
    g = np.asarray(glosses, dtype=object)
    s = np.asarray(signers, dtype=object)
    rows = np.arange(len(g))
    res = exact_neighbours(
        vectors, vectors, k, "cosine", exclude=rows, query_groups=s, corpus_groups=s, query_labels=g, corpus_labels=g
    )
    out = evaluate_queries(match_matrix(res.idx, g, g), relevance(g, s), res.first_match)
    return {**out.values, "evaluated_queries": float(out.counts["evaluated_queries"])}
