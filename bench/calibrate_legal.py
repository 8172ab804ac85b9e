"""Fit the legal-search confidence bands (knowledge_base/data/calibration.yaml) on the DEV sets
as a whole: a small logistic model of "the top hit is right" over the features of
``Searcher.features``, then two probability cut-offs. Never per row: every row only adds to the
fit. Prints a 5-fold cross-validated estimate (fit and cut-offs chosen on four folds, measured on
the fifth; repeated over several shuffles and pooled, because the direct-answer band holds only
a few dozen dev questions) before writing the model fitted on all rows. With ``--scope`` it also
prints how the searcher does on a set of out-of-scope questions and in-scope look-alikes
(tests/data/legal_scope_fresh.csv, written before the out-of-scope concepts were tuned).

Usage: python bench/calibrate_legal.py [--write] [--scope tests/data/legal_scope_fresh.csv]
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
# The most probable DIRECT_SHARE of in-scope questions with a candidate are answered directly: a
# share, not a precision searched for on the training rows, because that search picks noise on a
# band of a few dozen questions. 0.15 keeps the cross-validated precision above 0.85.
DIRECT_SHARE = 0.15
MIN_ANSWER_RATE = 0.69  # share of in-scope questions that must keep at least a suggestion
L2 = 1.0
ANSWER_MARGIN = 0.05  # a direct answer leads the next candidate's confidence by this much
REPEATS = 30  # shuffles of the 5-fold cross-validation


def _normalize_law() -> object:
    spec = importlib.util.spec_from_file_location("evaluate_legal", BENCH / "evaluate_legal.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.normalize_law


def collect(topics: Path, basis: Path) -> list[tuple[str, tuple[float, ...], int, bool, bool]]:
    """(set, features, top hit right, in scope, may be answered directly: leads by ANSWER_MARGIN
    and is a question or a legal statement) for every row."""
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
    # only a question or a statement with a legal word may be answered directly (as consult)
    eligible = result.asked or searcher.intents.is_legal(normalized)
    return features, result.hits[0], lead >= ANSWER_MARGIN and eligible


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
    """answer cut-off: the probability of the DIRECT_SHARE-th most probable in-scope topic row
    with a candidate; decline cut-off: the highest keeping MIN_ANSWER_RATE of in-scope rows
    answered or suggested."""
    topic = sorted(
        (p for r, p in zip(rows, probs, strict=True) if r[3] and r[1] and r[0] == "topics"),
        reverse=True,
    )
    answer = topic[int(DIRECT_SHARE * len(topic))] if topic else 1.0
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
    parser.add_argument("--scope", type=Path, help="CSV id,text,scope(oos|in),class")
    args = parser.parse_args()
    if args.scope:
        _scope_report(args.scope)
    rows = collect(args.topics, args.basis)
    # each row judged by the model and cut-offs fitted on the other four folds, then pooled
    pooled: list[tuple[float | None, float, float]] = []
    for repeat in range(REPEATS):
        order = list(range(len(rows)))
        random.Random(20261204 + repeat).shuffle(order)
        folds = [order[i::5] for i in range(5)]
        decided: list[tuple[float | None, float, float]] = [(None, 1.0, 0.0)] * len(rows)
        for k in range(5):
            train = [i for j, fold in enumerate(folds) if j != k for i in fold]
            beta = _fit_rows([rows[i] for i in train])
            answer, minimum = cutoffs(
                [rows[i] for i in train], [_prob(beta, rows[i][1]) for i in train]
            )
            for i in folds[k]:
                decided[i] = (_prob(beta, rows[i][1]), answer, minimum)
        pooled.extend(decided)
    cv = measure_decided(rows * REPEATS, pooled)
    cv["direct_n"] /= REPEATS
    print(f"5-fold CV x{REPEATS}:", " ".join(f"{k}={v:.3f}" for k, v in cv.items()))
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


def _scope_report(path: Path) -> None:
    """Out-of-scope decline and look-alikes answered on a scope set, as the evaluator sees it."""
    import knowledge_base

    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    oos = [r for r in rows if r["scope"] == "oos"]
    ins = [r for r in rows if r["scope"] == "in"]
    declined = sum(1 for r in oos if not knowledge_base.search(r["text"], limit=3))
    answered = [knowledge_base.search(r["text"], limit=3) for r in ins]
    right = sum(1 for r, h in zip(ins, answered, strict=True) if h and r["class"] in h[0].topics)
    kept = sum(1 for h in answered if h)
    print(
        f"scope set {path.name}: oos_decline={declined / max(len(oos), 1):.3f} (n={len(oos)}) "
        f"lookalikes_answered={kept / max(len(ins), 1):.3f} (n={len(ins)}) "
        f"lookalike_topicP@1={right / max(kept, 1):.3f}"
    )


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
