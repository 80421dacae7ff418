"""`kind: random` with `candidates`: the original 400x10 (500 random glosses, the 400 with the most videos, up to
10 videos each), seeded; and config/asl_citizen.yaml uses it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from signsearch import config
from signsearch.evaluate.subsets import SubsetError, SubsetTooSmall, make_subset
from workflow_utils import demo_config

REPO = Path(__file__).resolve().parents[2]
COUNTS = {f"G{i:02d}": 1 + (i * 7) % 13 for i in range(40)}  # 1..13 videos per gloss


def table(counts: dict[str, int]) -> pd.DataFrame:
    rows = [{"video_id": f"{g}-{i:02d}", "gloss": g, "signer": "s", "split": "test"}
            for g, n in counts.items() for i in range(n)]
    return pd.DataFrame(rows)


def glosses_of(ids: tuple[str, ...]) -> Counter[str]:
    return Counter(v.split("-")[0] for v in ids)


def test_keeps_the_drawn_glosses_with_the_most_videos_up_to_per_gloss() -> None:
    spec = {"kind": "random", "candidates": 25, "glosses": 10, "per_gloss": 12, "seed": 3}
    sub = make_subset(table(COUNTS), spec, "400x10", scale_down=False)
    pool = sorted(COUNTS)
    drawn = [pool[i] for i in np.random.default_rng(3).choice(len(pool), size=25, replace=False)]
    kept = glosses_of(sub.video_ids)
    assert set(kept) <= set(drawn) and len(kept) == 10
    # No drawn gloss left out has more videos than a kept one.
    assert max(COUNTS[g] for g in set(drawn) - set(kept)) <= min(COUNTS[g] for g in kept)
    assert all(n == min(COUNTS[g], 12) for g, n in kept.items())
    assert any(COUNTS[g] < 12 for g in kept)  # "up to": a kept gloss with fewer videos keeps them all
    assert set(kept) != {g for g, _ in sorted(COUNTS.items(), key=lambda kv: -kv[1])[:10]}  # not the global top
    shuffled = make_subset(table(COUNTS).sample(frac=1, random_state=0), spec, "400x10", scale_down=False)
    assert shuffled.video_ids == sub.video_ids
    assert make_subset(table(COUNTS), {**spec, "seed": 4}, "400x10", scale_down=False).video_ids != sub.video_ids


def test_all_glosses_as_candidates_is_the_top_by_count() -> None:
    counts = {f"G{i}": i + 1 for i in range(12)}  # distinct counts 1..12
    sub = make_subset(table(counts), {"kind": "random", "candidates": 12, "glosses": 4, "per_gloss": 10},
                      "r", scale_down=False)
    assert glosses_of(sub.video_ids) == {"G11": 10, "G10": 10, "G9": 10, "G8": 9}


def test_too_few_glosses_for_the_candidates() -> None:
    spec = {"kind": "random", "candidates": 500, "glosses": 400, "per_gloss": 10, "seed": 0}
    with pytest.raises(SubsetTooSmall, match=r"draws 500 candidate glosses; the dataset has 40 glosses"):
        make_subset(table(COUNTS), spec, "400x10", scale_down=False)
    sub = make_subset(table(COUNTS), spec, "400x10", scale_down=True)
    assert sub.note.startswith("scaled down to 40 glosses of all 40 as candidates")
    assert glosses_of(sub.video_ids) == {g: min(n, 10) for g, n in COUNTS.items()}
    with pytest.raises(SubsetError, match=r"'candidates' \(5\) must be at least 'glosses' \(10\)"):
        make_subset(table(COUNTS), {**spec, "candidates": 5, "glosses": 10}, "r", scale_down=True)


def test_asl_citizen_config_reproduces_the_original_400x10() -> None:
    overlay = yaml.safe_load((REPO / "config" / "asl_citizen.yaml").read_text())
    spec = overlay["evaluate"]["subsets"]["400x10"]
    assert spec == {"kind": "random", "candidates": 500, "glosses": 400, "per_gloss": 10, "seed": 0}
    base = demo_config()
    base["evaluate"]["subsets"]["400x10"] = spec
    config.validate(base)  # the schema knows `candidates`
    base["evaluate"]["subsets"]["400x10"] = {**spec, "candidates": 0}
    with pytest.raises(config.ConfigError, match="candidates"):
        config.validate(base)
