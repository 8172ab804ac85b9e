"""The hand-written rural report sets stay routed (a regression floor, not a benchmark)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from classifier import classify

DATA = Path(__file__).resolve().parents[1] / "data"


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("name", ["rural_routing.csv", "rural_fresh_routing.csv"])
def test_rural_reports_reach_an_accepted_department(name: str) -> None:
    rows = _rows(name)
    assert len(rows) >= 40
    wrong = [
        (r["text"], r["label"], classify(r["text"]).department)
        for r in rows
        if classify(r["text"]).department not in r["label"].split("|")
    ]
    assert len(wrong) <= 0.1 * len(rows), wrong


def test_rural_set_has_at_least_150_reports_with_accept_rows() -> None:
    rows = _rows("rural_routing.csv")
    assert len(rows) >= 150
    accept = {(r["dataset"], r["label"]) for r in _rows("rural_accept.csv")}
    assert all((r["dataset"], r["label"]) in accept for r in rows)
