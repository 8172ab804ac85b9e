"""Danger detection figures on the risk set (tests/data/risk_set.csv).

    python bench/eval_risk.py [--data FILE] [--split NAME|all] [--misses]

Prints, per split: red recall (messages that need an immediate response marked red),
red-or-orange recall (every dangerous message marked red or orange) and the share of harmless
look-alikes marked red. Targets: >= 0.95, >= 0.97, <= 0.05.

Splits (read from the file, in order): `dev` (the rules were tuned on it), `holdout`, `fresh`,
`fresh2`, …, each written before the rules saw it, measured once unseen, then studied by kind
(first-sight figures are in tests/test_classifier/test_risk_set.py). To measure honestly again,
add a new split first. The last line is the throughput of `assess_risk` over the whole file.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifier import assess_risk  # noqa: E402

DEFAULT_DATA = ROOT / "tests" / "data" / "risk_set.csv"


@dataclass(frozen=True)
class Row:
    text: str
    expected: str  # red | orange | harmless
    kind: str
    split: str


@dataclass(frozen=True)
class Figures:
    red_recall: float
    red_or_orange_recall: float
    harmless_red: float
    n_red: int
    n_dangerous: int
    n_harmless: int

    def line(self, name: str) -> str:
        return (
            f"{name}: red_recall={self.red_recall:.3f} (n={self.n_red}) "
            f"red_or_orange_recall={self.red_or_orange_recall:.3f} (n={self.n_dangerous}) "
            f"harmless_red={self.harmless_red:.3f} (n={self.n_harmless})"
        )


def load_rows(path: Path = DEFAULT_DATA) -> list[Row]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [Row(r["text"], r["expected"], r["kind"], r["split"]) for r in csv.DictReader(fh)]


def figures(rows: list[Row], levels: list[str]) -> Figures:
    red = [lv for r, lv in zip(rows, levels, strict=True) if r.expected == "red"]
    danger = [lv for r, lv in zip(rows, levels, strict=True) if r.expected != "harmless"]
    harmless = [lv for r, lv in zip(rows, levels, strict=True) if r.expected == "harmless"]
    return Figures(
        red_recall=sum(lv == "red" for lv in red) / max(len(red), 1),
        red_or_orange_recall=sum(lv in ("red", "orange") for lv in danger) / max(len(danger), 1),
        harmless_red=sum(lv == "red" for lv in harmless) / max(len(harmless), 1),
        n_red=len(red),
        n_dangerous=len(danger),
        n_harmless=len(harmless),
    )


def is_miss(row: Row, level: str) -> bool:
    if row.expected == "red":
        return level != "red"
    if row.expected == "orange":
        return level not in ("red", "orange")
    return level == "red"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--split", default="all", help="one split of the file, or all")
    parser.add_argument("--misses", action="store_true", help="list every wrong row")
    args = parser.parse_args(argv)
    rows = load_rows(args.data)
    assess_risk("热身")  # build the rules outside the timing
    started = time.perf_counter()
    levels = [assess_risk(r.text).level for r in rows]
    elapsed = time.perf_counter() - started
    known = list(dict.fromkeys(r.split for r in rows))  # in file order
    if args.split not in (*known, "all"):
        parser.error(f"unknown split {args.split!r} (the file has: {', '.join(known)})")
    splits = known if args.split == "all" else [args.split]
    for split in splits:
        chosen = [(r, lv) for r, lv in zip(rows, levels, strict=True) if r.split == split]
        fig = figures([r for r, _ in chosen], [lv for _, lv in chosen])
        print(fig.line(split))
        if args.misses:
            for r, lv in chosen:
                if is_miss(r, lv):
                    print(f"  {r.expected:>8} → {lv:<6} [{r.kind}] {r.text}")
    if args.split == "all":
        print(figures(rows, levels).line("all"))
        print(f"assess_risk throughput: {len(rows) / elapsed:.0f} texts/s (n={len(rows)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
