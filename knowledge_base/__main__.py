"""Command line for content editors.

python -m knowledge_base check [FOLDER]     validate the content files (exit 1 on errors)
python -m knowledge_base ask "问题" [...]    show what consult() makes of it, with scores
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from knowledge_base import ContentError, consult, load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knowledge_base")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate the content files")
    check.add_argument("folder", nargs="?", default=None)
    ask = commands.add_parser("ask", help="search the packaged content")
    ask.add_argument("questions", nargs="+")
    args = parser.parse_args(argv)

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
        elif not result.hits:
            print("  (no confident answer: hand off to a person)")
        else:
            print(f"  ({result.band})")
        for hit in result.hits:
            print(f"  {hit.score:.2f} {hit.entry_id} {hit.topics} {hit.basis}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
