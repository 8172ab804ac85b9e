"""Command line: `python -m classifier explain "文本"` and `python -m classifier route ...`."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from . import Classification, RuleError, load_classifier

ROUTE_COLUMNS = ["department", "category", "confidence", "risk_level", "reasons"]


def _explain(args: argparse.Namespace) -> int:
    engine = load_classifier(args.rules)
    text = " ".join(args.text)
    result: Classification = engine.classify(text)
    dept = result.department or "center (人工分诊 / human triage)"
    name = engine.rules.departments.get(result.department or "center", "")
    print(f"department : {dept} {name}".rstrip())
    cat = f"{result.category} {result.category_name}" if result.category else "-"
    print(f"category   : {cat}")
    print(f"confidence : {result.confidence:.2f}")
    print(f"risk level : {result.risk_level}")
    if result.risk_signals:
        print("signals    : " + "; ".join(result.risk_signals))
    if result.joint_departments:
        print("joint      : " + ", ".join(result.joint_departments))
    print("reasons    :")
    for reason in result.reasons:
        print(f"  - {reason}")
    return 0


def _route(args: argparse.Namespace) -> int:
    source = Path(args.input)
    if not source.is_file():
        print(f"error: input file not found: {source}", file=sys.stderr)
        return 2
    engine = load_classifier(args.rules)
    try:
        with source.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            fields = list(reader.fieldnames or [])
            if args.column not in fields:
                print(
                    f"error: {source} has no column '{args.column}' (columns: {fields})",
                    file=sys.stderr,
                )
                return 2
            rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        print(f"error: cannot read {source} as UTF-8 CSV: {exc}", file=sys.stderr)
        return 2
    out_fields = fields + [c for c in ROUTE_COLUMNS if c not in fields]
    counts: dict[str, int] = {}
    with Path(args.output).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=out_fields)
        writer.writeheader()
        for row in rows:
            result = engine.classify(row.get(args.column) or "")
            row.update(
                department=result.department or "center",
                category=result.category or "",
                confidence=f"{result.confidence:.3f}",
                risk_level=result.risk_level,
                reasons=" | ".join(result.reasons),
            )
            counts[row["department"]] = counts.get(row["department"], 0) + 1
            writer.writerow(row)
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
    print(f"routed {len(rows)} rows → {args.output} ({summary})", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m classifier",
        description="综治通 routing classifier: text → department, category, risk, reasons.",
    )
    parser.add_argument(
        "--rules", metavar="DIR", default=None, help="rule directory (default: shipped rules)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    explain = sub.add_parser("explain", help="classify one text and print the decision and why")
    explain.add_argument("text", nargs="+", help="the report text (quote it)")
    explain.set_defaults(func=_explain)
    route = sub.add_parser("route", help="route a CSV file in batch (e.g. historical 12345 data)")
    route.add_argument("--input", required=True, help="UTF-8 CSV with a text column")
    route.add_argument("--output", required=True, help="where to write the routed CSV")
    route.add_argument("--column", default="text", help="name of the text column (default: text)")
    route.set_defaults(func=_route)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except RuleError as exc:
        print(f"error: rule files are invalid: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
