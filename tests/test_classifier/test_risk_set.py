"""Floors on the risk set (tests/data/risk_set.csv): realistic danger messages and harmless
look-alikes, written independently of the rules. `python bench/eval_risk.py` prints the figures.

Splits, each written before the rules saw it: `dev` (tuned on), `holdout`, `fresh`, `fresh2`,
`fresh3`, `fresh4`, `fresh5`, `fresh6`, `fresh7`, `fresh8`, `fresh9`,
`fresh10`, `fresh11`, `fresh12`, `fresh13`, `fresh14`, `fresh15`, `fresh16`, `fresh17`,
`fresh18`, `fresh19`, `fresh20`, `fresh21`, `fresh22`.
Each later split was measured once unseen, then its misses were studied by kind and the rules
widened; the unseen figures (red recall, red-or-orange recall, look-alikes red) were:
holdout 0.921 / 0.894 / 0.016, fresh 0.663 / 0.718 / 0.035, fresh2 0.717 / 0.780 / 0.029,
fresh3 0.812 / 0.827 / 0.042, fresh4 0.600 / 0.658 / 0.042, fresh5 0.689 / 0.800 / 0.160,
fresh6 0.810 / 0.826 / 0.042, fresh7 0.871 / 0.882 / 0.000, fresh8 0.774 / 0.819 / 0.029,
fresh9 0.707 / 0.740 / 0.029, fresh10 0.682 / 0.708 / 0.075,
fresh11 0.690 / 0.734 / 0.032, fresh12 0.782 / 0.837 / 0.102,
fresh13 0.770 / 0.805 / 0.052, fresh14 0.808 / 0.802 / 0.070,
fresh15 0.893 / 0.913 / 0.057, fresh16 0.744 / 0.800 / 0.022,
fresh17 0.800 / 0.830 / 0.163, fresh18 0.708 / 0.795 / 0.190,
fresh19 0.763 / 0.805 / 0.111, fresh20 0.821 / 0.811 / 0.154,
fresh21 0.824 / 0.867 / 0.081, fresh22 0.789 / 0.781 / 0.061.
Expect new messages to score nearer those than the floors below.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from classifier import assess_risk, classify

SET = Path(__file__).resolve().parent.parent / "data" / "risk_set.csv"
SPLITS = (
    "dev", "holdout", "fresh", "fresh2", "fresh3", "fresh4", "fresh5", "fresh6", "fresh7",
    "fresh8", "fresh9", "fresh10", "fresh11", "fresh12", "fresh13",
    "fresh14", "fresh15", "fresh16", "fresh17", "fresh18",
    "fresh19", "fresh20", "fresh21", "fresh22",
)  # fmt: skip


def _rows(split: str) -> list[dict[str, str]]:
    with SET.open(encoding="utf-8", newline="") as fh:
        return [r for r in csv.DictReader(fh) if r["split"] == split]


def _figures(split: str) -> tuple[float, float, float]:
    rows = _rows(split)
    levels = [assess_risk(r["text"]).level for r in rows]
    red = [lv for r, lv in zip(rows, levels, strict=True) if r["expected"] == "red"]
    danger = [lv for r, lv in zip(rows, levels, strict=True) if r["expected"] != "harmless"]
    harmless = [lv for r, lv in zip(rows, levels, strict=True) if r["expected"] == "harmless"]
    return (
        sum(lv == "red" for lv in red) / len(red),
        sum(lv in ("red", "orange") for lv in danger) / len(danger),
        sum(lv == "red" for lv in harmless) / len(harmless),
    )


def test_the_set_is_big_varied_and_split() -> None:
    rows = [
        r
        for split in ("dev", "holdout", "fresh", "fresh2", "fresh3", "fresh4")
        for r in _rows(split)
    ]
    counts = Counter(r["expected"] for r in rows)
    assert counts["red"] + counts["orange"] >= 300
    assert counts["harmless"] >= 250
    assert len({r["text"] for r in rows}) == len(rows)
    assert len({r["kind"] for r in rows}) >= 60
    assert all(len(_rows(split)) >= 50 for split in SPLITS)


@pytest.mark.parametrize(
    ("split", "red_floor", "red_or_orange_floor", "harmless_red_ceiling"),
    [
        ("dev", 0.95, 0.97, 0.05),
        ("holdout", 0.95, 0.97, 0.05),
        ("fresh", 0.95, 0.97, 0.05),
        ("fresh2", 0.95, 0.95, 0.05),
        ("fresh3", 0.95, 0.95, 0.05),
        ("fresh4", 0.95, 0.95, 0.05),
        ("fresh5", 0.95, 0.95, 0.05),
        ("fresh6", 0.95, 0.95, 0.05),
        ("fresh7", 0.95, 0.95, 0.05),
        ("fresh8", 0.95, 0.95, 0.05),
        ("fresh9", 0.95, 0.95, 0.05),
        ("fresh10", 0.95, 0.95, 0.05),
        ("fresh11", 0.95, 0.95, 0.05),
        ("fresh12", 0.95, 0.95, 0.05),
        ("fresh13", 0.95, 0.95, 0.05),
        ("fresh14", 0.95, 0.95, 0.05),
        ("fresh15", 0.95, 0.95, 0.05),
        ("fresh16", 0.95, 0.95, 0.05),
        ("fresh17", 0.95, 0.95, 0.05),
        ("fresh18", 0.95, 0.95, 0.05),
        ("fresh19", 0.95, 0.95, 0.05),
        ("fresh20", 0.95, 0.95, 0.05),
        ("fresh21", 0.95, 0.95, 0.05),
        ("fresh22", 0.95, 0.95, 0.05),
    ],
)
def test_danger_is_recognised_and_look_alikes_stay_calm(
    split: str, red_floor: float, red_or_orange_floor: float, harmless_red_ceiling: float
) -> None:
    red_recall, red_or_orange_recall, harmless_red = _figures(split)
    assert red_recall >= red_floor
    assert red_or_orange_recall >= red_or_orange_floor
    assert harmless_red <= harmless_red_ceiling


def test_classify_gives_the_same_red_as_assess_risk_on_the_set() -> None:
    for row in _rows("dev"):
        quick = assess_risk(row["text"]).level
        full = classify(row["text"]).risk_level
        assert (quick == "red") == (full == "red"), row["text"]
