"""Command line for content editors.

python -m knowledge_base check [FOLDER]     validate the content files (exit 1 on errors)
python -m knowledge_base ask "问题" [...]    show what consult() makes of it, with scores
python -m knowledge_base bands FILE.csv      share of each band and the precision of direct answers
                                           on a topic set (id,text,topic), e.g. dev_topics.csv
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter

from knowledge_base import ANSWER, OUT_OF_SCOPE_TOPICS, ContentError, consult, load, probability


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knowledge_base")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate the content files")
    check.add_argument("folder", nargs="?", default=None)
    ask = commands.add_parser("ask", help="search the packaged content")
    ask.add_argument("questions", nargs="+")
    bands = commands.add_parser("bands", help="band shares and direct-answer precision")
    bands.add_argument("file")
    args = parser.parse_args(argv)

    if args.command == "bands":
        return _bands(args.file)

    if args.command == "check":
        try:
            content = load(args.folder)
        except ContentError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        per_file = Counter(entry.source for entry in content.entries)
        for name, count in sorted(per_file.items()):
            print(f"{name:28} {count:3d} entries")
        print(f"ok: {len(content.entries)} entries in {len(per_file)} files")
        return 0

    for question in args.questions:
        result = consult(question)
        print(f"? {question}")
        if not result.is_question:
            where = f" → {result.pointer}" if result.pointer else ""
            print(f"  (not a legal question: {result.kind} {result.label}{where})")
        elif not result.hits and result.label:
            print(f"  (out of scope: {result.label}; hand off to a person)")
        elif not result.hits:
            print("  (no confident answer: hand off to a person)")
        else:
            print(f"  ({result.band}, calibrated probability {probability(question) or 0:.2f})")
        for hit in result.hits:
            print(f"  {hit.score:.2f} {hit.entry_id} {hit.topics} {hit.basis}")
    return 0


def _bands(path: str) -> int:
    """In-scope rows of a topic set: how many fall in each band, and how often a direct answer's
    topic is right (the share the bands are calibrated on)."""
    with open(path, encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["topic"] not in OUT_OF_SCOPE_TOPICS]
    counts: Counter[str] = Counter()
    right = 0
    for row in rows:
        result = consult(row["text"])
        band = result.band if result.is_question else result.kind
        counts[band] += 1
        right += band == ANSWER and row["topic"] in result.hits[0].topics
    total = len(rows) or 1
    print(" ".join(f"{name}={count / total:.3f}" for name, count in sorted(counts.items())))
    print(f"direct-answer precision={right / max(counts[ANSWER], 1):.3f} n={len(rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
