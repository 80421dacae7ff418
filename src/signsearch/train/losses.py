"""Metric losses on L2-normalised embeddings with gloss labels (and signers, for cross-signer positives).

* `supcon`: supervised contrastive (Khosla et al. 2020), every other clip of the gloss a positive.
* `infonce`: one positive per anchor (its first same-gloss clip in the batch), all other glosses negatives.
* `triplet`: batch-hard triplet (Hermans et al. 2017) on cosine distance with a margin.

With `cross_signer=True` a positive must come from another signer (same-signer pairs are neither positives nor
negatives), which is what cross-signer retrieval rewards; anchors without such a positive are skipped.
"""

from __future__ import annotations

import torch

LOSSES = ("supcon", "infonce", "triplet")


def metric_loss(
    z: torch.Tensor,
    labels: torch.Tensor,
    signers: torch.Tensor,
    kind: str,
    *,
    temperature: float = 0.1,
    margin: float = 0.2,
    cross_signer: bool = True,
) -> torch.Tensor:
    n = len(z)
    eye = torch.eye(n, dtype=torch.bool, device=z.device)
    same = labels[:, None] == labels[None, :]
    pos = same & ~eye
    ignore = eye.clone()
    if cross_signer:
        same_signer = signers[:, None] == signers[None, :]
        pos = pos & ~same_signer
        ignore = ignore | (same & same_signer)
    anchors = pos.any(1)
    if not anchors.any():
        return z.sum() * 0.0
    sim = z @ z.T
    if kind == "triplet":
        dist = 1.0 - sim
        hardest_pos = torch.where(pos, dist, torch.full_like(dist, -1.0)).amax(1)
        neg = ~same
        hardest_neg = torch.where(neg, dist, torch.full_like(dist, 4.0)).amin(1)
        return torch.relu(hardest_pos - hardest_neg + margin)[anchors].mean()
    logits = (sim / temperature).masked_fill(ignore, float("-inf"))
    if kind == "infonce":
        first = pos.float().argmax(1)
        keep = ~same | (torch.arange(n, device=z.device)[None, :] == first[:, None])
        logits = logits.masked_fill(~keep, float("-inf"))
        log_prob = logits - torch.logsumexp(logits, 1, keepdim=True)
        return -log_prob[torch.arange(n), first][anchors].mean()
    if kind == "supcon":
        log_prob = logits - torch.logsumexp(logits, 1, keepdim=True)
        per_anchor = torch.where(pos, log_prob, torch.zeros_like(log_prob)).sum(1) / pos.sum(1).clamp(min=1)
        return -per_anchor[anchors].mean()
    raise ValueError(f"unknown loss {kind!r} (use one of {', '.join(LOSSES)})")
