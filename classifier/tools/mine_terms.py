"""Mine general evidence words (department_terms.yaml) from a labelled CSV of past reports.

Offline tool, not used at run time. Candidate words are whole dictionary words (jieba's main
dictionary, two or more characters, no digits or Latin letters) plus every word of
keywords.yaml, seen in at least --min-df texts, so every mined word is a readable word an admin
recognises. A class-weighted multinomial logistic regression is trained on word presence
(substring match, exactly as the classifier matches at run time); small weights are dropped
and the rest are written with two decimals, so each word's pull towards each department stays
inspectable and editable.

    python -m classifier.tools.mine_terms --data reports.csv --accept accept.csv \
        --output classifier/data/department_terms.yaml

The CSV needs `text,label` (and `dataset` when --accept is given: the label's first accepted
department is its target). Without --accept, `label` must already be a department code.
"""

from __future__ import annotations

import argparse
import csv
import logging
import re
import sys
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import ahocorasick
import numpy as np

from classifier.rules import DATA_DIR, _load_categories, _load_departments, _load_keywords

_BAD = re.compile(r"[0-9A-Za-z０-９Ａ-Ｚａ-ｚ*＊]")
_MASK = re.compile(r"\*+|[A-Z]\d*[市区县镇乡村]")


def read_rows(
    path: Path, accept: Path | None, overrides: dict[str, str] | None = None
) -> tuple[list[str], list[str]]:
    """Texts and target departments (a label's first accepted department unless overridden)."""
    targets: dict[tuple[str, str], str] = {}
    overrides = overrides or {}
    if accept is not None:
        with accept.open(encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                accepted = [d.strip() for d in r["departments"].split("|")]
                target = overrides.get(r["label"], accepted[0])
                if target not in accepted:
                    raise SystemExit(f"--target {r['label']}={target}: not an accepted department")
                targets[(r["dataset"], r["label"])] = target
    texts, labels = [], []
    with path.open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            texts.append(r["text"])
            key = (r.get("dataset", ""), r["label"])
            labels.append(targets[key] if accept is not None else r["label"])
    return texts, labels


def candidate_words(texts: list[str], extra: set[str], min_df: int) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import jieba
    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    tok.initialize()
    freq = tok.FREQ
    df: Counter[str] = Counter()
    for text in texts:
        words = {
            w
            for w in tok.lcut(_MASK.sub(" ", text), HMM=False)
            if len(w) >= 2 and freq.get(w, 0) > 0 and not _BAD.search(w)
        }
        df.update(words)
    words = {w for w, c in df.items() if c >= min_df} | extra
    return sorted(words)


def presence_matrix(texts: list[str], words: list[str]) -> np.ndarray:
    automaton = ahocorasick.Automaton()
    for j, w in enumerate(words):
        automaton.add_word(w, j)
    automaton.make_automaton()
    x = np.zeros((len(texts), len(words)), dtype=np.float32)
    for i, text in enumerate(texts):
        for _end, j in automaton.iter(_MASK.sub(" ", text)):
            x[i, j] = 1.0
    return x


def train(
    x: np.ndarray, y: np.ndarray, n_classes: int, l2: float, epochs: int, rate: float, power: float
) -> tuple[np.ndarray, np.ndarray]:
    """Full-batch gradient descent on class-weighted softmax regression (float32 throughout)."""
    counts = np.bincount(y, minlength=n_classes)
    class_w = ((len(y) / (n_classes * np.maximum(counts, 1))) ** power).astype(np.float32)
    sample_w = class_w[y]
    sample_w /= sample_w.sum()
    onehot = np.eye(n_classes, dtype=np.float32)[y]
    w = np.zeros((x.shape[1], n_classes), dtype=np.float32)
    b = np.zeros(n_classes, dtype=np.float32)
    reg = np.float32(l2 / len(y))
    lr = np.float32(rate)
    for _ in range(epochs):
        z = x @ w + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = ((p - onehot) * sample_w[:, None]).astype(np.float32)
        w -= lr * (x.T @ g + w * reg)
        b -= lr * g.sum(axis=0)
    return w, b


def to_files(
    words: list[str],
    depts: list[str],
    w: np.ndarray,
    b: np.ndarray,
    keep: float,
    settings: dict[str, float],
    notes: tuple[str, ...] = (),
) -> tuple[str, str]:
    """The text of department_terms.yaml (settings, bias) and department_terms.csv (words)."""
    lines = [
        *(f"# {note}" for note in notes),
        "# General evidence: a report's department score = bias + the weights of the words of",
        "# department_terms.csv it contains + hand_scale x the best keywords.yaml category score.",
        "# Mined by classifier/tools/mine_terms.py from labelled past reports; edit freely.",
        "# settings: hand_scale (trust in keywords.yaml), abstain_below (confidence under which",
        "# a report goes to human triage), temperature (softmax), min_evidence (words needed),",
        "# short_text_chars / short_text_boost (hand_scale grows up to (1 + boost) x for reports",
        "# shorter than short_text_chars: residents' short reports rely on keywords.yaml).",
        "settings:",
    ]
    lines += [f"  {k}: {v}" for k, v in settings.items()]
    lines.append("bias:")
    centred = b - b.mean()
    lines += [f"  {d}: {centred[i]:.2f}" for i, d in enumerate(depts)]
    rows = [
        "# General evidence words: weight (log-odds) per department; empty = 0. Edit freely.",
        "word," + ",".join(depts),
    ]
    order = np.argsort(-np.abs(w).max(axis=1), kind="stable")
    for j in order:
        row = w[j]
        if np.abs(row).max() < keep:
            continue
        cells = [f"{v:.2f}" if abs(v) >= keep / 2 else "" for v in row]
        rows.append(words[j] + "," + ",".join(cells))
    return "\n".join(lines) + "\n", "\n".join(rows) + "\n"


def mine(args: argparse.Namespace) -> dict[str, Any]:
    overrides = dict(t.split("=", 1) for t in args.target)
    texts, labels = read_rows(
        Path(args.data), Path(args.accept) if args.accept else None, overrides
    )
    # only keywords.yaml is needed: an outdated department_terms file must not stop a re-mine
    rule_dir = Path(args.rules)
    departments = _load_departments(rule_dir)
    categories, _defaults, _joint = _load_categories(rule_dir, departments)
    keywords, _weights = _load_keywords(rule_dir, categories)
    extra = {w for kw in keywords.values() for w in (*kw.strong, *kw.weak)}
    extra = {w for w in extra if len(w) >= 2}
    words = candidate_words(texts, extra, args.min_df)
    depts = sorted(set(labels))
    y = np.array([depts.index(lab) for lab in labels])
    x = presence_matrix(texts, words)
    df = x.sum(axis=0)
    keep_cols = np.where(df >= args.min_df)[0]
    x = x[:, keep_cols]
    words = [words[j] for j in keep_cols]
    w, b = train(x, y, len(depts), args.l2, args.epochs, args.rate, args.power)
    return {"words": words, "depts": depts, "w": w, "b": b}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="CSV with text,label (and dataset)")
    ap.add_argument("--accept", help="accept.csv mapping (dataset,label) to departments")
    ap.add_argument("--rules", default=str(DATA_DIR), help="rule directory (for keywords.yaml)")
    ap.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="LABEL=DEPT",
        help="train a label towards another of its accepted departments (e.g. 三农=township)",
    )
    ap.add_argument(
        "--output", required=True, help="department_terms.yaml to write (and the .csv beside it)"
    )
    ap.add_argument("--min-df", type=int, default=3)
    ap.add_argument("--l2", type=float, default=1.0)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--rate", type=float, default=20.0)
    ap.add_argument("--power", type=float, default=0.7, help="class weight = (n/n_c)^power")
    ap.add_argument(
        "--keep", type=float, default=0.15, help="drop words whose weights are all below"
    )
    ap.add_argument("--hand-scale", type=float, default=1.0)
    ap.add_argument("--abstain-below", type=float, default=0.3)
    args = ap.parse_args(argv)
    model = mine(args)
    settings = {
        "hand_scale": args.hand_scale,
        "abstain_below": args.abstain_below,
        "temperature": 1.0,
        "min_evidence": 1,
        "short_text_chars": 120,
        "short_text_boost": 1.0,
    }
    notes = (
        f"Mined from {Path(args.data).name} ({len(model['words'])} candidate words); "
        f"l2={args.l2} power={args.power} keep={args.keep} min_df={args.min_df}"
        + (f" targets: {', '.join(args.target)}" if args.target else ""),
    )
    yaml_text, csv_text = to_files(
        model["words"], model["depts"], model["w"], model["b"], args.keep, settings, notes
    )
    output = Path(args.output)
    output.write_text(yaml_text, encoding="utf-8")
    output.with_suffix(".csv").write_text(csv_text, encoding="utf-8")
    n_terms = csv_text.count("\n") - 2
    print(
        f"wrote {args.output}: {n_terms} words, {len(model['depts'])} departments", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
