"""Batches of P glosses x K clips, the K clips of a gloss spread over as many signers as possible (seeded)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

import numpy as np


class GlossSignerSampler:
    """Yields index batches: P glosses (only those made by >= 2 signers, when there are at least 2 such), and for
    each K clips taken round-robin over its signers in a shuffled order, so a batch has cross-signer positives.
    A gloss with fewer than K clips repeats some (augmentation makes the repeats differ)."""

    def __init__(
        self, glosses: Sequence[str], signers: Sequence[str], p: int, k: int, batches: int, seed: int
    ) -> None:
        if p < 2 or k < 2:
            raise ValueError("P and K must both be >= 2 (a metric loss needs positives and negatives)")
        by: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for i, (g, s) in enumerate(zip(glosses, signers)):
            by[g][s].append(i)
        multi = sorted(g for g in by if len(by[g]) >= 2)
        self.glosses = multi if len(multi) >= 2 else sorted(by)
        if len(self.glosses) < 2:
            raise ValueError("training needs at least 2 glosses")
        self.by = {g: {s: by[g][s] for s in sorted(by[g])} for g in self.glosses}
        self.p, self.k, self.batches = min(p, len(self.glosses)), k, batches
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.batches

    def __iter__(self) -> Iterator[list[int]]:
        for _ in range(self.batches):
            batch: list[int] = []
            for g in self.rng.choice(self.glosses, self.p, replace=False):
                batch += self._clips(self.by[str(g)])
            yield batch

    def _clips(self, per_signer: dict[str, list[int]]) -> list[int]:
        signers = list(per_signer)
        pools = {s: list(self.rng.permutation(per_signer[s])) for s in signers}
        order = [signers[i] for i in self.rng.permutation(len(signers))]
        out: list[int] = []
        while len(out) < self.k:
            for s in order:
                if len(out) == self.k:
                    break
                if not pools[s]:
                    pools[s] = list(self.rng.permutation(per_signer[s]))
                out.append(int(pools[s].pop()))
        return out
