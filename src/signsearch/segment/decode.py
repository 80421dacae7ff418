"""BIO tag probabilities -> segments, exactly as the sign segmentation model's original decoder does it.

`decode_bio` reproduces the original (`probs_to_segments` of sign-language-processing/segmentation, described in
the model's README) including its output convention: inclusive starts and ends, except that a segment still open
at the last frame gets `end = frames`. `clean_ranges` turns those into the half-open ranges the product stores.
"""

from __future__ import annotations

import numpy as np

O, B, I = 0, 1, 2  # tag order of the model's output
# The thresholds of the original `pose_to_segments` command.
SIGN_THRESHOLDS = {"b_threshold": 60.0, "o_threshold": 50.0}
SENTENCE_THRESHOLDS = {"b_threshold": 90.0, "o_threshold": 90.0}


def percent(logprobs: np.ndarray) -> np.ndarray:
    """[frames, 3] log-probabilities -> probabilities in whole percent, rounded as the original does."""
    return np.round(np.exp(np.asarray(logprobs, np.float64)) * 100)


def _inside_runs(probs: np.ndarray) -> list[tuple[int, int]]:
    # Fallback of the original when no frame has B above threshold: runs of I > 50 (a run ends before I < 50).
    runs, i, n = [], 0, len(probs)
    while i < n:
        if probs[i, I] > 50:
            end = n - 1
            for j in range(i + 1, n):
                if probs[j, I] < 50:
                    end = j - 1
                    break
            runs.append((i, end))
            i = end + 1
        else:
            i += 1
    return runs


def decode_bio(logprobs: np.ndarray, b_threshold: float = 60.0, o_threshold: float = 50.0) -> list[tuple[int, int]]:
    """The original decoder: (start, end) per segment, inclusive, with `end = frames` for a segment left open."""
    probs = percent(logprobs)
    if len(probs) == 0:
        return []
    if np.all(probs[:, B] < b_threshold):
        return _inside_runs(probs)
    segments: list[tuple[int, int]] = []
    start: int | None = None
    passed_start = False  # B has fallen below threshold since the segment started
    for idx, (o, b, _) in enumerate(probs):
        if start is None:
            if b > b_threshold:
                start = idx
        elif passed_start:
            if b > b_threshold or o > o_threshold:
                segments.append((start, idx - 1))
                start = None if o > o_threshold else idx
                passed_start = False
        elif b < b_threshold:
            passed_start = True
    if start is not None:
        segments.append((start, len(probs)))
    return segments


def clean_ranges(segments: list[tuple[int, int]], frames: int) -> list[tuple[int, int]]:
    """Original (inclusive, with the open-end quirk) -> half-open [start, end) ranges inside [0, frames)."""
    out = []
    for start, end in segments:
        stop = min(end + 1, frames)
        if stop > start:
            out.append((start, stop))
    return out


def inside_confidence(logprobs: np.ndarray, start: int, end: int) -> float:
    """Mean probability of "in a sign" (B + I) over the half-open range [start, end)."""
    p = np.exp(np.asarray(logprobs[start:end], np.float64))
    return float((p[:, B] + p[:, I]).mean()) if end > start else 0.0
