"""One policy: no module outside backend/services/workflow decides by comparing case statuses.

"May this person do this now?" and "what does this case's state allow?" are answered by the
workflow (``allowed_actions``, ``authorise``, ``is_open``, ``awaits_claim``, ``is_in_hand``); a
transport that compares ``case.status`` with ==/!=/in, or ``str(case.status)`` with a string,
has started a second policy. SQL filters (``col(Case.status) == …``) select rows and are allowed.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("backend", "bot")
EXEMPT = (ROOT / "backend" / "services" / "workflow", ROOT / "backend" / "migrations")
STATUS_ENUMS = {"CaseStatus", "S"}
OPS = (ast.Eq, ast.NotEq, ast.In, ast.NotIn)


def _is_case_status(node: ast.AST) -> bool:
    """``case.status``, ``page.case.status``, ``str(case.status)``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "str":
        return any(_is_case_status(arg) for arg in node.args)
    if not (isinstance(node, ast.Attribute) and node.attr == "status"):
        return False
    owner = node.value
    name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
    return name.lower().endswith("case")


def _is_status_member(node: ast.AST) -> bool:
    """``CaseStatus.accepted`` (or ``S.accepted``), or a tuple/set/list of them."""
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_is_status_member(e) for e in node.elts)
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in STATUS_ENUMS
    )


def _is_sql_column(node: ast.AST) -> bool:
    """``col(Case.status)`` or ``Case.status`` / ``CaseEvent.to_status`` (a query, not a case)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "col":
        return True
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id[:1].isupper()
        and node.value.id not in STATUS_ENUMS
    )


def status_comparisons(source: str, filename: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Compare) or not any(isinstance(o, OPS) for o in node.ops):
            continue
        operands = [node.left, *node.comparators]
        if any(_is_sql_column(o) for o in operands):
            continue
        if any(_is_case_status(o) or _is_status_member(o) for o in operands):
            found.append(f"{filename}:{node.lineno}: {ast.unparse(node)}")
    return found


def _sources() -> list[Path]:
    files = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            if not any(path.is_relative_to(exempt) for exempt in EXEMPT):
                files.append(path)
    return files


def test_no_module_outside_the_workflow_compares_case_statuses() -> None:
    found = []
    for path in _sources():
        found += status_comparisons(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert found == [], "status checks outside backend/services/workflow:\n" + "\n".join(found)


def test_the_scan_sees_the_comparisons_it_forbids() -> None:
    """The checker itself: each forbidden form is found, SQL filters and other enums are not."""
    forbidden = [
        "case.status == CaseStatus.accepted",
        "page.case.status in (CaseStatus.dispatched, CaseStatus.reopened)",
        "str(case.status) not in ('triage', 'returned')",
        "status == S.triage",
        "case.status in OPEN",
    ]
    allowed = [
        "col(Case.status) == CaseStatus.accepted",
        "task.status == TaskStatus.pending",
        "filters.status == 'open'",
        "col(CaseEvent.to_status) == CaseStatus.returned.value",
    ]
    for line in forbidden:
        assert status_comparisons(line, "x.py"), line
    for line in allowed:
        assert not status_comparisons(line, "x.py"), line
