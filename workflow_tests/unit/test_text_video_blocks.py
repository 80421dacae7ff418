"""text_video_metrics computes its ranks in blocks (bounded memory): any block size gives the same metrics."""

import numpy as np

from signsearch.evaluate import text_video


def test_block_size_does_not_change_metrics(monkeypatch) -> None:
    rng = np.random.default_rng(3)
    texts = rng.normal(size=(7, 4))
    truth = rng.integers(0, 7, 40)
    videos = np.round(texts[truth] + rng.normal(scale=1.0, size=(40, 4)), 1)  # rounded: ties happen
    videos[5] = videos[6]  # an exact tie between two videos
    glosses = np.array([f"g{t}" if i % 9 else None for i, t in enumerate(truth)], dtype=object)
    names = [f"g{i}" for i in range(6)]  # g6 has videos but no text: those videos are excluded
    whole = text_video.text_video_metrics(videos, glosses, texts[:6], names)
    for cells in (1, 5, 13, 10**9):
        monkeypatch.setattr(text_video, "_BLOCK_CELLS", cells)
        assert text_video.text_video_metrics(videos, glosses, texts[:6], names) == whole
