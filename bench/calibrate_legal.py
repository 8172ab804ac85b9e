"""Fit the legal-search confidence bands (knowledge_base/data/calibration.yaml) on the DEV sets
as a whole: a small logistic model of "the top hit is right" over the features of
``Searcher.features``, then two probability cut-offs. Never per row: every row only adds to the
fit. Prints a 5-fold cross-validated estimate (fit and cut-offs chosen on four folds, measured on
the fifth) before writing the model fitted on all rows.

Usage: python bench/calibrate_legal.py [--write]
       [--topics ../shared/benchmarks/legal/dev_topics.csv]
       [--basis ../shared/benchmarks/legal/dev_basis.csv]
Not a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge_base import OUT_OF_SCOPE_TOPICS, load  # noqa: E402
from knowledge_base.intent import QUESTION  # noqa: E402
from knowledge_base.search import (  # noqa: E402
    CALIBRATION_FEATURES,
    Calibration,
    build_searcher,
)

BENCH = ROOT.parent / "shared" / "benchmarks"
TARGET_PRECISION = 0.85  # direct answers, chosen above the 0.85 floor for unseen questions
MIN_ANSWER_RATE = 0.70  # share of in-scope questions that must keep at least a suggestion
L2 = 1.0
ANSWER_MARGIN = 0.25  # a direct answer leads the next candidate's confidence by this much


def _normalize_law() -> object:
    spec = importlib.util.spec_from_file_location("evaluate_legal", BENCH / "evaluate_legal.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.normalize_law


def collect(topics: Path, basis: Path) -> list[tuple[str, tuple[float, ...], int, bool, bool]]:
    """(set, features, top hit right, in scope, top leads by ANSWER_MARGIN) for every row."""
    open_bands = Calibration(tuple(0.0 for _ in CALIBRATION_FEATURES), 0.0, 2.0, 0.0, 0.0)
    searcher = build_searcher(load(), calibration=open_bands)
    norm = _normalize_law()
    rows: list[tuple[str, tuple[float, ...], int, bool, bool]] = []
    with topics.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            feats, hit, leads = _scored(searcher, row["text"])
            in_scope = row["topic"] not in OUT_OF_SCOPE_TOPICS
            right = hit is not None and in_scope and row["topic"] in hit.topics
            rows.append(("topics", feats, int(right), in_scope, leads))
    with basis.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            feats, hit, leads = _scored(searcher, row["text"])
            gold = {norm(law) for law in row["laws"].split("|") if law}  # type: ignore[operator]
            right = hit is not None and bool(gold & {norm(law) for law in hit.laws})  # type: ignore[operator]
            rows.append(("basis", feats, int(right), True, leads))
    return rows


def _scored(searcher, text):  # type: ignore[no-untyped-def]
    result = searcher.consult(text)
    if result.kind != QUESTION or not result.hits:
        return (), None, False
    normalized, words = searcher.analyse(text)
    ranked = searcher.candidates(text)
    lead = ranked[0][1] - (ranked[1][1] if len(ranked) > 1 else 0.0)
    features = searcher.features(normalized, words, ranked)
    return features, result.hits[0], lead >= ANSWER_MARGIN


def fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method; returns [bias, *weights]."""
    design = np.hstack([np.ones((len(x), 1)), x])
    beta = np.zeros(design.shape[1])
    penalty = np.eye(design.shape[1]) * L2
    penalty[0, 0] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-design @ beta))
        grad = design.T @ (p - y) + penalty @ beta
        hess = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta


def cutoffs(rows, probs):  # type: ignore[no-untyped-def]
    """answer cut-off: the lowest reaching TARGET_PRECISION on in-scope topic rows; decline
    cut-off: the highest keeping MIN_ANSWER_RATE of in-scope rows answered or suggested."""
    topic = [
        (p, r[2])
        for r, p in zip(rows, probs, strict=True)
        if r[3] and r[1] and r[4] and r[0] == "topics"
    ]
    answer = 1.0
    for cut in sorted({p for p, _ in topic}, reverse=True):
        chosen = [y for p, y in topic if p >= cut]
        if len(chosen) >= 5 and sum(chosen) / len(chosen) >= TARGET_PRECISION:
            answer = cut
    in_scope = [p for r, p in zip(rows, probs, strict=True) if r[3] and r[0] == "topics"]
    minimum = 0.0
    need = MIN_ANSWER_RATE * len(in_scope)
    for cut in sorted({p for p in in_scope if p is not None}):
        if sum(1 for p in in_scope if p is not None and p >= cut) >= need:
            minimum = cut
    return answer, minimum


def measure_decided(rows, decided):  # type: ignore[no-untyped-def]
    """Answer rate, topic P@1, direct-answer rate and precision (in-scope topic rows) and the
    out-of-scope decline rate; ``decided`` holds (probability, answer cut, decline cut)."""
    pairs = [(r, d) for r, d in zip(rows, decided, strict=True) if r[0] == "topics"]
    ins = [(r, d) for r, d in pairs if r[3]]
    oos = [(r, d) for r, d in pairs if not r[3]]
    kept = [(r, d) for r, d in ins if d[0] is not None and d[0] >= d[2]]
    direct = [(r, d) for r, d in kept if d[0] >= d[1] and r[4]]
    oos_kept = [r for r, d in oos if d[0] is not None and d[0] >= d[2]]
    return {
        "answer_rate": len(kept) / max(len(ins), 1),
        "topicP@1": sum(r[2] for r, _ in kept) / max(len(kept), 1),
        "direct_rate": len(direct) / max(len(ins), 1),
        "direct_precision": sum(r[2] for r, _ in direct) / max(len(direct), 1),
        "direct_n": float(len(direct)),
        "oos_decline": 1 - len(oos_kept) / max(len(oos), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--topics", type=Path, default=BENCH / "legal" / "dev_topics.csv")
    parser.add_argument("--basis", type=Path, default=BENCH / "legal" / "dev_basis.csv")
    parser.add_argument("--write", action="store_true", help="write data/calibration.yaml")
    args = parser.parse_args()
    rows = collect(args.topics, args.basis)
    order = list(range(len(rows)))
    random.Random(20261204).shuffle(order)
    folds = [order[i::5] for i in range(5)]
    # each row judged by the model and cut-offs fitted on the other four folds, then pooled
    decided: list[tuple[float | None, float, float]] = [(None, 1.0, 0.0)] * len(rows)
    for k in range(5):
        train = [i for j, fold in enumerate(folds) if j != k for i in fold]
        beta = _fit_rows([rows[i] for i in train])
        answer, minimum = cutoffs(
            [rows[i] for i in train], [_prob(beta, rows[i][1]) for i in train]
        )
        for i in folds[k]:
            decided[i] = (_prob(beta, rows[i][1]), answer, minimum)
    cv = measure_decided(rows, decided)
    print("5-fold CV:", " ".join(f"{k}={v:.3f}" for k, v in cv.items()))
    beta = _fit_rows(rows)
    probs = [_prob(beta, r[1]) for r in rows]
    answer, minimum = cutoffs(rows, probs)
    dev = measure_decided(rows, [(p, answer, minimum) for p in probs])
    print("all DEV:  ", " ".join(f"{k}={v:.3f}" for k, v in dev.items()))
    print(f"answer_probability={answer:.3f} min_probability={minimum:.3f}")
    print("weights:", dict(zip(("bias", *CALIBRATION_FEATURES), np.round(beta, 3), strict=True)))
    if args.write:
        path = ROOT / "knowledge_base" / "data" / "calibration.yaml"
        path.write_text(
            "# Confidence bands of legal search, fitted by bench/calibrate_legal.py on\n"
            "# dev_topics + dev_basis as a whole (logistic model of 'the top hit is right').\n"
            "# answer_probability: answered directly at or above (and leading the next hit\n"
            "# by answer_margin); min_probability: declined below.\n"
            f"features: [{', '.join(CALIBRATION_FEATURES)}]\n"
            f"weights: [{', '.join(f'{w:.4f}' for w in beta[1:])}]\n"
            f"bias: {beta[0]:.4f}\n"
            f"answer_probability: {answer:.4f}\n"
            f"min_probability: {minimum:.4f}\n"
            f"answer_margin: {ANSWER_MARGIN}\n",
            encoding="utf-8",
        )
        print(f"wrote {path}")
    return 0


def _fit_rows(rows):  # type: ignore[no-untyped-def]
    scored = [r for r in rows if r[1]]
    return fit(np.array([r[1] for r in scored]), np.array([r[2] for r in scored], dtype=float))


def _prob(beta, feats):  # type: ignore[no-untyped-def]
    if not feats:
        return None
    z = beta[0] + float(np.dot(beta[1:], feats))
    return 1 / (1 + np.exp(-z))


if __name__ == "__main__":
    sys.exit(main())
