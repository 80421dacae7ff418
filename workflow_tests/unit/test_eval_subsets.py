"""Evaluation subsets: determinism, scaling down, and the error messages."""

from __future__ import annotations

import pandas as pd
import pytest

from signsearch.evaluate.subsets import SubsetError, SubsetTooSmall, make_subset, read_subset, write_subset


def table(glosses: dict[str, int]) -> pd.DataFrame:
    rows = [
        {"video_id": f"{g}-{i}", "gloss": g, "signer": f"s{i % 3}", "split": "test" if i == 0 else "train"}
        for g, n in glosses.items()
        for i in range(n)
    ]
    rows.append({"video_id": "unlabelled", "gloss": None, "signer": "s0", "split": "test"})
    return pd.DataFrame(rows)


SIZES = {f"G{i:02d}": 3 + i % 8 for i in range(30)}  # 3..10 videos per gloss


def test_random_is_deterministic_and_order_independent():
    spec = {"kind": "random", "glosses": 5, "per_gloss": 4, "seed": 7}
    a = make_subset(table(SIZES), spec, "r", scale_down=False)
    b = make_subset(table(SIZES).sample(frac=1, random_state=1), spec, "r", scale_down=False)
    assert a.video_ids == b.video_ids and len(a.video_ids) == 20 and a.note == ""
    glosses = pd.Series([v.split("-")[0] for v in a.video_ids]).value_counts()
    assert len(glosses) == 5 and (glosses == 4).all()
    c = make_subset(table(SIZES), {**spec, "seed": 8}, "r", scale_down=False)
    assert c.video_ids != a.video_ids


def test_random_too_small_message_and_scale_down():
    spec = {"kind": "random", "glosses": 400, "per_gloss": 10, "seed": 0}
    with pytest.raises(SubsetTooSmall, match=r"needs 400 glosses with >= 10 videos \(4000 videos\); the dataset has 3 such"):
        make_subset(table(SIZES), spec, "400x10", scale_down=False)
    sub = make_subset(table(SIZES), spec, "400x10", scale_down=True)
    # Glosses with >= p videos: p = 4: 26, 5: 22, 6: 18, 7: 14 -> videos kept 104, 110, 108, 98: p = 5 wins.
    assert sub.note.startswith("scaled down to 22 glosses x 5 videos")
    assert len(sub.video_ids) == 110


def test_random_impossible_even_scaled():
    with pytest.raises(SubsetTooSmall):
        make_subset(table({"A": 5}), {"kind": "random", "glosses": 3, "per_gloss": 2}, "r", scale_down=True)


def test_gloss_list_missing_glosses(tmp_path):
    (tmp_path / "list.txt").write_text("G01\nG02  # comment\n\nNOPE\nG00\n")
    spec = {"kind": "gloss_list", "glosses_file": "list.txt", "per_gloss": 5}
    with pytest.raises(SubsetTooSmall, match=r"1 absent from the dataset: NOPE; 2 with fewer than 5 videos: G01 \(4\), G00 \(3\)"):
        make_subset(table(SIZES), spec, "20x5", scale_down=False, base_dir=tmp_path)
    sub = make_subset(table(SIZES), spec, "20x5", scale_down=True, base_dir=tmp_path)
    assert sub.note.startswith("scaled down: 3 of 4 listed glosses, 3 videos each (asked 5)")
    assert [v.split("-")[0] for v in sub.video_ids] == ["G01"] * 3 + ["G02"] * 3 + ["G00"] * 3


def test_gloss_list_fits(tmp_path):
    (tmp_path / "list.txt").write_text("G05\nG06\n")
    sub = make_subset(table(SIZES), {"kind": "gloss_list", "glosses_file": str(tmp_path / "list.txt"), "per_gloss": 5}, "g", scale_down=False)
    assert len(sub.video_ids) == 10 and sub.note == ""


def test_split_and_all():
    t = table(SIZES)
    assert len(make_subset(t, {"kind": "split", "split": "test"}, "test", scale_down=False).video_ids) == 30
    assert len(make_subset(t, {"kind": "all"}, "full", scale_down=False).video_ids) == sum(SIZES.values())
    with pytest.raises(SubsetError, match=r"no labelled video in split 'dev'; splits present: \['test', 'train'\]"):
        make_subset(t, {"kind": "split", "split": "dev"}, "dev", scale_down=True)
    with pytest.raises(SubsetError, match="unknown kind"):
        make_subset(t, {"kind": "nope"}, "x", scale_down=True)


def test_write_read_roundtrip(tmp_path):
    sub = make_subset(table(SIZES), {"kind": "random", "glosses": 400, "per_gloss": 10, "seed": 3}, "r", scale_down=True)
    write_subset(sub, tmp_path / "r.tsv")
    text = (tmp_path / "r.tsv").read_text()
    assert text.startswith("# subset: r\n# seed: 3\n# spec: ")
    back = read_subset(tmp_path / "r.tsv")
    assert back.video_ids == sub.video_ids and back.seed == 3 and back.spec == sub.spec and back.note.startswith("scaled down")
